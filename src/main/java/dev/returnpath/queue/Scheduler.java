package dev.returnpath.queue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * When each spooled message is tried (Postfix's {@code qmgr_active.c} and the loop of
 * {@code qmgr.c}): a priority queue of due times, one attempt per message at a time, at most
 * {@code max-concurrency} attempts in flight.
 *
 * <p>{@link #schedule} puts a message at a time (a later call supersedes an earlier one); the
 * loop hands each message that is due to the {@link Attempt} on a worker thread, and schedules
 * it again at the time the attempt returns, or forgets it when the attempt says it is done. The
 * loop looks at the injected {@link Clock} at least every {@link #TICK}; {@link #wake()} makes it
 * look now, and also at the spool's flush marker ({@code queue flush}: every message now) and at
 * first attempts that stay too long in the journal. It delivers nothing itself.
 */
final class Scheduler {
    private static final Logger log = LoggerFactory.getLogger("returnpath.queue");
    static final Duration TICK = Duration.ofSeconds(1);

    /** One delivery attempt of the message {@code id}: when to try again, or empty when done or gone. */
    @FunctionalInterface
    interface Attempt {
        Optional<Instant> run(String id) throws InterruptedException;
    }

    private record Due(Instant at, long seq, String id) implements Comparable<Due> {
        @Override
        public int compareTo(Due o) {
            int c = at.compareTo(o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private final Spool spool;
    private final Clock clock;
    private final Semaphore permits;
    private final ExecutorService workers;
    private final Attempt attempt;
    private final Map<String, Instant> arrivals = new ConcurrentHashMap<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final PriorityQueue<Due> schedule = new PriorityQueue<>();
    private final Map<String, Long> current = new HashMap<>();        // id -> seq of its valid Due
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private final Set<String> rerun = ConcurrentHashMap.newKeySet(); // woken while its attempt ran
    private volatile Runnable onFlush = () -> { };
    private final AtomicLong seq = new AtomicLong();
    private volatile boolean stopping;
    private volatile boolean wakeRequested;
    private Thread loop;

    Scheduler(Spool spool, Clock clock, int maxConcurrency, ExecutorService workers, Attempt attempt) {
        this.spool = spool;
        this.clock = clock;
        this.permits = new Semaphore(maxConcurrency);
        this.workers = workers;
        this.attempt = attempt;
    }

    /** Schedules every entry of the spool at its next attempt, and starts the loop. */
    void start() throws IOException {
        int n = rescan(false);
        if (n > 0) {
            log.info("spool {}: {} message(s) to deliver", spool.root(), n);
        }
        loop = Thread.ofPlatform().daemon().name("queue-runner").start(this::run);
    }

    /** Puts {@code id} at {@code at}, superseding where it was. */
    void schedule(String id, Instant arrival, Instant at) {
        arrivals.put(id, arrival);
        lock.lock();
        try {
            long s = seq.incrementAndGet();
            current.put(id, s);
            schedule.add(new Due(at, s, id));
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Tries {@code id} now (its hop is back); if its attempt is still running, right after it,
     * whatever that attempt says.
     */
    void retryNow(String id) {
        Instant arrival = arrivals.get(id);
        if (arrival == null) {
            return; // done meanwhile
        }
        lock.lock();
        try {
            if (running.contains(id)) {
                rerun.add(id);
                return;
            }
        } finally {
            lock.unlock();
        }
        schedule(id, arrival, clock.instant());
    }

    /** Runs before a flush's rescan (the attempts forget which hops are down). */
    void onFlush(Runnable r) {
        this.onFlush = r;
    }

    /** Makes the loop look at the clock (and the flush marker) now. */
    void wake() {
        lock.lock();
        try {
            wakeRequested = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Messages in the spool (waiting or being attempted). */
    int size() {
        return arrivals.size();
    }

    /** How long the oldest message has been waiting, for the metrics. */
    double oldestSeconds() {
        Instant now = clock.instant();
        return arrivals.values().stream().min(Instant::compareTo)
                .map(a -> Math.max(0, Duration.between(a, now).toMillis() / 1000.0)).orElse(0.0);
    }

    /**
     * Reads every envelope and (re)schedules it at its next attempt, or now for a flush; returns
     * how many there are.
     */
    private int rescan(boolean now) throws IOException {
        int n = 0;
        for (String id : spool.ids()) {
            try {
                Optional<QueueEntry> e = spool.read(id);
                if (e.isPresent()) {
                    schedule(id, e.get().arrival(), now ? clock.instant() : e.get().nextAttempt());
                    n++;
                }
            } catch (Spool.CorruptEntryException c) {
                setAside(spool, c);
            }
        }
        return n;
    }

    /** Moves an envelope that cannot be read out of the way, where an operator can look at it. */
    static void setAside(Spool spool, Spool.CorruptEntryException c) {
        log.error("{}; moved to {}/corrupt for inspection", c.getMessage(), spool.root());
        try {
            spool.setAside(c.id);
        } catch (IOException e) {
            log.error("cannot move {} aside: {}", c.id, e.getMessage());
        }
    }

    private void moveLongFirstAttempts() {
        try {
            int moved = spool.moveLongFirstAttempts(QueueRunner.LONG_FIRST_ATTEMPT);
            if (moved > 0) {
                log.info("spool {}: {} message(s) on a first attempt longer than {} moved from the journal to the queue",
                        spool.root(), moved, AttemptStep.human(QueueRunner.LONG_FIRST_ATTEMPT));
            }
        } catch (IOException e) {
            log.error("spool {}: cannot move long first attempts out of the journal: {}", spool.root(), e.getMessage());
        }
    }

    private void run() {
        long flushCheckedAt = System.nanoTime() - TICK.toNanos();
        while (!stopping) {
            // the flush marker is a file: look at it once a tick, not once a message (an unlink each)
            boolean lookForFlush = wakeRequested || System.nanoTime() - flushCheckedAt >= TICK.toNanos();
            if (lookForFlush) {
                flushCheckedAt = System.nanoTime();
                moveLongFirstAttempts();
                if (spool.takeFlushRequest()) {
                    try {
                        log.info("flush requested: every message in the spool is tried now");
                        onFlush.run();
                        rescan(true);
                    } catch (IOException e) {
                        log.error("spool {}: cannot rescan: {}", spool.root(), e.getMessage());
                    }
                }
            }
            List<String> dueNow = new ArrayList<>();
            long waitNanos;
            lock.lock();
            try {
                Instant now = clock.instant();
                Due d;
                while ((d = schedule.peek()) != null && !d.at().isAfter(now)) {
                    schedule.poll();
                    if (!Long.valueOf(d.seq()).equals(current.get(d.id()))) {
                        continue; // superseded by a later schedule()
                    }
                    if (running.contains(d.id())) {
                        // an attempt is still in flight: its verdict schedules it again
                        continue;
                    }
                    current.remove(d.id());
                    running.add(d.id());
                    dueNow.add(d.id());
                }
                Due next = schedule.peek();
                long untilNext = next == null ? Long.MAX_VALUE : Duration.between(now, next.at()).toNanos();
                waitNanos = Math.max(1_000_000, Math.min(TICK.toNanos(), untilNext));
            } finally {
                lock.unlock();
            }
            for (String id : dueNow) {
                workers.submit(() -> attempt(id));
            }
            if (!dueNow.isEmpty()) {
                continue;
            }
            lock.lock();
            try {
                if (!wakeRequested && !stopping) {
                    changed.awaitNanos(waitNanos);
                }
                wakeRequested = false;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
        }
    }

    private void attempt(String id) {
        Optional<Instant> next = Optional.empty();
        try {
            permits.acquire();
            try {
                // stopping: it stays in the spool for the next start
                next = stopping ? Optional.of(clock.instant()) : attempt.run(id);
            } finally {
                permits.release();
            }
        } catch (InterruptedException e) {
            // shutdown interrupted it: forgotten here, still on disk for the next start
            Thread.currentThread().interrupt();
        } finally {
            lock.lock();
            try {
                running.remove(id);
                if (rerun.remove(id) && next.isPresent()) {
                    next = Optional.of(clock.instant()); // its hop came back while it was deferred
                }
                // the attempt's verdict wins over a schedule() made while it ran (a rescan read
                // the envelope as it was before the attempt)
                if (next.isPresent()) {
                    long s = seq.incrementAndGet();
                    current.put(id, s);
                    schedule.add(new Due(next.get(), s, id));
                } else {
                    current.remove(id);
                    arrivals.remove(id);
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Starts no new attempt, and waits up to {@code grace} for the ones in flight. What is not
     * delivered stays in the spool for the next start.
     */
    void shutdown(Duration grace) {
        stopping = true;
        wake();
        long deadline = System.nanoTime() + grace.toNanos();
        while (!running.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!running.isEmpty()) {
            log.warn("{} delivery attempt(s) still in flight after the grace period; they stay in the spool", running.size());
        }
        if (loop != null) {
            try {
                loop.join(TICK.toMillis() * 2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits (for tests) until nothing is due or running; true if that happened within {@code timeout}. */
    boolean idle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            lock.lock();
            boolean idle;
            try {
                Due d = schedule.peek();
                idle = running.isEmpty() && (d == null || d.at().isAfter(clock.instant()));
            } finally {
                lock.unlock();
            }
            if (idle) {
                return true;
            }
            TimeUnit.MILLISECONDS.sleep(10);
        }
        return false;
    }
}
