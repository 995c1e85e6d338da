package dev.returnpath.queue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Keeps {@code list-index} ({@link ListIndex}) current while serve runs, so that the operator's
 * first {@code queue list} during a long outage reads the index and the few envelopes changed
 * since, instead of every envelope (100,000 waiting: about 7 s cold, under 2 s from a current
 * index, on the 2-CPU build machine).
 *
 * <p>A refresh is the listing without output, on this thread alone (never the common pool that
 * the listener's work shares). It runs only when {@code queue/} changed since the last one and
 * holds at least {@link #MIN_ENTRIES} messages (below that a cold listing takes well under a
 * second), at most once per {@link #MIN_INTERVAL} and never more often than
 * {@link #PACE} times its own last duration (so it takes at most 1/PACE of one core), and only
 * when the heap has room for it ({@link #BYTES_PER_ENTRY} per message): a sidecar with a small
 * heap and a huge queue skips it, and its {@code queue list} reads the envelopes as before. The
 * index is derived data: a refresh that fails or is skipped changes nothing but the next
 * listing's speed.
 */
final class ListIndexKeeper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath.queue");

    static final int MIN_ENTRIES = 2_000;
    static final Duration MIN_INTERVAL = Duration.ofMinutes(1);
    static final int PACE = 20;
    /** Heap a refresh needs per message at its peak: the old index, the new records, the new file's bytes. */
    static final long BYTES_PER_ENTRY = 1536;

    private final Spool spool;
    private final IntSupplier entries;
    private final LongSupplier heapHeadroom;
    private final Duration minInterval;
    private final int minEntries;
    private long lastDirectoryTime = Long.MIN_VALUE;
    private boolean skippedForMemory;
    private volatile boolean stopping;
    private Thread thread;

    /** @param entries the messages in the spool now (the scheduler's count) */
    ListIndexKeeper(Spool spool, IntSupplier entries) {
        this(spool, entries, ListIndexKeeper::headroom, MIN_INTERVAL, MIN_ENTRIES);
    }

    ListIndexKeeper(Spool spool, IntSupplier entries, LongSupplier heapHeadroom, Duration minInterval, int minEntries) {
        this.spool = spool;
        this.entries = entries;
        this.heapHeadroom = heapHeadroom;
        this.minInterval = minInterval;
        this.minEntries = minEntries;
    }

    /** Heap the collector could still hand out: the maximum less what is in use now. */
    private static long headroom() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    void start() {
        thread = Thread.ofPlatform().daemon().name("list-index").priority(Thread.MIN_PRIORITY).start(this::run);
    }

    private void run() {
        long waitNanos = minInterval.toNanos();
        while (!stopping) {
            try {
                TimeUnit.NANOSECONDS.sleep(waitNanos);
            } catch (InterruptedException e) {
                return;
            }
            if (stopping) {
                return;
            }
            long took = refreshIfDue();
            waitNanos = Math.max(minInterval.toNanos(), took * PACE);
        }
    }

    /**
     * Refreshes the index if it is due now (see the class comment); returns how long the refresh
     * took in nanoseconds, 0 when there was none.
     */
    long refreshIfDue() {
        int n = entries.getAsInt();
        if (n < minEntries) {
            return 0;
        }
        try {
            long dirTime = spool.queueDirectoryTime();
            if (dirTime == lastDirectoryTime || dirTime < 0) {
                return 0; // nothing changed since the last refresh: the index is as current as it gets
            }
            long need = n * BYTES_PER_ENTRY;
            if (heapHeadroom.getAsLong() < need) {
                if (!skippedForMemory) {
                    log.info("list-index not refreshed in the background: {} messages need about {} MiB of heap, "
                            + "more than is free; queue list reads their envelopes instead", n, need >> 20);
                    skippedForMemory = true;
                }
                return 0;
            }
            skippedForMemory = false;
            long t0 = System.nanoTime();
            spool.refreshListIndex();
            long took = System.nanoTime() - t0;
            lastDirectoryTime = dirTime;
            log.debug("list-index refreshed: {} messages in {} ms", n, took / 1_000_000);
            return took;
        } catch (IOException | RuntimeException e) {
            log.debug("list-index not refreshed: {}", e.toString());
            return 0;
        }
    }

    @Override
    public void close() {
        stopping = true;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
