package dev.returnpath.queue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** serve's background refresh of {@code list-index}: when it runs, when it does not, and that queue list then uses it. */
class ListIndexKeeperTest {
    @TempDir
    Path dir;
    final ListIndexTest files = new ListIndexTest();

    @BeforeEach
    void prepare() throws Exception {
        files.dir = dir;
        files.prepare();
        for (String id : List.of("A1", "A2", "A3", "A4")) {
            files.write(ListIndexTest.entry(id, "451 first"), ListIndexTest.HOUR_AGO);
        }
        files.quietDirectory();
    }

    ListIndexKeeper keeper(Spool spool, int entries, long headroom) {
        return new ListIndexKeeper(spool, () -> entries, () -> headroom, Duration.ofSeconds(1), 3);
    }

    @Test
    void aChangedQueueOfEnoughMessagesIsIndexedAndQueueListThenReadsTheIndex() throws Exception {
        try (Spool serve = Spool.open(dir)) {
            ListIndexKeeper k = keeper(serve, 4, 1L << 30);
            assertThat(k.refreshIfDue()).isPositive();
            assertThat(ListIndex.load(dir)).hasValueSatisfying(i -> assertThat(i.ids()).containsExactly("A1", "A2", "A3", "A4"));
            // nothing changed in queue/ since: no second refresh
            assertThat(k.refreshIfDue()).isZero();

            // an envelope edited in place while queue/ looks unchanged: a listing that shows the
            // old reply read it from the index the keeper wrote, not from the envelope
            Files.write(dir.resolve("queue/A2.env"), ListIndexTest.entry("A2", "451 edit!").toBytes());
            files.quietDirectory();
            assertThat(files.list()).containsEntry("A2", "451 first").hasSize(4);

            // queue/ changed: refreshed again, and the change is in the new index
            files.touchDirectory();
            assertThat(k.refreshIfDue()).isPositive();
            files.quietDirectory();
            assertThat(files.list()).containsEntry("A2", "451 edit!");
        }
    }

    @Test
    void aSmallQueueIsLeftToQueueList() throws Exception {
        try (Spool serve = Spool.open(dir)) {
            assertThat(keeper(serve, 2, 1L << 30).refreshIfDue()).isZero();
        }
        assertThat(dir.resolve(ListIndex.FILE)).doesNotExist();
    }

    @Test
    void withoutHeapForItTheRefreshIsSkipped() throws Exception {
        try (Spool serve = Spool.open(dir)) {
            ListIndexKeeper k = keeper(serve, 4, 4 * ListIndexKeeper.BYTES_PER_ENTRY - 1);
            assertThat(k.refreshIfDue()).isZero();
            assertThat(dir.resolve(ListIndex.FILE)).doesNotExist();
            assertThat(files.list()).isEqualTo(Map.of("A1", "451 first", "A2", "451 first", "A3", "451 first", "A4", "451 first"));
        }
    }
}
