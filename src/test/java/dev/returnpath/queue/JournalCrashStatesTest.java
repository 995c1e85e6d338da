package dev.returnpath.queue;

import dev.returnpath.queue.RecordingFiles.Create;
import dev.returnpath.queue.RecordingFiles.Delete;
import dev.returnpath.queue.RecordingFiles.DirSync;
import dev.returnpath.queue.RecordingFiles.Force;
import dev.returnpath.queue.RecordingFiles.Op;
import dev.returnpath.queue.RecordingFiles.Rename;
import dev.returnpath.queue.RecordingFiles.Truncate;
import dev.returnpath.queue.RecordingFiles.Write;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.returnpath.queue.SpoolTest.entry;
import static dev.returnpath.queue.SpoolTest.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Every state a crash can leave the journal in, in the spirit of ALICE and CrashMonkey: a
 * workload of commits and releases (with segments rotated and deleted) runs over a file layer
 * that records each write, truncation, creation, deletion and sync ({@link RecordingFiles}).
 * Then, for a crash after every one of those operations, the states the disk may hold are
 * rebuilt from the log: what a sync made durable is there (a file's writes before its
 * {@code fdatasync}, a creation or deletion before the directory's sync); of what is not
 * durable, the last three operations are kept or dropped in every combination, the earlier ones
 * all kept or all dropped, and the last write kept may be torn (its first half only, or its
 * second half only). On each state the journal's recovery must find every message whose commit
 * had returned (the app's 250) and not yet been released, byte for byte, and must find no
 * message that was never committed or whose bytes differ. A released message may come back (its
 * release record was not yet synced): the duplicate the README allows after a crash.
 */
class JournalCrashStatesTest {
    @TempDir
    Path dir;

    /** A message the workload committed: its bytes, and where in the log its commit returned and its release began. */
    static final class Committed {
        final byte[] body;
        int ackedAt = Integer.MAX_VALUE;   // log size when commit() returned: acknowledged by a crash after op ackedAt - 1
        int releasedFrom = Integer.MAX_VALUE; // log size when release() was called

        Committed(byte[] body) {
            this.body = body;
        }
    }

    @Test
    void noCrashStateLosesAnAcknowledgedMessageOrInventsOne() throws Exception {
        Path live = dir.resolve("live");
        RecordingFiles files = new RecordingFiles();
        Map<String, Committed> committed = new LinkedHashMap<>();
        try (Journal j = Journal.writer(live, 1200, 0, files)) {
            for (int i = 0; i < 14; i++) {
                String id = String.format("C%02d", i);
                byte[] body = ("Subject: " + id + "\r\n\r\n" + "x".repeat(20 + (i * 37) % 300) + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII);
                Committed c = new Committed(body);
                committed.put(id, c);
                j.commit(entry(id), message(new String(body, StandardCharsets.US_ASCII)));
                c.ackedAt = files.log.size();
                if (i % 3 != 0 && i >= 2) { // delivered: the ones two commits back, most of the time
                    String gone = String.format("C%02d", i - 2);
                    committed.get(gone).releasedFrom = files.log.size();
                    assertThat(j.release(gone)).isTrue();
                }
            }
            for (String gone : List.of("C01", "C04", "C07")) { // the oldest segments empty out and are deleted
                committed.get(gone).releasedFrom = files.log.size();
                assertThat(j.release(gone)).isTrue();
            }
        }
        List<Op> ops = List.copyOf(files.log);
        assertThat(ops).hasAtLeastOneElementOfType(Delete.class).hasAtLeastOneElementOfType(Create.class);
        assertThat(ops.stream().filter(o -> o instanceof Create).count()).isGreaterThan(3); // rotations

        int states = forEachState(ops, live, dir.resolve("state"),
                (state, crash, what) -> check(state, committed, crash, what));
        assertThat(states).isGreaterThan(ops.size() * 4);
        System.out.printf("journal crash states: %d operations, %d states checked%n", ops.size(), states);
    }

    /** What is checked on one crash state: the directory built for it, the op it crashed after, a description. */
    interface StateCheck {
        void check(Path state, int crash, String what) throws IOException;
    }

    /**
     * Builds in {@code state} every crash state of the workload {@code ops} (recorded under
     * {@code live}) that the class comment describes, one after the other, and runs {@code check}
     * on each; returns how many there were.
     */
    static int forEachState(List<Op> ops, Path live, Path state, StateCheck check) throws IOException {
        int states = 0;
        for (int crash = -1; crash < ops.size(); crash++) {
            List<Integer> pending = new ArrayList<>();
            BitSet durable = durableAt(ops, crash, pending);
            int tail = Math.min(3, pending.size());
            List<Integer> head = pending.subList(0, pending.size() - tail);
            List<Integer> last = pending.subList(pending.size() - tail, pending.size());
            for (int withHead = 0; withHead <= (head.isEmpty() ? 0 : 1); withHead++) {
                for (int mask = 0; mask < (1 << tail); mask++) {
                    BitSet applied = (BitSet) durable.clone();
                    if (withHead == 1) {
                        head.forEach(applied::set);
                    }
                    for (int b = 0; b < tail; b++) {
                        if ((mask & (1 << b)) != 0) {
                            applied.set(last.get(b));
                        }
                    }
                    int torn = lastPendingWrite(ops, applied, pending);
                    for (int tear = 0; tear <= (torn < 0 ? 0 : 2); tear++) {
                        materialize(ops, crash, applied, torn, tear, live, state);
                        check.check(state, crash, describe(crash, ops, applied, pending, torn, tear));
                        states++;
                    }
                }
            }
        }
        return states;
    }

    /**
     * The operations up to {@code crash} that a sync made durable, and into {@code pending} the
     * others that change the disk (in order): a write or truncation is durable once its file was
     * synced after it, a creation or deletion once its directory was.
     */
    static BitSet durableAt(List<Op> ops, int crash, List<Integer> pending) {
        BitSet durable = new BitSet();
        for (int i = 0; i <= crash; i++) {
            Op op = ops.get(i);
            if (op instanceof Force || op instanceof DirSync) {
                continue;
            }
            boolean synced = false;
            for (int k = i + 1; k <= crash && !synced; k++) {
                Op later = ops.get(k);
                synced = switch (op) {
                    case Write w -> later instanceof Force f && f.path().equals(w.path());
                    case Truncate t -> later instanceof Force f && f.path().equals(t.path());
                    case Create c -> later instanceof DirSync d && d.dir().equals(c.path().getParent());
                    case Delete d -> later instanceof DirSync s && s.dir().equals(d.path().getParent());
                    case Rename r -> later instanceof DirSync s && s.dir().equals(r.to().getParent());
                    default -> false;
                };
            }
            if (synced) {
                durable.set(i);
            } else {
                pending.add(i);
            }
        }
        return durable;
    }

    /** The last write among the pending operations that this state keeps: the one a crash may tear. */
    static int lastPendingWrite(List<Op> ops, BitSet applied, List<Integer> pending) {
        for (int i = pending.size() - 1; i >= 0; i--) {
            int at = pending.get(i);
            if (applied.get(at) && ops.get(at) instanceof Write) {
                return at;
            }
        }
        return -1;
    }

    /**
     * Builds in {@code state} the directory tree this crash state leaves of {@code live}: its
     * directories (made before the workload, never changed by it), then the operations applied.
     */
    static void materialize(List<Op> ops, int crash, BitSet applied, int torn, int tear, Path live, Path state)
            throws IOException {
        if (Files.exists(state)) {
            try (var tree = Files.walk(state)) {
                for (Path p : tree.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        try (var tree = Files.walk(live)) {
            for (Path d : tree.filter(Files::isDirectory).toList()) {
                Files.createDirectories(state.resolve(live.relativize(d).toString()));
            }
        }
        java.util.function.Function<Path, Path> at = p -> state.resolve(live.relativize(p).toString());
        for (int i = 0; i <= crash; i++) {
            if (!applied.get(i)) {
                continue;
            }
            Op op = ops.get(i);
            switch (op) {
                case Create c -> Files.write(at.apply(c.path()), new byte[0]);
                case Delete d -> Files.deleteIfExists(at.apply(d.path()));
                case Rename r -> {
                    if (Files.exists(at.apply(r.from()))) {
                        Files.move(at.apply(r.from()), at.apply(r.to()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                case Truncate t -> {
                    Path p = at.apply(t.path());
                    if (Files.exists(p)) {
                        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                            ch.truncate(t.size());
                        }
                    }
                }
                case Write w -> {
                    Path p = at.apply(w.path());
                    if (!Files.exists(p)) {
                        break; // its file's creation did not survive: neither did what was written to it
                    }
                    byte[] b = w.bytes();
                    int from = 0;
                    int to = b.length;
                    if (i == torn && tear == 1) {
                        to = b.length / 2;       // the first sectors reached the disk
                    } else if (i == torn && tear == 2) {
                        from = b.length / 2;     // the last ones did, the first did not
                    }
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        ByteBuffer buf = ByteBuffer.wrap(b, from, to - from);
                        long pos = w.position() + from;
                        while (buf.hasRemaining()) {
                            pos += ch.write(buf, pos);
                        }
                    }
                }
                default -> { }
            }
        }
    }

    static void check(Path state, Map<String, Committed> committed, int crash, String what) throws IOException {
        Journal.Recovery r;
        try {
            r = Journal.recover(state);
        } catch (IOException | RuntimeException e) {
            throw new AssertionError("recovery failed on " + what + ": " + e, e);
        }
        Map<String, byte[]> found = new HashMap<>();
        for (Journal.Found f : r.live().values()) {
            Committed c = committed.get(f.entry().id());
            if (c == null) {
                fail("recovery invented " + f.entry().id() + " on " + what);
            }
            byte[] bytes = new byte[(int) f.messageLength()];
            try (FileChannel ch = FileChannel.open(f.segment(), StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                long pos = f.messageOffset();
                while (buf.hasRemaining()) {
                    int n = ch.read(buf, pos);
                    if (n < 0) {
                        fail("the message of " + f.entry().id() + " ends early on " + what);
                    }
                    pos += n;
                }
            }
            if (!Arrays.equals(bytes, c.body) || !f.entry().equals(entry(f.entry().id()))) {
                fail("recovery found " + f.entry().id() + " with other bytes on " + what);
            }
            found.put(f.entry().id(), bytes);
        }
        for (Map.Entry<String, Committed> e : committed.entrySet()) {
            Committed c = e.getValue();
            boolean acknowledged = c.ackedAt <= crash + 1;
            boolean releaseBegun = c.releasedFrom <= crash;
            if (acknowledged && !releaseBegun && !found.containsKey(e.getKey())) {
                fail("acknowledged " + e.getKey() + " lost on " + what);
            }
        }
    }

    static String describe(int crash, List<Op> ops, BitSet applied, List<Integer> pending, int torn, int tear) {
        StringBuilder b = new StringBuilder("the crash after op " + crash);
        if (crash >= 0) {
            b.append(" (").append(ops.get(crash).getClass().getSimpleName()).append(')');
        }
        b.append(", pending ").append(pending).append(" of which kept ");
        List<Integer> kept = new ArrayList<>();
        for (int p : pending) {
            if (applied.get(p)) {
                kept.add(p);
            }
        }
        b.append(kept);
        if (torn >= 0 && tear > 0) {
            b.append(", op ").append(torn).append(tear == 1 ? " torn after its first half" : " without its first half");
        }
        return b.toString();
    }
}
