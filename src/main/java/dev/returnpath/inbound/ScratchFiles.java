package dev.returnpath.inbound;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import dev.returnpath.queue.SpoolDirectory;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The files under {@code incoming/} that DATA is received into, kept open and reused.
 *
 * <p>A message in transit that does not fit the 64 KiB buffer lent with each file lands in
 * the file (never held whole in memory; one that fits stays in the buffer and the file is not
 * touched), but creating and unlinking a file per message is the costliest thing the relay did per message
 * (an inode and a journal entry each way: about a quarter of its CPU at 16 sessions, in the
 * profile of docs/benchmarks.md). A scratch file is instead written from offset 0 again for the
 * next message, and only the first {@code size} bytes of it mean anything: readers get the open
 * channel and the length, never the path, so a stale tail is never read (and none is kept: a
 * file given back is cut to the message it held), and a scratch file
 * unlinked from under an open channel (the start-up clean-up of another relay on the same
 * directory) still reads back what was written.
 *
 * <p>Files are created 0600, in a directory that must not be a symbolic link (see
 * {@code SpoolDirectory}). They are named {@code scratch-TOKEN-N} with a random token per pool, so two relays on one
 * directory, or a restarted one, never collide. At most {@link #MAX_IDLE} wait in the pool;
 * one given back after a message above {@link #KEEP_BYTES} is truncated, so that a burst of
 * large messages does not keep their disk space. {@link #close} deletes the idle ones.
 * Nothing here is durable: the spool's own files are written (and fsync'ed) by the queue.
 */
final class ScratchFiles implements AutoCloseable {
    static final int MAX_IDLE = 256;
    static final long KEEP_BYTES = 1 << 20;

    private final ConcurrentLinkedDeque<Scratch> idle = new ConcurrentLinkedDeque<>();
    private final String token = Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
    private final AtomicLong seq = new AtomicLong();
    private volatile boolean closed;

    /** One scratch file: its directory, its path and the channel it is written and read through. */
    static final class Scratch {
        final Path dir;
        final Path path;
        final FileChannel channel;
        /** DataReceiver's write buffer, lent with the file: one per scratch file, not per message. */
        final byte[] buffer = new byte[DataReceiver.BUFFER];
        /**
         * The file's length is at most this (each message is written from offset 0, so after
         * one of {@code size} bytes it is at most the larger of the two): when the next one is
         * no shorter, there is nothing to cut, and its truncate (fstat, two lseeks) is skipped.
         */
        long lengthAtMost;

        private Scratch(Path dir, Path path, FileChannel channel) {
            this.dir = dir;
            this.path = path;
            this.channel = channel;
        }

        private void delete() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing a file we only wrote to: nothing to recover
            }
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // a leftover in incoming/ is removed when a spool next opens the directory
            }
        }
    }

    /**
     * Removes what a relay that stopped without {@link #close} (a crash, a kill) left in
     * {@code dir}: files of transactions that were never answered 250. A relay still running on
     * the same directory loses nothing: it reads its scratch files through their open channels.
     */
    static int removeLeftovers(Path dir) throws IOException {
        int removed = 0;
        // incoming -> /elsewhere must not make a start empty /elsewhere
        SpoolDirectory.refuseSymbolicLink(dir);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (Files.isRegularFile(p) && Files.deleteIfExists(p)) {
                    removed++;
                }
            }
        }
        return removed;
    }

    /** A scratch file in {@code dir} (created with the directory when the pool has none there). */
    Scratch borrow(Path dir) throws IOException {
        Scratch s;
        while ((s = idle.pollFirst()) != null) {
            if (s.dir.equals(dir) && s.channel.isOpen()) {
                return s;
            }
            s.delete(); // queue.dir changed (it takes a restart), or the channel broke
        }
        SpoolDirectory.refuseSymbolicLink(dir);
        SpoolDirectory.createPrivateDirectory(dir);
        Path path = dir.resolve("scratch-" + token + "-" + seq.incrementAndGet());
        // 0600 whatever the umask: it holds a message; CREATE_NEW does not follow a planted link
        FileChannel ch = FileChannel.open(path, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE), SpoolDirectory.PRIVATE_FILE);
        return new Scratch(dir, path, ch);
    }

    /**
     * Takes {@code s} back after a message of {@code size} bytes; {@code ok} false (an I/O error
     * on it) deletes it instead.
     */
    void giveBack(Scratch s, long size, boolean ok) {
        if (!ok || closed || idle.size() >= MAX_IDLE) {
            s.delete();
            return;
        }
        try {
            // a message's bytes must not outlive it past the next, shorter one: the file holds
            // only the last message (ftruncate to a smaller size: no allocation, no new inode)
            long keep = size > KEEP_BYTES ? 0 : size;
            if (keep < Math.max(s.lengthAtMost, size)) {
                s.channel.truncate(keep);
            }
            s.lengthAtMost = keep;
        } catch (IOException e) {
            s.delete();
            return;
        }
        idle.offerFirst(s);
    }

    @Override
    public void close() {
        closed = true;
        Scratch s;
        while ((s = idle.pollFirst()) != null) {
            s.delete();
        }
    }
}
