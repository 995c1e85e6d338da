package dev.returnpath.queue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static dev.returnpath.queue.SpoolTest.bytesOf;
import static dev.returnpath.queue.SpoolTest.entry;
import static dev.returnpath.queue.SpoolTest.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A failed {@code fdatasync} is never followed by a 250 that rests on it ("fsyncgate": after an
 * EIO the kernel may have dropped the pages, and the next sync of the file may succeed): the
 * commit that waited for it fails (the listener's 452 4.3.1), the segment takes no more records,
 * and what was acknowledged before and after is delivered after a restart.
 */
class JournalSyncFailureTest {
    @TempDir
    Path dir;
    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    final Logger queueLog = (Logger) LoggerFactory.getLogger("returnpath.queue");

    @BeforeEach
    void listen() {
        logged.start();
        queueLog.addAppender(logged);
    }

    @AfterEach
    void stop() {
        queueLog.detachAppender(logged);
    }

    @Test
    void theCommitWaitingForAFailedSyncFailsAndTheSegmentIsRetired() throws Exception {
        RecordingFiles files = new RecordingFiles();
        try (Spool s = Spool.open(dir, Journal.DEFAULT_SEGMENT_LIMIT, files)) {
            s.commit(entry("A1"), message("Subject: one\r\n\r\none\r\n"));
            files.failSyncs.set(1);
            assertThatThrownBy(() -> s.commit(entry("A2"), message("Subject: two\r\n\r\ntwo\r\n")))
                    .isInstanceOf(IOException.class).hasMessageContaining("Input/output error");
            assertThat(s.contains("A2")).isFalse();
            Path first = Journal.segmentFiles(dir.resolve("journal")).get(0);
            int failedAt = files.log.size();

            s.commit(entry("A3"), message("Subject: three\r\n\r\nthree\r\n"));
            // A2's release and A3 went to a new segment, nothing more after what the failed sync covered
            assertThat(Journal.segmentFiles(dir.resolve("journal"))).hasSize(2);
            List<RecordingFiles.Op> after = List.copyOf(files.log.subList(failedAt, files.log.size()));
            assertThat(after).noneMatch(op -> op instanceof RecordingFiles.Write w && w.path().equals(first));
            assertThat(after).anyMatch(op -> op instanceof RecordingFiles.Write w && !w.path().equals(first));
        }
        assertThat(logged.list).anySatisfy(e -> {
            assertThat(e.getLevel().toString()).isEqualTo("ERROR");
            assertThat(e.getFormattedMessage()).contains("fdatasync of ").contains("failed (Input/output error")
                    .contains("refused with 452 4.3.1").contains("new messages go to a new segment");
        });
        assertThat(logged.list.stream().filter(e -> e.getFormattedMessage().contains("fdatasync of "))).hasSize(1);

        // a restart: what was acknowledged is there, byte for byte; what was refused is not
        try (Spool s = Spool.open(dir)) {
            assertThat(s.read("A1")).isPresent();
            assertThat(s.read("A3")).isPresent();
            assertThat(s.read("A2")).isEmpty();
            try (var in = s.openMessage("A3")) {
                assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII))
                        .isEqualTo("Subject: three\r\n\r\nthree\r\n");
            }
        }
    }

    @Test
    void aFailedSyncBeforeARotationFailsTheCommitThatNeededIt() throws Exception {
        RecordingFiles files = new RecordingFiles();
        try (Spool s = Spool.open(dir, 600, files)) {
            s.commit(entry("A1"), message("Subject: one\r\n\r\none\r\n"));
            files.failSyncs.set(1); // the sync of the full segment, before the next one is started
            assertThatThrownBy(() -> s.commit(entry("A2"), message("Subject: two\r\n\r\n" + "x".repeat(400) + "\r\n")))
                    .isInstanceOf(IOException.class);
            assertThat(s.contains("A2")).isFalse();
            s.commit(entry("A3"), message("Subject: three\r\n\r\nthree\r\n"));
        }
        try (Spool s = Spool.open(dir)) {
            assertThat(s.read("A1")).isPresent();
            assertThat(s.read("A3")).isPresent();
            assertThat(s.read("A2")).isEmpty();
        }
    }
}
