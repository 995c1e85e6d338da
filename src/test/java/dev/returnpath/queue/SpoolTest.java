package dev.returnpath.queue;

import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

class SpoolTest {
    @TempDir
    Path dir;

    static QueueEntry entry(String id) {
        Instant t = Instant.parse("2025-03-01T10:00:00Z");
        return new QueueEntry(id, t, "127.0.0.1", "web01", "apache@web01.internal", "bounce@example.com", 12, 0, t, false,
                List.of(new Recipient("a@example.org", State.PENDING, "", "")));
    }

    static OutboundMessage message(String text) {
        return OutboundMessage.inMemory(text.getBytes(StandardCharsets.US_ASCII));
    }

    static String bytesOf(OutboundMessage m) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        m.writeTo(out);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void committedEntryIsInTheJournalAndMovesToQueueFilesOnItsFirstUpdate() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("Subject: x\r\n\r\nbody\r\n"));
            assertThat(s.read("A1")).contains(entry("A1"));
            assertThat(s.ids()).containsExactly("A1");
            assertThat(s.contains("A1")).isTrue();
            assertThat(bytesOf(s.message(entry("A1")))).isEqualTo("Subject: x\r\n\r\nbody\r\n");
            try (var in = s.openMessage("A1")) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("Subject: x\r\n\r\nbody\r\n");
            }
            try (var files = Files.list(dir.resolve("queue"))) {
                assertThat(files).isEmpty(); // no file per message on the way in
            }

            QueueEntry deferred = entry("A1").withAttempt(1, Instant.parse("2025-03-01T10:05:00Z"), false);
            s.update(deferred);
            assertThat(Files.readString(dir.resolve("queue/A1.eml"))).isEqualTo("Subject: x\r\n\r\nbody\r\n");
            assertThat(QueueEntry.parse(Files.readAllBytes(dir.resolve("queue/A1.env")))).isEqualTo(deferred);
            assertThat(s.inJournal("A1")).isFalse();
            assertThat(s.read("A1")).contains(deferred);
            assertThat(s.ids()).containsExactly("A1");
        }
        try (Spool s = Spool.open(dir)) {
            // released from the journal: a restart does not bring the first version back
            assertThat(s.read("A1").map(QueueEntry::attempts)).contains(1);
            assertThat(s.ids()).containsExactly("A1");
        }
    }

    @Test
    void startUpRemovesWhatACrashLeftHalfWritten() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("kept\r\n"));
        }
        // a crash after the message file but before the envelope's rename, one during an
        // envelope rewrite, and a DATA being received
        Files.writeString(dir.resolve("queue/B2.eml"), "never acknowledged\r\n");
        Files.writeString(dir.resolve("queue/A1.env.tmp"), "returnpath-envelope 1\nid: A1\n");
        Files.writeString(dir.resolve("incoming/C3.eml"), "half a DATA");
        try (Spool s = Spool.open(dir)) {
            assertThat(s.ids()).containsExactly("A1");
            assertThat(s.read("A1")).contains(entry("A1"));
            assertThat(dir.resolve("queue/B2.eml")).doesNotExist();
            assertThat(dir.resolve("queue/A1.env.tmp")).doesNotExist();
            assertThat(dir.resolve("incoming/C3.eml")).doesNotExist();
        }
    }

    @Test
    void updateReplacesTheEnvelopeAndRemoveDeletesBothFiles() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("m\r\n"));
            QueueEntry sent = entry("A1").withRecipients(List.of(new Recipient("a@example.org", State.SENT, "r", "250 Ok")));
            s.update(sent);
            assertThat(s.read("A1")).contains(sent);
            assertThat(s.remove("A1")).isTrue();
            assertThat(s.read("A1")).isEmpty();
            assertThat(dir.resolve("queue/A1.eml")).doesNotExist();
            assertThat(s.remove("A1")).isFalse();
        }
    }

    @Test
    void anUnreadableEnvelopeIsSetAsideNotDeleted() throws Exception {
        try (Spool s = Spool.open(dir)) {
            s.commit(entry("A1"), message("m\r\n"));
            s.update(entry("A1")); // to queue/
            Files.writeString(dir.resolve("queue/A1.env"), "garbage\n");
            try {
                s.read("A1");
                throw new AssertionError("expected a CorruptEntryException");
            } catch (Spool.CorruptEntryException e) {
                assertThat(e.getMessage()).contains("A1").contains("not a returnpath envelope");
            }
            s.setAside("A1");
            assertThat(s.ids()).isEmpty();
            assertThat(dir.resolve("corrupt/A1.env")).hasContent("garbage");
            assertThat(dir.resolve("corrupt/A1.eml")).exists();
        }
    }

    @Test
    void anEntryLockedByOneHolderCannotBeLockedByAnother() throws Exception {
        try (Spool s = Spool.open(dir); Spool cli = Spool.inspect(dir)) {
            s.commit(entry("A1"), message("m\r\n"));
            s.update(entry("A1")); // to queue/
            try (Spool.EntryLock held = s.tryLock("A1").orElseThrow()) {
                assertThat(cli.tryLock("A1")).isEmpty();
            }
            try (Spool.EntryLock again = cli.tryLock("A1").orElseThrow()) {
                assertThat(again).isNotNull();
            }
            assertThat(cli.tryLock("missing")).isEmpty();
            assertThat(cli.ownedByServe()).isTrue();
        }
        try (Spool cli = Spool.inspect(dir)) {
            assertThat(cli.ownedByServe()).isFalse();
        }
    }

    @Test
    void concurrentCommitsAreAllDurableAndShareDirectorySyncs() throws Exception {
        int n = 200;
        try (Spool s = Spool.open(dir); ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = String.format("M%05d", i);
                fs.add(ex.submit(() -> {
                    s.commit(entry(id), message("message " + id + "\r\n"));
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            assertThat(s.ids()).hasSize(n);
            for (String id : s.ids()) {
                assertThat(s.read(id)).isPresent();
            }
            // every commit waited for a journal sync, and concurrent ones were grouped
            assertThat(s.journalSyncs()).isBetween(1L, (long) n);
            assertThat(s.directorySyncs()).isZero(); // nothing went to queue/
        }
        try (Spool s = Spool.open(dir)) {
            // after a restart every one of them is in queue/, byte for byte
            assertThat(s.ids()).hasSize(n);
            for (String id : s.ids()) {
                assertThat(Files.readString(dir.resolve("queue/" + id + ".eml"))).isEqualTo("message " + id + "\r\n");
            }
        }
    }

    @Test
    void aFlushRequestIsSeenOnce() throws Exception {
        try (Spool s = Spool.open(dir); Spool cli = Spool.inspect(dir)) {
            assertThat(s.takeFlushRequest()).isFalse();
            cli.requestFlush();
            assertThat(s.takeFlushRequest()).isTrue();
            assertThat(s.takeFlushRequest()).isFalse();
        }
    }

    @Test
    void aSpoolWhoseParentIsARegularFileCannotBeOpened() throws Exception {
        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Spool.open(file.resolve("spool")))
                .isInstanceOf(java.io.IOException.class);
    }
}
