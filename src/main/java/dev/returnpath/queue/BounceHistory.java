package dev.returnpath.queue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * The reports that came back for a message after it left the relay's hands: one file per queue
 * ID, {@code queue.dir/bounced/ID}, one line per report ({@code TIME bounce: id=ID ... status=5.7.26
 * ...}, the mail log's text line), which {@code queue show ID} prints, also after the entry has
 * left the spool (as Postfix keeps {@code bounce/ID} and {@code defer/ID} logs beside its queue).
 *
 * <p>Only the bounce intake writes it, from its own thread: delivery never touches it. A line is
 * appended and forced to disk (mode 0600). A file holds at most {@link #MAX_BYTES}; reports past
 * that are still logged and counted, not kept here. {@link #prune} removes the files not written
 * for {@link #KEEP}. The files are for the operator to read; nothing parses them back.
 */
public final class BounceHistory {
    /** The directory under {@code queue.dir}. */
    public static final String DIRECTORY = "bounced";
    /** What one message's file may grow to (some 25 reports). */
    static final long MAX_BYTES = 8 * 1024;
    /** How long a file is kept after its last report. */
    public static final Duration KEEP = Duration.ofDays(30);

    private BounceHistory() {}

    /**
     * Appends {@code line} (one line, no line break in it) under {@code id}, stamped {@code at};
     * false when the file is full or {@code id} is not a queue ID.
     */
    public static boolean append(Path queueDir, String id, Instant at, String line) throws IOException {
        if (!SpoolDirectory.isQueueId(id)) {
            return false;
        }
        Path dir = queueDir.resolve(DIRECTORY);
        SpoolDirectory.createPrivateDirectory(dir);
        SpoolDirectory.refuseSymbolicLink(dir);
        Path file = dir.resolve(id);
        byte[] bytes = (at + " " + line.replace('\n', ' ').replace('\r', ' ') + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), SpoolDirectory.PRIVATE_FILE)) {
            if (ch.size() + bytes.length > MAX_BYTES) {
                return false;
            }
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
        return true;
    }

    /** The lines kept for {@code id}, oldest first; empty when none. */
    public static List<String> read(Path queueDir, String id) throws IOException {
        if (!SpoolDirectory.isQueueId(id)) {
            return List.of();
        }
        try {
            return Files.readAllLines(queueDir.resolve(DIRECTORY).resolve(id), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }

    /** Removes the files last written before {@code now - KEEP}; returns how many. */
    public static int prune(Path queueDir, Instant now) throws IOException {
        Path dir = queueDir.resolve(DIRECTORY);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        FileTime before = FileTime.from(now.minus(KEEP));
        int removed = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                try {
                    if (SpoolDirectory.isQueueId(f.getFileName().toString())
                            && Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).compareTo(before) < 0) {
                        Files.delete(f);
                        removed++;
                    }
                } catch (NoSuchFileException gone) {
                    // removed meanwhile
                }
            }
        }
        return removed;
    }
}
