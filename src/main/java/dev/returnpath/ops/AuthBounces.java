package dev.returnpath.ops;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the doctor needs to warn about authentication bounces ({@code class=auth}) that came
 * since it last ran, kept in two small files in {@code queue.dir} (which exists in both queue
 * modes: passthrough keeps its scratch files there), each with one writer:
 * <ul>
 * <li>{@code auth-bounces}, written by {@code serve}'s bounce intake: {@code total N}, then the
 *     last {@link #RECENT} authentication bounces, one per line:
 *     {@code TIME<TAB>DOMAIN<TAB>STATUS<TAB>CAUSE<TAB>FIX}.</li>
 * <li>{@code doctor-last-run}, written by the {@code doctor} command: {@code TIME<TAB>N}, the
 *     time of its last run and the total it saw then.</li>
 * </ul>
 * The count since the last run is the difference of the totals, so it is right however many
 * bounces came; the domains, statuses and fixes come from the recent lines after that time. Both
 * files are replaced whole (a temporary file, 0600, forced, then renamed), so a reader sees the
 * old file or the new one.
 */
public final class AuthBounces {
    /** How many recent authentication bounces the file keeps for the doctor's details. */
    static final int RECENT = 50;
    static final String STATE = "auth-bounces";
    static final String LAST_RUN = "doctor-last-run";

    /** One authentication bounce. */
    public record Entry(Instant at, String domain, String status, String cause, String fix) {}

    /** The intake's file: every authentication bounce counted, and the last few. */
    public record State(long total, List<Entry> recent) {
        public static final State NONE = new State(0, List.of());
    }

    /** The doctor command's last run, and the total it saw then. */
    public record LastRun(Instant at, long total) {}

    private final Path dir;
    private State state;

    private AuthBounces(Path dir, State state) {
        this.dir = dir;
        this.state = state;
    }

    /** The intake's writer on {@code queueDir}, carrying on from the file it finds. */
    public static AuthBounces open(Path queueDir) {
        return new AuthBounces(queueDir, read(queueDir));
    }

    /** Counts {@code e} and rewrites the file. */
    public synchronized void record(Entry e) throws IOException {
        List<Entry> recent = new ArrayList<>(state.recent());
        recent.add(e);
        if (recent.size() > RECENT) {
            recent = recent.subList(recent.size() - RECENT, recent.size());
        }
        State next = new State(state.total() + 1, List.copyOf(recent));
        StringBuilder b = new StringBuilder("total ").append(next.total()).append('\n');
        for (Entry x : next.recent()) {
            b.append(x.at()).append('\t').append(cell(x.domain())).append('\t').append(cell(x.status())).append('\t')
                    .append(cell(x.cause())).append('\t').append(cell(x.fix())).append('\n');
        }
        state = next; // counted in memory even when the disk refuses: the next write carries it
        replace(dir.resolve(STATE), b.toString());
    }

    /** The intake's file in {@code queueDir}; {@link State#NONE} when there is none (or it is unreadable). */
    public static State read(Path queueDir) {
        List<String> lines;
        try {
            lines = Files.readAllLines(queueDir.resolve(STATE), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return State.NONE;
        }
        if (lines.isEmpty() || !lines.get(0).startsWith("total ")) {
            return State.NONE;
        }
        long total;
        try {
            total = Long.parseLong(lines.get(0).substring(6).trim());
        } catch (NumberFormatException e) {
            return State.NONE;
        }
        List<Entry> recent = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t", -1);
            if (f.length == 5) {
                try {
                    recent.add(new Entry(Instant.parse(f[0]), f[1], f[2], f[3], f[4]));
                } catch (DateTimeParseException ignored) {
                    // a line we did not write: skip it
                }
            }
        }
        return new State(total, List.copyOf(recent));
    }

    /** The doctor command's last run in {@code queueDir}, if it ran there before. */
    public static Optional<LastRun> lastRun(Path queueDir) {
        try {
            String[] f = Files.readString(queueDir.resolve(LAST_RUN), StandardCharsets.UTF_8).strip().split("\t");
            return f.length == 2 ? Optional.of(new LastRun(Instant.parse(f[0]), Long.parseLong(f[1]))) : Optional.empty();
        } catch (IOException | DateTimeParseException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Notes the doctor command's run at {@code at}, having seen {@code total}. */
    public static void markRun(Path queueDir, Instant at, long total) throws IOException {
        replace(queueDir.resolve(LAST_RUN), at + "\t" + total + "\n");
    }

    private static String cell(String s) {
        return MailLog.printable(s == null ? "" : s).replace('\t', ' ');
    }

    private static void replace(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel ch = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (NoSuchFileException e) {
            throw new IOException("cannot write " + file + ": " + e.getMessage());
        }
    }
}
