package dev.returnpath.queue;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Permits per next hop: the bound holds under contention, and a hop nobody uses is forgotten. */
class HopPermitsTest {

    @Test
    void boundHoldsUnderContentionAndNothingIsKeptAfterwards() throws Exception {
        HopPermits<String> permits = new HopPermits<>();
        int hops = 50;
        int perHop = 2;
        AtomicInteger[] inFlight = new AtomicInteger[hops];
        AtomicInteger[] peak = new AtomicInteger[hops];
        for (int i = 0; i < hops; i++) {
            inFlight[i] = new AtomicInteger();
            peak[i] = new AtomicInteger();
        }
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        AtomicInteger failures = new AtomicInteger();
        for (int t = 0; t < 16; t++) {
            int seed = t;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int n = 0; n < 2_000; n++) {
                        int hop = (seed * 7 + n) % hops;
                        permits.acquire("mx-" + hop, perHop);
                        try {
                            int now = inFlight[hop].incrementAndGet();
                            peak[hop].accumulateAndGet(now, Math::max);
                            Thread.onSpinWait();
                            inFlight[hop].decrementAndGet();
                        } finally {
                            permits.release("mx-" + hop);
                        }
                    }
                } catch (InterruptedException e) {
                    failures.incrementAndGet();
                }
            }));
        }
        go.countDown();
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            assertThat(t.isAlive()).isFalse();
        }
        assertThat(failures).hasValue(0);
        for (AtomicInteger p : peak) {
            assertThat(p.get()).isBetween(1, perHop);
        }
        assertThat(permits.size()).as("hops kept after every delivery ended").isZero();
    }

    @Test
    void aWaiterKeepsTheHopAndAnInterruptedWaiterLeavesNothing() throws Exception {
        HopPermits<String> permits = new HopPermits<>();
        permits.acquire("a", 1);
        CountDownLatch waiting = new CountDownLatch(1);
        AtomicInteger interrupted = new AtomicInteger();
        Thread waiter = Thread.ofPlatform().start(() -> {
            waiting.countDown();
            try {
                permits.acquire("a", 1);
                permits.release("a");
            } catch (InterruptedException e) {
                interrupted.incrementAndGet();
            }
        });
        waiting.await();
        waiter.interrupt();
        waiter.join(10_000);
        assertThat(interrupted).hasValue(1);
        assertThat(permits.size()).as("the holder still holds").isEqualTo(1);
        permits.release("a");
        assertThat(permits.size()).isZero();
        assertThatThrownBy(() -> permits.release("a")).isInstanceOf(IllegalStateException.class);
    }
}
