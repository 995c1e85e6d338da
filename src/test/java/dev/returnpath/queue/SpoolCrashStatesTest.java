package dev.returnpath.queue;

import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import dev.returnpath.queue.RecordingFiles.Op;
import dev.returnpath.queue.RecordingFiles.Rename;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.returnpath.queue.SpoolTest.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * {@link JournalCrashStatesTest}'s crash states for the whole spool as the queue manager drives
 * it: commits to the journal, first attempts that move an entry to {@code queue/} (the message
 * and envelope files written and synced, the directory synced, then the journal's release),
 * retries that replace an envelope by rename, deliveries that remove an entry from the journal
 * or from {@code queue/}. Each state is opened as {@code serve} opens a spool after a crash
 * ({@link Spool#open}, which recovers the journal into {@code queue/}); every message answered
 * 250 and not yet delivered must be there byte for byte, with an envelope the relay wrote for
 * it, and nothing else may appear. A delivered message may come back (the duplicate the README
 * allows), and a retry's envelope may be the one before it (its recipients tried once more).
 * The states are built on tmpfs ({@code /dev/shm}) where there is one: recovery syncs each file.
 */
class SpoolCrashStatesTest {

    /** A message of the workload: its bytes, the envelope versions written, where in the log its steps began and ended. */
    static final class Message {
        final byte[] body;
        int ackedAt = Integer.MAX_VALUE;
        int removedFrom = Integer.MAX_VALUE;
        final List<Integer> updatesFrom = new ArrayList<>(); // log size when each update (version 1, 2...) began

        /** The newest envelope version the disk can hold after a crash after op {@code crash}. */
        int newestAt(int crash) {
            return (int) updatesFrom.stream().filter(b -> b <= crash).count();
        }

        Message(byte[] body) {
            this.body = body;
        }
    }

    static QueueEntry version(String id, int v) {
        Instant t = Instant.parse("2026-12-04T10:00:00Z");
        return new QueueEntry(id, t, "127.0.0.1", "web01", "apache@web01.internal", "bounce@example.com", 12, v,
                t.plusSeconds(60L * v), false,
                List.of(new Recipient("a@example.org", v == 0 ? State.PENDING : State.DEFERRED, "", v == 0 ? "" : "451 try " + v)));
    }

    @Test
    void noCrashStateOfTheSpoolLosesAnAcknowledgedMessageOrInventsOne() throws Exception {
        Path base = Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm"))
                ? Files.createTempDirectory(Path.of("/dev/shm"), "spool-crash-states")
                : Files.createTempDirectory("spool-crash-states");
        try {
            run(base);
        } finally {
            try (var tree = Files.walk(base)) {
                for (Path p : tree.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    void run(Path base) throws Exception {
        Path live = base.resolve("live");
        RecordingFiles files = new RecordingFiles();
        Map<String, Message> messages = new LinkedHashMap<>();
        try (Spool s = Spool.open(live, 1500, files)) {
            // the steps of a queue manager's day, in an order that touches every path
            commit(s, files, messages, "M0");
            commit(s, files, messages, "M1");
            commit(s, files, messages, "M2");
            update(s, files, messages, "M0");   // first attempt deferred: to queue/
            remove(s, files, messages, "M2");   // delivered at its first attempt: from the journal
            commit(s, files, messages, "M3");
            update(s, files, messages, "M0");   // a retry: the envelope replaced
            update(s, files, messages, "M1");
            remove(s, files, messages, "M0");   // delivered at last: from queue/
            commit(s, files, messages, "M4");
            update(s, files, messages, "M3");
            remove(s, files, messages, "M1");
            commit(s, files, messages, "M5");
        }
        List<Op> ops = List.copyOf(files.log);
        assertThat(ops).hasAtLeastOneElementOfType(Rename.class);

        int states = JournalCrashStatesTest.forEachState(ops, live, base.resolve("state"),
                (state, crash, what) -> check(state, messages, crash, what));
        assertThat(states).isGreaterThan(ops.size() * 2);
        System.out.printf("spool crash states: %d operations, %d states checked%n", ops.size(), states);
    }

    static void commit(Spool s, RecordingFiles files, Map<String, Message> messages, String id) throws IOException {
        byte[] body = ("Subject: " + id + "\r\n\r\n" + id.repeat(40 + 30 * messages.size()) + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        Message m = new Message(body);
        messages.put(id, m);
        s.commit(version(id, 0), message(new String(body, StandardCharsets.US_ASCII)));
        m.ackedAt = files.log.size();
    }

    static void update(Spool s, RecordingFiles files, Map<String, Message> messages, String id) throws IOException {
        Message m = messages.get(id);
        m.updatesFrom.add(files.log.size());
        s.update(version(id, m.updatesFrom.size()));
    }

    static void remove(Spool s, RecordingFiles files, Map<String, Message> messages, String id) throws IOException {
        messages.get(id).removedFrom = files.log.size();
        assertThat(s.remove(id)).isTrue();
    }

    static void check(Path state, Map<String, Message> messages, int crash, String what) throws IOException {
        try (Spool s = Spool.open(state)) {
            for (String id : s.ids()) {
                Message m = messages.get(id);
                if (m == null) {
                    fail("recovery invented " + id + " on " + what);
                }
                QueueEntry e = s.read(id).orElse(null);
                if (e == null) {
                    continue; // listed, then found without an envelope: not an entry
                }
                if (e.attempts() < 0 || e.attempts() > m.newestAt(crash) || !e.equals(version(id, e.attempts()))) {
                    fail(id + " came back with an envelope the relay never wrote (" + e.attempts() + ") on " + what);
                }
                byte[] bytes;
                try (InputStream in = s.openMessage(id)) {
                    bytes = in.readAllBytes();
                }
                if (!Arrays.equals(bytes, m.body)) {
                    fail("recovery found " + id + " with other bytes on " + what);
                }
            }
            for (Map.Entry<String, Message> me : messages.entrySet()) {
                Message m = me.getValue();
                if (m.ackedAt <= crash + 1 && m.removedFrom > crash && s.read(me.getKey()).isEmpty()) {
                    fail("acknowledged " + me.getKey() + " lost on " + what);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new AssertionError("opening the spool failed on " + what + ": " + e, e);
        }
    }
}
