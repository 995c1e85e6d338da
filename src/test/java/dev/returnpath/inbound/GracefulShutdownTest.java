package dev.returnpath.inbound;

import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** SIGTERM's path: stop taking mail, let transactions in flight finish within the grace period, then 421. */
class GracefulShutdownTest {
    @TempDir
    Path spool;
    Upstream upstream = new Upstream();
    TestRelay relay;
    // not the common pool: with 2 cores it has one worker, and the tasks below block
    final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

    @AfterEach
    void stop() {
        relay.close();
        upstream.close();
        threads.shutdownNow();
    }

    static byte[] mail() {
        return "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n".getBytes();
    }

    /** Sends one message on its own connection, in the background; the future holds the reply to DATA. */
    CompletableFuture<String> sendInBackground() throws Exception {
        SmtpClient c = relay.client();
        return CompletableFuture.supplyAsync(() -> {
            try (c) {
                return c.send("apache@web01.internal", List.of("user@gmail.test"), mail());
            } catch (Exception e) {
                return "exception: " + e;
            }
        }, threads);
    }

    @Test
    void transactionInFlightFinishesWhileIdleAndNewSessionsGet421() throws Exception {
        relay = new TestRelay(upstream.port(), spool, "");
        upstream.stallMillisAtData = 1_500;
        SmtpClient idle = relay.client();
        CompletableFuture<String> inFlight = sendInBackground();
        Thread.sleep(300); // the message is with the (stalling) upstream now

        long t0 = System.nanoTime();
        CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> relay.shutdown(Duration.ofSeconds(10)), threads);
        assertThat(idle.reply()).isEqualTo("421 4.3.2 Service shutting down, try again later");
        try (SmtpClient late = new SmtpClient(relay.port())) {
            assertThat(late.greeting()).startsWith("421 4.3.2 ");
        }

        assertThat(inFlight.get(5, TimeUnit.SECONDS)).startsWith("250 2.0.0 Ok: relayed as ");
        shutdown.get(5, TimeUnit.SECONDS);
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(4_000);
        assertThat(upstream.received).hasSize(1);
        idle.close();
    }

    @Test
    void transactionStillOpenAfterTheGracePeriodGets421() throws Exception {
        relay = new TestRelay(upstream.port(), spool, "");
        upstream.stallMillisAtData = 2_500;
        CompletableFuture<String> inFlight = sendInBackground();
        Thread.sleep(300);

        long t0 = System.nanoTime();
        CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> relay.shutdown(Duration.ofMillis(300)), threads);
        String reply = inFlight.get(5, TimeUnit.SECONDS);
        long replyMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(reply).isEqualTo("421 4.3.2 Service shutting down, try again later");
        assertThat(replyMs).isLessThan(2_000);
        // shutdown never hangs: it gives SubEtha's stop a bounded wait for the stalled handler
        shutdown.get(Inbound.STOP_WAIT.toMillis() + 3_000, TimeUnit.MILLISECONDS);
    }

    @Test
    void spooledMessagesStayInTheSpoolAcrossAShutdown() throws Exception {
        upstream.dataReply = "451 4.3.0 not now";
        relay = new TestRelay(upstream.port(), spool, "returnpath.queue.mode = spool");
        try (SmtpClient c = relay.client()) {
            assertThat(c.send("apache@web01.internal", List.of("user@gmail.test"), mail())).startsWith("250 2.0.0 Ok: queued as ");
        }
        relay.shutdown(Duration.ofSeconds(2));
        relay.queue.shutdown(Duration.ofSeconds(2));
        assertThat(relay.spool.ids()).hasSize(1);
    }
}
