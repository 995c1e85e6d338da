package dev.returnpath.queue;

import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** The list index: used when it is current, never trusted when it is not, rebuilt when missing or damaged. */
class ListIndexTest {
    @TempDir
    Path dir;
    Path queue;

    static final Instant T = Instant.parse("2026-12-02T20:00:00Z");
    static final FileTime HOUR_AGO = FileTime.from(Instant.now().minus(Duration.ofHours(1)));

    @BeforeEach
    void prepare() throws Exception {
        SpoolDirectory.prepare(dir);
        queue = dir.resolve("queue");
    }

    static QueueEntry entry(String id, String reply) {
        return new QueueEntry(id, T, "127.0.0.1", "web01", "apache@web01.internal", "bounce@example.com", 12, 1,
                T.plusSeconds(300), false, List.of(new Recipient("a@example.org", State.DEFERRED, "", reply)));
    }

    /** An envelope as the relay leaves it, written an hour ago (old enough for the index to keep a copy). */
    void write(QueueEntry e, FileTime when) throws Exception {
        Files.write(queue.resolve(e.id() + ".eml"), "Subject: x\r\n\r\nx\r\n".getBytes());
        Path env = queue.resolve(e.id() + ".env");
        Files.write(env, e.toBytes());
        Files.setLastModifiedTime(env, when);
    }

    /** What {@code queue list} would show: each ID and its last reply, or its problem. */
    Map<String, String> list() throws Exception {
        Map<String, String> out = new TreeMap<>();
        List<String> order = new ArrayList<>();
        try (Spool s = Spool.inspect(dir)) {
            s.list(2, chunk -> {
                for (Spool.Listing l : chunk) {
                    order.add(l.id());
                    if (!l.problem().isEmpty()) {
                        out.put(l.id(), "problem: " + l.problem());
                    } else {
                        l.entry().ifPresent(e -> out.put(e.id(), e.lastReply()));
                    }
                }
            });
        }
        assertThat(order).isSorted();
        return out;
    }

    /** Makes the directory look unchanged since long before the index's scan. */
    void quietDirectory() throws Exception {
        Files.setLastModifiedTime(queue, HOUR_AGO);
    }

    /** Changes queue/ as any relay write does (a temporary file created and gone). */
    void touchDirectory() throws Exception {
        Files.writeString(queue.resolve("x.env.tmp"), "x");
        Files.delete(queue.resolve("x.env.tmp"));
    }

