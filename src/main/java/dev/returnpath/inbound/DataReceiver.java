package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig.BareNewline;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Streams the DATA of one message to a file, never holding the body in memory, and always
 * reads the stream to its end: SubEtha would read any unread rest of the body as commands
 * (notes/libraries.md §1.3), so a message is drained before it is judged.
 *
 * <p>On the way it counts bytes against the size limit, finds bare CR and bare LF (the SMTP
 * smuggling vector, CVE-2023-51764 family) and either flags them or turns them into CRLF, and
 * keeps a copy of the header block, which is all that returnpath ever parses.
 */
final class DataReceiver {

    /** Headers larger than this are refused: Postfix's header_size_limit is 100 KiB. */
    static final int MAX_HEADER_BYTES = 1 << 20;

    /**
     * @param size        bytes written to {@code file} (after normalisation)
     * @param headerBytes the header fields, up to and including the CRLF of the last field
     * @param bodyOffset  where the empty line that ends the header section starts in the file
     *                    ({@code size} if the message has no body)
     */
    record Received(long size, byte[] headerBytes, long bodyOffset, boolean tooBig, boolean headerTooBig,
                    boolean bareNewline) {}

    private DataReceiver() {}

    static Received receive(InputStream in, Path file, long maxSize, BareNewline policy, boolean fsync) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            return receive(in, ch, maxSize, policy, fsync);
        }
    }

    /**
     * Writes the message into {@code ch} from offset 0 (a reused scratch file: whatever lies past
     * the returned size is a former message's and must not be read), and leaves it open.
     */
    static Received receive(InputStream in, FileChannel ch, long maxSize, BareNewline policy, boolean fsync)
            throws IOException {
        ch.position(0);
        OutputStream raw = Channels.newOutputStream(ch); // not closed: that would close ch
        Sink sink = new Sink(raw, maxSize);
        byte[] buf = new byte[64 * 1024];
        boolean first = true;
        boolean cr = false;          // previous byte was a CR not yet emitted
        boolean bare = false;
        boolean normalize = policy == BareNewline.NORMALIZE;
        int n;
        while ((n = in.read(buf)) != -1) {
            int i = 0;
            if (first && n > 0) {
                first = false;
                // SubEtha 7.2.2 does not unstuff a dot on the very first line
                // (DotUnstuffingInputStream starts with last={-1,-1}); RFC 5321 §4.5.2.
                if (n >= 2 && buf[0] == '.' && buf[1] == '.') {
                    i = 1;
                } else if (n == 1 && buf[0] == '.') {
                    int next = in.read();
                    if (next == '.') {
                        i = 1;
                        buf[0] = '.';
                    } else {
                        n = next == -1 ? 1 : 2;
                        if (next != -1) {
                            buf[1] = (byte) next;
                        }
                    }
                }
            }
            for (; i < n; i++) {
                byte b = buf[i];
                if (cr) {
                    cr = false;
                    if (b == '\n') {
                        sink.crlf();
                        continue;
                    }
                    bare = true; // bare CR
                    if (normalize) {
                        sink.crlf();
                    } else {
                        sink.write('\r');
                    }
                }
                if (b == '\r') {
                    cr = true;
                } else if (b == '\n') {
                    bare = true; // bare LF
                    if (normalize) {
                        sink.crlf();
                    } else {
                        sink.write('\n');
                    }
                } else {
                    sink.write(b);
                }
            }
        }
        if (cr) {
            bare = true;
            if (normalize) {
                sink.crlf();
            } else {
                sink.write('\r');
            }
        }
        sink.flush();
        if (fsync) {
            ch.force(true);
        }
        byte[] header = sink.header.toByteArray();
        long bodyOffset = sink.headerDone ? header.length : sink.written;
        return new Received(sink.written, header, bodyOffset, sink.tooBig, sink.headerTooBig,
                bare);
    }

    /** Counts, limits and buffers the normalised bytes, and captures the header block. */
    private static final class Sink {
        private final OutputStream out;
        private final long max;
        private final byte[] buf = new byte[64 * 1024];
        private int len;
        long written;
        boolean tooBig;
        boolean headerTooBig;
        final ByteArrayOutputStream header = new ByteArrayOutputStream(4096);
        boolean headerDone;
        private boolean atLineStart = true; // the last emitted bytes were CRLF (or nothing)

        Sink(OutputStream out, long max) {
            this.out = out;
            this.max = max;
        }

        void crlf() throws IOException {
            if (!headerDone) {
                if (atLineStart) {
                    headerDone = true; // the empty line: the body starts here
                } else {
                    headerByte('\r');
                    headerByte('\n');
                }
            }
            put((byte) '\r');
            put((byte) '\n');
            atLineStart = true;
        }

        void write(int b) throws IOException {
            if (!headerDone) {
                headerByte(b);
            }
            put((byte) b);
            atLineStart = false;
        }

        private void headerByte(int b) {
            if (header.size() >= MAX_HEADER_BYTES) {
                headerTooBig = true;
                return;
            }
            header.write(b);
        }

        private void put(byte b) throws IOException {
            written++;
            if (written > max) {
                tooBig = true;
                return; // keep draining, write no more
            }
            buf[len++] = b;
            if (len == buf.length) {
                out.write(buf, 0, len);
                len = 0;
            }
        }

        void flush() throws IOException {
            if (len > 0 && !tooBig) {
                out.write(buf, 0, len);
            }
            len = 0;
            out.flush();
        }
    }
}
