package dev.returnpath.queue;

import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.MutableClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scheduler alone, over a real spool directory and on a test clock: when it hands a message
 * to its attempt, how many at once, and what it does with the attempt's verdict. The attempt
 * here records its calls and answers as the test says; nothing is delivered.
 */
class SchedulerTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    Spool spool;
    Scheduler scheduler;
    final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    final MutableClock clock = new MutableClock(Instant.parse("2025-03-01T10:00:00Z"));
    final List<String> tried = new CopyOnWriteArrayList<>();
    volatile Function<String, Optional<Instant>> verdict = id -> Optional.empty();

    @AfterEach
    void stop() {
        if (scheduler != null) {
            scheduler.shutdown(Duration.ZERO);
        }
        workers.shutdownNow();
        if (spool != null) {
            spool.close();
        }
    }

    void start(int maxConcurrency, Scheduler.Attempt attempt) throws Exception {
        spool = Spool.open(dir);
        scheduler = new Scheduler(spool, clock, maxConcurrency, workers, attempt);
        scheduler.start();
    }

    void start() throws Exception {
        start(4, id -> {
            tried.add(id);
            return verdict.apply(id);
        });
    }

    void advance(Duration d) throws Exception {
        clock.advance(d);
        scheduler.wake();
        assertThat(scheduler.idle(WAIT)).isTrue();
    }

    @Test
    void aMessageIsTriedAtItsTimeAndNotBefore() throws Exception {
        start();
        scheduler.schedule("A", clock.instant(), clock.instant().plus(Duration.ofMinutes(5)));
        advance(Duration.ofMinutes(4));
        assertThat(tried).isEmpty();
        assertThat(scheduler.size()).isEqualTo(1);

        advance(Duration.ofMinutes(1));
        assertThat(tried).containsExactly("A");
        assertThat(scheduler.size()).isZero(); // the attempt said it is done
    }

    @Test
    void theAttemptsVerdictIsWhenItIsTriedAgain() throws Exception {
        start();
        AtomicInteger calls = new AtomicInteger();
        verdict = id -> calls.incrementAndGet() == 1 ? Optional.of(clock.instant().plus(Duration.ofMinutes(10)))
                : Optional.empty();
        scheduler.schedule("A", clock.instant(), clock.instant());
        scheduler.wake();
        Await.until(WAIT, "the first attempt", () -> tried.size() == 1);
        assertThat(scheduler.idle(WAIT)).isTrue();
        assertThat(scheduler.size()).isEqualTo(1);

        advance(Duration.ofMinutes(9));
        assertThat(tried).hasSize(1);
        advance(Duration.ofMinutes(1));
        assertThat(tried).containsExactly("A", "A");
        assertThat(scheduler.size()).isZero();
    }

    @Test
    void aLaterScheduleSupersedesAnEarlierOne() throws Exception {
        start();
        scheduler.schedule("A", clock.instant(), clock.instant().plus(Duration.ofMinutes(1)));
        scheduler.schedule("A", clock.instant(), clock.instant().plus(Duration.ofMinutes(10)));
        advance(Duration.ofMinutes(2));
        assertThat(tried).isEmpty();
        advance(Duration.ofMinutes(8));
        assertThat(tried).containsExactly("A");
    }

    @Test
    void eachMessageIsTriedWhenItsOwnTimeComes() throws Exception {
        start();
        Instant t = clock.instant();
        scheduler.schedule("C", t, t.plusSeconds(30));
        scheduler.schedule("A", t, t.plusSeconds(10));
        scheduler.schedule("B", t, t.plusSeconds(20));
        advance(Duration.ofSeconds(10));
        assertThat(tried).containsExactly("A");
        advance(Duration.ofSeconds(10));
        assertThat(tried).containsExactly("A", "B");
        advance(Duration.ofSeconds(10));
        assertThat(tried).containsExactly("A", "B", "C");
    }

    @Test
    void atMostMaxConcurrencyAttemptsRunAtOnceAndAMessageNeverTwice() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        Map<String, AtomicInteger> perMessage = new ConcurrentHashMap<>();
        start(2, id -> {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            perMessage.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
            try {
                release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } finally {
                inFlight.decrementAndGet();
            }
            return Optional.empty();
        });
        for (String id : List.of("A", "B", "C", "D", "E")) {
            scheduler.schedule(id, clock.instant(), clock.instant());
        }
        scheduler.wake();
        Await.until(WAIT, "two attempts in flight", () -> inFlight.get() == 2);
        // A is in flight or waiting for a permit: scheduling it again must not start a second attempt
        scheduler.schedule("A", clock.instant(), clock.instant());
        scheduler.wake();
        Thread.sleep(200);
        assertThat(inFlight).hasValue(2);

        release.countDown();
        assertThat(scheduler.idle(WAIT)).isTrue();
        assertThat(most).hasValue(2);
        assertThat(perMessage).containsOnlyKeys("A", "B", "C", "D", "E");
        assertThat(perMessage.get("A")).as("A's attempts").hasValue(1);
        assertThat(scheduler.size()).isZero(); // the verdict (done) wins over the schedule made while it ran
    }

    @Test
    void startSchedulesTheSpoolAndAFlushTriesEverythingNow() throws Exception {
        spool = Spool.open(dir);
        byte[] message = "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII);
        Instant later = clock.instant().plus(Duration.ofHours(1));
        for (String id : List.of("3F2A9C1B00001", "3F2A9C1B00002")) {
            spool.commit(new QueueEntry(id, clock.instant(), "127.0.0.1", "web01", "a@web01", "bounce@example.com",
                    message.length, 1, later, false,
                    List.of(new QueueEntry.Recipient("u@example.org", QueueEntry.State.DEFERRED, "", "451 4.7.1 later"))),
                    OutboundMessage.inMemory(message));
        }
        scheduler = new Scheduler(spool, clock, 4, workers, id -> {
            tried.add(id);
            return Optional.of(later);
        });
        scheduler.start();
        assertThat(scheduler.size()).isEqualTo(2);
        advance(Duration.ofMinutes(1));
        assertThat(tried).isEmpty();

        spool.requestFlush();
        scheduler.wake();
        Await.until(WAIT, "the flush", () -> tried.size() == 2);
        assertThat(tried).containsExactlyInAnyOrder("3F2A9C1B00001", "3F2A9C1B00002");
    }

    @Test
    void afterShutdownNothingNewIsTried() throws Exception {
        start();
        scheduler.shutdown(Duration.ZERO);
        scheduler.schedule("A", clock.instant(), clock.instant());
        scheduler.wake();
        Thread.sleep(200);
        assertThat(tried).isEmpty();
    }
}
