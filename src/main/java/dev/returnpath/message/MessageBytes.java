package dev.returnpath.message;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Where a received message's bytes lie while the relay works on it, and the one way every reader
 * (cleanup, DKIM's body hash, the spool's commit, the SMTP client's DATA) reads them: positional
 * reads, so that no reader moves a position another relies on.
 *
 * <p>A message that fits the listener's 64 KiB receive buffer stays {@link InMemory} in that
 * buffer (which the listener holds for every session in a transaction anyway, so this costs no
 * memory): writing 4 KiB to a scratch file and reading it back was a write, a pread and an lseek
 * per message. A larger one is streamed to a scratch file as it arrives and read back from it
 * ({@link InFile}): a message is never held whole in memory beyond that buffer. Either is valid
 * only while the stage that was handed it runs; the listener reuses both for its next message.
 */
public sealed interface MessageBytes {

    /**
     * Reads into {@code dst} from {@code position}, as {@link FileChannel#read(ByteBuffer, long)}:
     * the count read, or -1 at or past the end.
     */
    int read(ByteBuffer dst, long position) throws IOException;

    /** Writes bytes {@code [from, to)} to {@code out}; fails when the message ends before {@code to}. */
    void copyTo(OutputStream out, long from, long to) throws IOException;

    /** The bytes are a file's first ones, read through its open channel (its position left alone). */
    record InFile(Path file, FileChannel channel) implements MessageBytes {
        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return channel.read(dst, position);
        }

        @Override
        public void copyTo(OutputStream out, long from, long to) throws IOException {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(64 * 1024, Math.max(1, to - from)));
            byte[] arr = buf.array();
            long pos = from;
            while (pos < to) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), to - pos));
                int n = channel.read(buf, pos);
                if (n < 0) {
                    throw new IOException("message file " + file + " ends at " + pos + ", before its " + to + " bytes");
                }
                out.write(arr, 0, n);
                pos += n;
            }
        }
    }

    /** The bytes are {@code bytes[0, length)} (a buffer the listener lends, not a copy). */
    record InMemory(byte[] bytes, int length) implements MessageBytes {
        public InMemory {
            if (length < 0 || length > bytes.length) {
                throw new IllegalArgumentException("length " + length + " outside a buffer of " + bytes.length);
            }
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            if (position >= length) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), length - position);
            dst.put(bytes, (int) position, n);
            return n;
        }

        @Override
        public void copyTo(OutputStream out, long from, long to) throws IOException {
            if (from < 0 || to > length || from > to) {
                throw new IOException("message in memory has " + length + " bytes, not [" + from + ", " + to + ")");
            }
            out.write(bytes, (int) from, (int) (to - from));
        }

        @Override
        public String toString() {
            return "InMemory[" + length + " bytes]"; // never the message itself (it may reach a log)
        }
    }
}
