package dev.returnpath.queue;

import dev.returnpath.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

import static dev.returnpath.queue.SpoolTest.entry;
import static dev.returnpath.queue.SpoolTest.message;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A damaged journal record (a flipped bit on disk, a torn write) loses that record only: the
 * scan resynchronises at the next valid one, the segment is set aside in {@code corrupt/}, and
 * an ERROR line names it. Bytes an app shaped like a record are never taken for one.
 */
class JournalCorruptionTest {
    @TempDir
    Path dir;

    /** Bodies, by ID, of what was committed; A3 is delivered (released) before the crash. */
    private static final Map<String, String> BODIES = new LinkedHashMap<>();

    static {
        BODIES.put("A1", "Subject: one\r\n\r\nfirst body\r\n");
        BODIES.put("A2", "Subject: two\r\n\r\nsecond body, a little longer than the first\r\n");
        BODIES.put("A3", "Subject: three\r\n\r\ndelivered on its first attempt\r\n");
        BODIES.put("A4", "Subject: four\r\n\r\nfourth\r\n");
        BODIES.put("A5", "Subject: five\r\n\r\nthe last record of the segment\r\n");
    }

    /** Writes the journal, returns the segment's bytes and where each record starts (by ID; "R" the release). */
    private byte[] journal(Path root, Map<String, long[]> where) throws Exception {
        try (Spool s = Spool.open(root)) {
            for (Map.Entry<String, String> e : BODIES.entrySet()) {
                s.commit(entry(e.getKey()), message(e.getValue()));
                if (e.getKey().equals("A3")) {
                    assertThat(s.remove("A3")).isTrue();
                }
            }
        }
        List<Path> segs = Journal.segmentFiles(root.resolve("journal"));
        assertThat(segs).hasSize(1);
        byte[] bytes = Files.readAllBytes(segs.get(0));
        // walk the records to know which bytes belong to which
        long pos = Journal.SEGMENT_START;
        List<String> order = List.of("A1", "A2", "A3", "R", "A4", "A5");
        for (String id : order) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            assertThat(b.getInt((int) pos)).isEqualTo(Journal.MAGIC);
            long end = pos + Journal.HEADER + b.getInt((int) pos + 5) + Journal.TRAILER;
            where.put(id, new long[] {pos, end});
            pos = end;
        }
        return bytes;
    }

    private String recordAt(Map<String, long[]> where, long offset) {
        for (Map.Entry<String, long[]> e : where.entrySet()) {
            if (offset >= e.getValue()[0] && offset < e.getValue()[1]) {
                return e.getKey();
            }
        }
        return "";
    }

    @Test
    void oneFlippedByteAnywhereLosesAtMostTheRecordItIsIn() throws Exception {
        Map<String, long[]> where = new LinkedHashMap<>();
        Path original = dir.resolve("original");
        long recordsEnd;
        byte[] bytes = journal(original, where);
        recordsEnd = where.get("A5")[1];
        // the zeros written ahead, shortened to 4 KiB so that a thousand cases stay quick
        bytes = java.util.Arrays.copyOf(bytes, (int) recordsEnd + 4096);
        int cases = 0;
        for (int mask : new int[] {0x01, 0x80, 0xff}) {
            for (long at = 0; at < recordsEnd; at++) {
                Path root = dir.resolve("case");
                Path seg = root.resolve("journal").resolve("0000000000000001.log");
                Files.createDirectories(seg.getParent());
                byte[] copy = bytes.clone();
                copy[(int) at] ^= (byte) mask;
                Files.write(seg, copy);
                String hit = recordAt(where, at);
                Journal.Recovery r = Journal.recover(root.resolve("journal"));
                Map<String, String> got = new TreeMap<>();
                for (Journal.Found f : r.live().values()) {
                    byte[] body = java.util.Arrays.copyOfRange(copy, (int) f.messageOffset(),
                            (int) (f.messageOffset() + f.messageLength()));
                    got.put(f.entry().id(), new String(body, StandardCharsets.US_ASCII));
                }
                String label = "byte " + at + " ^ " + mask + " (in record " + (hit.isEmpty() ? "header" : hit) + ")";
                for (String id : List.of("A1", "A2", "A4", "A5")) {
                    if (!id.equals(hit)) {
                        assertThat(got).as(label).containsEntry(id, BODIES.get(id));
                    }
                }
                // never a damaged record, never one that was not committed; A3 only if its release was hit
                assertThat(got).as(label).doesNotContainKey(hit.startsWith("A") ? hit : "none");
                if (!hit.equals("R")) {
                    assertThat(got).as(label).doesNotContainKey("A3");
                }
                assertThat(got.keySet()).as(label).isSubsetOf(BODIES.keySet());
                // a byte in the records is damage; a byte in one of the two header copies is not
                if (at >= Journal.SEGMENT_START) {
                    assertThat(r.damaged()).as(label).hasSize(1);
                    Journal.ScanReport report = r.damaged().values().iterator().next();
                    assertThat(report.damages()).as(label).hasSize(1);
                    assertThat(report.damages().get(0).offset()).as(label).isEqualTo(where.get(hit)[0]);
                } else {
                    assertThat(r.damaged()).as(label).isEmpty();
                }
                cases++;
            }
        }
        assertThat(cases).isGreaterThan(1000);
    }

    @ParameterizedTest(name = "{0}: byte {1} of {2}")
    @CsvSource({
            "magic of the first record, 0, A1",
            "type of the first record, 4, A1",
            "length of the first record (high byte), 5, A1",
            "length of the first record (low byte), 8, A1",
            "envelope length of a middle record, 9, A2",
            "envelope of a middle record, 40, A2",
            "body of a middle record, -20, A4",
            "CRC of the last record, -2, A5",
            "length of the last record, 7, A5",
    })
    void aDamagedRecordIsLoggedItsSegmentSetAsideAndEveryOtherMessageQueued(String what, int offset, String id)
            throws Exception {
        Map<String, long[]> where = new LinkedHashMap<>();
        byte[] bytes = journal(dir, where);
        long at = offset >= 0 ? where.get(id)[0] + offset : where.get(id)[1] + offset;
        Path seg = dir.resolve("journal/0000000000000001.log");
        bytes[(int) at] ^= 0x10;
        Files.write(seg, bytes);
        try (LogCapture log = new LogCapture("returnpath.queue"); Spool s = Spool.open(dir)) {
            List<String> expected = new ArrayList<>(List.of("A1", "A2", "A4", "A5"));
            expected.remove(id);
            assertThat(s.ids()).as(what).containsExactlyElementsOf(expected);
            for (String e : expected) {
                assertThat(Files.readString(dir.resolve("queue/" + e + ".eml"))).isEqualTo(BODIES.get(e));
            }
            assertThat(Files.exists(seg)).isFalse();
            Path kept = dir.resolve("corrupt/journal-0000000000000001.log");
            assertThat(Files.readAllBytes(kept)).as("kept byte for byte").isEqualTo(bytes);
            assertThat(s.quarantinedSegments()).isEqualTo(1);
            String line = log.lines().stream().filter(l -> l.contains("damaged record")).findFirst().orElseThrow();
            assertThat(line).contains("0000000000000001.log", "offset " + where.get(id)[0],
                    "corrupt/journal-0000000000000001.log");
            int after = (int) List.of("A1", "A2", "A3", "R", "A4", "A5").stream()
                    .filter(r -> where.get(r)[0] > where.get(id)[0]).count();
            assertThat(line).contains(after + " recovered after it");
        }
    }

    @Test
    void aRecordAnAppShapedInsideItsMessageIsNotTakenForOneWhenTheRealHeaderIsDamaged() throws Exception {
        // the app knows the format and the unsalted CRC, but not the segment's salt
        byte[] env = entry("EVIL1").toBytes();
        ByteBuffer fake = ByteBuffer.allocate(Journal.HEADER + 4 + env.length + Journal.TRAILER);
        fake.putInt(Journal.MAGIC).put(Journal.ENTRY).putInt(4 + env.length).putInt(env.length).put(env);
        CRC32C crc = new CRC32C();
        crc.update(fake.array(), 4, fake.position() - 4);
        fake.putInt((int) crc.getValue());
        String body = "Subject: hi\r\n\r\n" + new String(fake.array(), StandardCharsets.ISO_8859_1) + "\r\n";
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), SpoolTest.message("x\r\n"));
            s.commit(entry("A2"), dev.returnpath.delivery.OutboundMessage.inMemory(body.getBytes(StandardCharsets.ISO_8859_1)));
            s.commit(entry("A3"), SpoolTest.message("y\r\n"));
        }
        Path seg = dir.resolve("journal/0000000000000001.log");
        byte[] bytes = Files.readAllBytes(seg);
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        int a2 = text.indexOf("RPJ1", text.indexOf("x\r\n")); // A2's own header
        bytes[a2] ^= 0x01;
        Files.write(seg, bytes);
        try (Spool s = Spool.open(dir)) {
            assertThat(s.ids()).containsExactly("A1", "A3");
        }
    }

    @Test
    void aSegmentOfTheEarlierFormatStopsAtItsFirstDamageAndIsKept() throws Exception {
        // no segment header, CRCs unsalted: as segments were before resynchronisation existed
        ByteBuffer b = ByteBuffer.allocate(4096);
        for (String id : List.of("L1", "L2")) {
            byte[] env = entry(id).toBytes();
            byte[] msg = ("body " + id + "\r\n").getBytes(StandardCharsets.US_ASCII);
            int start = b.position();
            b.putInt(Journal.MAGIC).put(Journal.ENTRY).putInt(4 + env.length + msg.length).putInt(env.length).put(env)
                    .put(msg);
            CRC32C crc = new CRC32C();
            crc.update(b.array(), start + 4, b.position() - start - 4);
            b.putInt((int) crc.getValue());
        }
        Path seg = dir.resolve("journal/0000000000000001.log");
        Files.createDirectories(seg.getParent());
        Files.write(seg, java.util.Arrays.copyOf(b.array(), b.position()));
        try (Spool s = Spool.open(dir)) {
            assertThat(s.ids()).containsExactly("L1", "L2"); // the earlier format is still read
        }
        Files.write(seg, java.util.Arrays.copyOf(b.array(), b.position()));
        byte[] bytes = Files.readAllBytes(seg);
        bytes[20] ^= 0x01; // inside L1
        Files.write(seg, bytes);
        Files.delete(dir.resolve("queue/L1.env"));
        Files.delete(dir.resolve("queue/L2.env"));
        try (LogCapture log = new LogCapture("returnpath.queue"); Spool s = Spool.open(dir)) {
            assertThat(s.ids()).isEmpty();
            assertThat(dir.resolve("corrupt/journal-0000000000000001.log")).exists();
            assertThat(log.lines()).anyMatch(l -> l.contains("earlier format") && l.contains("offset 0"));
        }
    }

    @Test
    void zerosWrittenAheadAreNotDamage() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("m\r\n"));
        }
        Path seg = dir.resolve("journal/0000000000000001.log");
        assertThat(Files.size(seg)).isGreaterThan(1000); // zeros ahead of the records
        Journal.Recovery r = Journal.recover(dir.resolve("journal"));
        assertThat(r.live()).containsOnlyKeys("A1");
        assertThat(r.damaged()).isEmpty();
    }
}
