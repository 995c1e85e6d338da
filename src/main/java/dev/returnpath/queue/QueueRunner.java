package dev.returnpath.queue;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Delivery;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.ops.Metrics;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Delivers what the {@link Spool} holds, in the background: the queue manager of Postfix's
 * design, wired from its parts. The {@link Scheduler} says when each message is tried, and
 * bounds the attempts in flight ({@code max-concurrency}); {@link Attempts} makes one attempt
 * (route, deliver at most {@code destination-concurrency} at once per next hop, log, write back);
 * {@link AttemptStep} decides what the outcomes make of the entry (retries after
 * {@code first-retry}, doubling up to {@code max-retry-interval}; a permanent failure, or
 * {@code max-age}, gets a DSN; one optional delay warning after {@code delay-warning});
 * {@link Bounces} writes those DSNs, the same as passthrough's; {@link ListIndexKeeper} keeps
 * {@code queue list}'s index current in the background while many messages wait.
 *
 * <p>Time comes from the injected {@link Clock}; {@link #wake()} makes the loop look at it now.
 */
public final class QueueRunner implements AutoCloseable {
    /**
     * A first attempt that lasts longer than this has its message moved out of the journal, so
     * that it does not keep the later journal segments on disk (see {@link Spool#moveLongFirstAttempts}).
     */
    static final Duration LONG_FIRST_ATTEMPT = Duration.ofSeconds(30);

    private final Spool spool;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private final Scheduler scheduler;
    private final ListIndexKeeper listIndex;

    /**
     * @param ids queue IDs for the DSNs it writes: the same generator as the listener's, so that
     *            IDs never collide
     */
    public QueueRunner(Spool spool, ConfigHolder configs, Function<RelayConfig, Delivery> deliveries, Clock clock,
                       Supplier<String> ids, Metrics metrics) {
        this.spool = spool;
        Attempts attempts = new Attempts(spool, configs, deliveries, clock, ids, metrics, workers, this::enqueue);
        this.scheduler = new Scheduler(spool, clock, configs.get().queue().maxConcurrency(), workers, attempts);
        this.listIndex = new ListIndexKeeper(spool, scheduler::size);
        attempts.onRetryNow(scheduler::retryNow);
        scheduler.onFlush(attempts::flushRoutes);
        metrics.spool(scheduler::size, scheduler::oldestSeconds);
        metrics.spoolDamage(() -> {
            Spool.Corrupt c = spool.corrupt();
            return new int[] {c.journalSegments(), c.envelopes()};
        }, spool.recordsLost());
    }

    /** Schedules every entry of the spool at its next attempt, and starts the loop. */
    public void start() throws IOException {
        scheduler.start();
        listIndex.start();
    }

    /**
     * Commits a new message (durably: see {@link Spool#commit}) and schedules its first attempt
     * now. Throws when the spool cannot take it; the app must then not get a 250.
     */
    public void enqueue(QueueEntry entry, OutboundMessage message) throws IOException {
        enqueue(entry, message, () -> { });
    }

    /** As {@link #enqueue(QueueEntry, OutboundMessage)}, running {@code committed} between the commit and the scheduling. */
    public void enqueue(QueueEntry entry, OutboundMessage message, Runnable committed) throws IOException {
        spool.commit(entry, message);
        committed.run();
        scheduler.schedule(entry.id(), entry.arrival(), entry.nextAttempt());
    }

    /** Makes the loop look at the clock (and the flush marker) now. */
    public void wake() {
        scheduler.wake();
    }

    /** Messages in the spool (waiting or being attempted). */
    public int size() {
        return scheduler.size();
    }

    /**
     * Starts no new attempt, and waits up to {@code grace} for the ones in flight. What is not
     * delivered stays in the spool for the next start.
     */
    public void shutdown(Duration grace) {
        listIndex.close();
        scheduler.shutdown(grace);
        workers.shutdownNow();
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    /** Waits (for tests) until nothing is due or running; true if that happened within {@code timeout}. */
    boolean idle(Duration timeout) throws InterruptedException {
        return scheduler.idle(timeout);
    }
}