    @Test
    void aQuietDirectoryIsListedFromTheIndexAloneAndAChangedOneFromTheEnvelopes() throws Exception {
        for (String id : List.of("A1", "A2", "A3")) {
            write(entry(id, "451 first"), HOUR_AGO);
        }
        quietDirectory();
        assertThat(list()).isEqualTo(Map.of("A1", "451 first", "A2", "451 first", "A3", "451 first"));
        assertThat(dir.resolve(ListIndex.FILE)).exists();
        assertThat(Files.getPosixFilePermissions(dir.resolve(ListIndex.FILE)))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));

        // edited in place (the relay never does this; it renames a new file over): the directory
        // did not change, so this listing came from the index and not from the envelope
        Path a2 = queue.resolve("A2.env");
        Files.write(a2, entry("A2", "451 edit!").toBytes());
        quietDirectory();
        assertThat(list()).containsEntry("A2", "451 first");

        // any change to the directory: every envelope is checked against the index again
        touchDirectory();
        assertThat(list()).containsEntry("A2", "451 edit!").containsEntry("A1", "451 first");
    }

    @Test
    void updatesRemovalsAndNewEntriesAreSeenAtOnce() throws Exception {
        write(entry("A1", "451 first"), HOUR_AGO);
        write(entry("A2", "451 first"), HOUR_AGO);
        quietDirectory();
        list();
        try (Spool s = Spool.open(dir)) {
            s.update(entry("A1", "451 second"));   // a retry: a new envelope renamed over
            s.remove("A2");                          // delivered
            s.commit(entry("A3", "451 third"), SpoolTest.message("Subject: y\r\n\r\ny\r\n"));
            s.update(entry("A3", "451 third"));    // moved from the journal to queue/
        }
        assertThat(list()).isEqualTo(Map.of("A1", "451 second", "A3", "451 third"));
        assertThat(list()).isEqualTo(Map.of("A1", "451 second", "A3", "451 third"));
    }

    @Test
    void anEntryStillInTheJournalIsListedFromTheJournal() throws Exception {
        write(entry("A1", "451 first"), HOUR_AGO);
        quietDirectory();
        list();
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("B1", ""), SpoolTest.message("Subject: y\r\n\r\ny\r\n"));
            assertThat(list()).containsOnlyKeys("A1", "B1");
        }
    }

    @Test
    void aDamagedIndexIsIgnoredAndRebuilt() throws Exception {
        write(entry("A1", "451 first"), HOUR_AGO);
        quietDirectory();
        list();
        Path index = dir.resolve(ListIndex.FILE);
        byte[] b = Files.readAllBytes(index);
        // the envelope changed in place and the index says otherwise, but its CRC fails: not believed
        Files.write(queue.resolve("A1.env"), entry("A1", "451 newer").toBytes());
        b[b.length / 2] ^= 0x20;
        Files.write(index, b);
        quietDirectory();
        assertThat(ListIndex.load(dir)).isEmpty();
        assertThat(list()).containsEntry("A1", "451 newer");
        assertThat(ListIndex.load(dir)).isPresent();
        Files.write(index, new byte[] {1, 2, 3}); // truncated to nothing useful
        assertThat(list()).containsEntry("A1", "451 newer");
    }

    @Test
    void aRecordThatPassesTheCrcButDoesNotDecodeIsReadFromItsEnvelope() throws Exception {
        write(entry("A1", "451 first"), HOUR_AGO);
        quietDirectory();
        list();
        Files.write(queue.resolve("A1.env"), entry("A1", "451 newer").toBytes());
        // the recipient's state byte made out of range, and the CRC made right again: what only a
        // bug could write
        Path index = dir.resolve(ListIndex.FILE);
        byte[] b = Files.readAllBytes(index);
        byte[] address = "a@example.org".getBytes();
        int at = indexOf(b, address) + address.length;
        assertThat(b[at]).isEqualTo((byte) State.DEFERRED.ordinal());
        b[at] = 99;
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, 0, b.length - 4);
        java.nio.ByteBuffer.wrap(b).putInt(b.length - 4, (int) crc.getValue());
        Files.write(index, b);
        quietDirectory();
        assertThat(ListIndex.load(dir)).isPresent();
        assertThat(list()).containsEntry("A1", "451 newer");
        quietDirectory();
        assertThat(list()).containsEntry("A1", "451 newer"); // the index was written again
    }

    private static int indexOf(byte[] in, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= in.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (in[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void anEnvelopeWrittenJustBeforeTheScanIsNeverTakenFromTheIndex() throws Exception {
        FileTime now = FileTime.from(Instant.now());
        write(entry("A1", "451 first"), now);
        list();
        // same inode, same size, same time: only a copy taken too close to the write could miss this
        Path a1 = queue.resolve("A1.env");
        Files.write(a1, entry("A1", "451 again").toBytes());
        Files.setLastModifiedTime(a1, now);
        assertThat(list()).containsEntry("A1", "451 again");
    }

    @Test
    void anUnreadableEnvelopeIsReportedEachTime() throws Exception {
        write(entry("A1", "451 first"), HOUR_AGO);
        Files.writeString(queue.resolve("B1.env"), "not an envelope\n");
        Files.setLastModifiedTime(queue.resolve("B1.env"), HOUR_AGO);
        quietDirectory();
        assertThat(list().get("B1")).startsWith("problem: envelope of B1 cannot be read");
        quietDirectory();
        assertThat(list().get("B1")).startsWith("problem: envelope of B1 cannot be read");
        assertThat(list()).containsEntry("A1", "451 first");
    }

    @Test
    void anEmptyOrMissingSpoolListsNothing() throws Exception {
        assertThat(list()).isEmpty();
        try (Spool s = Spool.inspect(dir.resolve("never-created"))) {
            List<Spool.Listing> all = new ArrayList<>();
            s.list(10, all::addAll);
            assertThat(all).isEmpty();
        }
    }

    @Test
    void serveRemovesTheTemporaryFileOfAListingKilledWhileItWroteTheIndex() throws Exception {
        Path tmp = dir.resolve(ListIndex.FILE + ".tmp.4242");
        Files.writeString(tmp, "half an index");
        Files.writeString(dir.resolve(ListIndex.FILE), "an index from before");
        Spool.open(dir).close();
        assertThat(tmp).doesNotExist();
        assertThat(dir.resolve(ListIndex.FILE)).exists(); // derived data, but not serve's to delete
    }
}
