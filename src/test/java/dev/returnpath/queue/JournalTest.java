package dev.returnpath.queue;

import dev.returnpath.delivery.OutboundMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Random;

import static dev.returnpath.queue.SpoolTest.bytesOf;
import static dev.returnpath.queue.SpoolTest.entry;
import static dev.returnpath.queue.SpoolTest.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The spool's journal: what a crash at any point leaves, and what a restart makes of it. */
class JournalTest {
    @TempDir
    Path dir;

    private List<Path> segments() throws IOException {
        return Journal.segmentFiles(dir.resolve("journal"));
    }

    @Test
    void aRestartMovesEveryUnreleasedEntryToTheQueueAndEmptiesTheJournal() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("one\r\n"));
            s.commit(entry("A2"), message("two\r\n"));
            s.commit(entry("A3"), message("three\r\n"));
            assertThat(s.remove("A2")).isTrue(); // delivered on its first attempt
        }
        assertThat(segments()).hasSize(1);
        try (Spool s = Spool.open(dir)) {
            assertThat(s.ids()).containsExactly("A1", "A3");
            assertThat(s.inJournal("A1")).isFalse();
            assertThat(Files.readString(dir.resolve("queue/A1.eml"))).isEqualTo("one\r\n");
            assertThat(Files.readString(dir.resolve("queue/A3.eml"))).isEqualTo("three\r\n");
            assertThat(s.read("A3")).contains(entry("A3"));
            assertThat(segments()).isEmpty(); // the next commit starts a new segment
            s.commit(entry("A4"), message("four\r\n"));
            assertThat(segments()).extracting(p -> p.getFileName().toString()).containsExactly("0000000000000002.log");
        }
    }

    @Test
    void aTornRecordAfterTheLastSyncIsIgnoredAndWhatCameBeforeIsKept() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("kept\r\n"));
        }
        Path seg = segments().get(0);
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long end = Journal.scan(seg, ch, new Journal.Visitor() {
                @Override
                public void entry(Journal.Found f) {
                }

                @Override
                public void release(String id) {
                }
            });
            assertThat(end).isPositive().isLessThan(ch.size()); // zeros were written ahead
            // a crash in the middle of the next append: a header announcing more than was written,
            // then the first bytes of its envelope
            ByteBuffer torn = ByteBuffer.allocate(64).putInt(Journal.MAGIC).put(Journal.ENTRY).putInt(4096).putInt(200)
                    .put("returnpath-envelope 1\nid: A2\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            torn.flip();
            ch.write(torn, end);
        }
        try (Spool s = Spool.open(dir)) {
            assertThat(s.ids()).containsExactly("A1");
            assertThat(Files.readString(dir.resolve("queue/A1.eml"))).isEqualTo("kept\r\n");
        }
    }

    @Test
    void aRecordWhoseChecksumDoesNotMatchIsNotDelivered() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("first\r\n"));
            s.commit(entry("A2"), message("second\r\n"));
        }
        Path seg = segments().get(0);
        // a torn write of the last record: one byte of its message never reached the disk
        byte[] bytes = Files.readAllBytes(seg);
        String text = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = text.lastIndexOf("second");
        bytes[at] = 0;
        Files.write(seg, bytes);
        try (Spool s = Spool.open(dir)) {
            assertThat(s.ids()).containsExactly("A1");
        }
    }

    @Test
    void filesWrittenBeforeACrashWinOverTheJournalCopy() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("m\r\n"));
        }
        // moved to queue/ by an update whose release record a crash then lost
        QueueEntry later = entry("A1").withAttempt(3, Instant.parse("2025-03-01T11:00:00Z"), true);
        Files.createDirectories(dir.resolve("queue"));
        Files.writeString(dir.resolve("queue/A1.eml"), "m\r\n");
        Files.write(dir.resolve("queue/A1.env"), later.toBytes());
        try (Spool s = Spool.open(dir)) {
            assertThat(s.read("A1")).contains(later);
            assertThat(s.ids()).containsExactly("A1");
        }
    }

    @Test
    void aMessageIsKeptByteForByteThroughTheJournalAndARestart() throws Exception {
        byte[] body = new byte[300 * 1024 + 7];
        new Random(42).nextBytes(body);
        byte[] dot = "\r\n.\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(dot, 0, body, 1000, dot.length); // nothing in the journal is read as an end
        OutboundMessage m = OutboundMessage.inMemory(body);
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("B1"), m);
            assertThat(bytesOf(s.message(entry("B1")))).isEqualTo(new String(body, java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        try (Spool s = Spool.open(dir)) {
            assertThat(Files.readAllBytes(dir.resolve("queue/B1.eml"))).isEqualTo(body);
        }
    }

    @Test
    void segmentsRotateAndAreDeletedOnceEverythingInThemWasReleased() throws Exception {
        String kilobyte = "x".repeat(1022) + "\r\n";
        try (Spool s = Spool.open(dir, 4096)) {
            for (int i = 0; i < 20; i++) {
                s.commit(entry(String.format("C%02d", i)), message(kilobyte));
            }
            assertThat(s.journalSegments()).isGreaterThan(4);
            for (int i = 0; i < 19; i++) {
                s.remove(String.format("C%02d", i));
            }
            // only what still holds C19 (and the current segment) is left
            assertThat(s.journalSegments()).isBetween(1, 2);
            assertThat(segments()).hasSize(s.journalSegments());
            assertThat(s.ids()).containsExactly("C19");
        }
        try (Spool s = Spool.open(dir, 4096)) {
            assertThat(s.ids()).containsExactly("C19");
            assertThat(Files.readString(dir.resolve("queue/C19.eml"))).isEqualTo(kilobyte);
        }
    }

    @Test
    void aLongFirstAttemptIsMovedToTheQueueSoThatLaterSegmentsCanGo() throws Exception {
        String kilobyte = "y".repeat(1022) + "\r\n";
        try (Spool s = Spool.open(dir, 4096)) {
            s.commit(entry("S1"), message(kilobyte)); // its upstream stalls
            OutboundMessage inFlight = s.message(entry("S1")); // the stalled delivery's view
            for (int i = 0; i < 12; i++) {
                String id = String.format("D%02d", i);
                s.commit(entry(id), message(kilobyte));
                s.remove(id); // delivered at once
            }
            int pinned = s.journalSegments();
            assertThat(pinned).isGreaterThan(3); // all kept for S1, the oldest

            assertThat(s.moveLongFirstAttempts(java.time.Duration.ofHours(1))).isZero(); // not long yet
            assertThat(s.moveLongFirstAttempts(java.time.Duration.ZERO)).isEqualTo(1);
            assertThat(s.inJournal("S1")).isFalse();
            assertThat(s.journalSegments()).isLessThan(pinned);
            assertThat(Files.readString(dir.resolve("queue/S1.eml"))).isEqualTo(kilobyte);
            assertThat(s.read("S1")).contains(entry("S1"));
            // its segment is gone: a delivery that had not opened it yet gets an error (its attempt
            // is deferred and retried from queue/); one that had opened it reads on (POSIX)
            assertThatThrownBy(() -> bytesOf(inFlight)).isInstanceOf(java.nio.file.NoSuchFileException.class);
            try (var in = s.openMessage("S1")) {
                assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo(kilobyte);
            }

            // the attempt ends: its verdict applies to the files
            QueueEntry deferred = entry("S1").withAttempt(1, Instant.parse("2025-03-01T10:05:00Z"), false);
            s.update(deferred);
            assertThat(QueueEntry.parse(Files.readAllBytes(dir.resolve("queue/S1.env")))).isEqualTo(deferred);
        }
        try (Spool s = Spool.open(dir, 4096)) {
            assertThat(s.ids()).containsExactly("S1");
            assertThat(s.read("S1").map(QueueEntry::attempts)).contains(1);
        }
    }

    @Test
    void theQueueCommandSeesJournaledEntriesButWaitsForServeToFinishWithThem() throws Exception {
        try (Spool s = Spool.open(dir); Spool cli = Spool.inspect(dir)) {
            s.commit(entry("A1"), message("Subject: hi\r\n\r\nbody\r\n"));
            try (Spool fresh = Spool.inspect(dir)) {
                assertThat(fresh.ids()).containsExactly("A1");
                assertThat(fresh.read("A1")).contains(entry("A1"));
                try (var in = fresh.openMessage("A1")) {
                    assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII))
                            .isEqualTo("Subject: hi\r\n\r\nbody\r\n");
                }
                assertThat(fresh.tryLock("A1")).isEmpty(); // serve's first attempt owns it
                s.update(entry("A1")); // deferred: serve moves it to queue/
                assertThat(fresh.contains("A1")).isTrue();
                assertThat(fresh.tryLock("A1")).isPresent();
            }
            assertThat(cli.ids()).containsExactly("A1"); // opened before the commit, it sees queue/ as it is now
        }
    }

    @Test
    void aCommitThatCannotBeWrittenFailsAndLeavesNothing() throws Exception {
        try (Spool s = Spool.open(dir)) {
            Path journal = dir.resolve("journal");
            Files.delete(journal);
            Files.writeString(journal, "not a directory");
            assertThatThrownBy(() -> s.commit(entry("A1"), message("m\r\n"))).isInstanceOf(IOException.class);
            assertThat(s.ids()).isEmpty();
            Files.delete(journal);
            Files.createDirectory(journal);
            s.commit(entry("A2"), message("m\r\n"));
            assertThat(s.ids()).containsExactly("A2");
        }
    }

    @Test
    void aMessageShorterThanItAnnouncedIsRefused() throws Exception {
        Path f = dir.resolve("short");
        Files.writeString(f, "abc");
        try (Spool s = Spool.open(dir); FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            // a header and a file slice claiming 10 bytes of a 3-byte file
            OutboundMessage lying = OutboundMessage.ofOpenFile(new byte[0], f, ch, 0, 10);
            assertThatThrownBy(() -> s.commit(entry("A1"), lying)).isInstanceOf(IOException.class);
            s.commit(entry("A2"), message("ok\r\n"));
        }
        try (Spool s = Spool.open(dir)) {
            assertThat(s.ids()).containsExactly("A2");
        }
    }
}
