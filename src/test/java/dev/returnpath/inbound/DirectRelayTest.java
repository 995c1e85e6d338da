package dev.returnpath.inbound;

import dev.returnpath.delivery.Deliveries;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.queue.SpoolTesting;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The relay with {@code delivery.mode = direct}: what the app is answered when a message's
 * recipient domains fare differently (README, "Direct delivery"), in passthrough and in spool.
 * MX hosts come from src/test/resources/direct/mx.zone: pref.test on mx1 (127.0.0.2),
 * other.test on mx2 (127.0.0.3), example.com (where DSNs go) on mx1.
 */
class DirectRelayTest {
    @TempDir
    Path spool;
    Upstream mx1;
    Upstream mx2;
    int port;
    TestRelay relay;
    final MutableClock clock = new MutableClock();

    @BeforeEach
    void servers() throws Exception {
        for (int attempt = 0; ; attempt++) {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
                port = probe.getLocalPort();
            }
            try {
                mx1 = new Upstream(InetAddress.getByName("127.0.0.2"), port);
                mx2 = new Upstream(InetAddress.getByName("127.0.0.3"), port);
                return;
            } catch (RuntimeException taken) {
                if (mx1 != null) {
                    mx1.close();
                }
                if (attempt > 5) {
                    throw taken;
                }
            }
        }
    }

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        mx1.close();
        mx2.close();
    }

    void start(String extra) throws Exception {
        Deliveries direct = new Deliveries(d -> DnsjavaDns.over(ZoneResolver.of("/direct/mx.zone"), Duration.ofSeconds(2)));
        relay = new TestRelay(25, spool, """
                returnpath.delivery { mode = direct, direct { port = %d, tls = opportunistic } }
                %s
                """.formatted(port, extra), dev.returnpath.cleanup.SpfGuards.overDnsjava(Clock.systemUTC()), clock, direct);
    }

    String send(String... rcpts) throws Exception {
        try (SmtpClient c = relay.client()) {
            return c.send("apache@web01.internal", List.of(rcpts),
                    "From: noreply@example.com\r\nSubject: hi\r\n\r\nbody\r\n".getBytes());
        }
    }

    @Test
    void passthroughEveryDomainDeliveredIs250() throws Exception {
        start("");
        assertThat(send("a@pref.test", "b@other.test")).startsWith("250 2.0.0 Ok: relayed as ");
        assertThat(mx1.received).singleElement().satisfies(m -> {
            assertThat(m.reversePath()).isEqualTo("bounce@example.com");
            assertThat(m.forwardPaths()).containsExactly("a@pref.test");
        });
        assertThat(mx2.received).singleElement().satisfies(m -> assertThat(m.forwardPaths()).containsExactly("b@other.test"));
    }

    @Test
    void passthroughNothingDeliveredAndADomainDeferredIs451() throws Exception {
        start("");
        mx1.rcptReply = r -> "550 5.1.1 no such user";
        mx2.rcptReply = r -> "451 4.7.1 greylisted";
        String reply = send("a@pref.test", "b@other.test");
        assertThat(reply).startsWith("451 4.7.1 mx2.test[127.0.0.3]:" + port + " said: 451 4.7.1 greylisted");
        assertThat(mx1.received).isEmpty();
    }

    @Test
    void passthroughSomeDomainsDeliveredOthersFailedIs250AndADsnForTheFailedOnes() throws Exception {
        start("");
        mx2.rcptReply = r -> r.endsWith("@other.test") ? "451 4.7.1 greylisted" : null;
        String reply = send("a@pref.test", "b@other.test", "c@nullmx.test");
        assertThat(reply).startsWith("250 2.0.0 Ok: relayed as ").contains("2 of 3 recipients failed, DSN sent");
        // mx1 got the message for pref.test, then the DSN for bounce@example.com
        Await.until(Duration.ofSeconds(5), "the DSN", () -> mx1.received.size() == 2);
        assertThat(mx1.received.get(0).forwardPaths()).containsExactly("a@pref.test");
        var dsn = mx1.received.get(1);
        assertThat(dsn.reversePath()).isEmpty();
        assertThat(dsn.forwardPaths()).containsExactly("bounce@example.com");
        assertThat(dsn.text())
                .contains("Final-Recipient: rfc822; b@other.test").contains("Status: 4.7.1")
                .contains("Remote-MTA: dns; mx2.test")
                .contains("Final-Recipient: rfc822; c@nullmx.test").contains("Status: 5.1.10")
                .doesNotContain("Final-Recipient: rfc822; a@pref.test");
    }

    @Test
    void spoolRetriesOnlyTheDomainThatWasDeferred() throws Exception {
        start("returnpath.queue.mode = spool");
        AtomicBoolean greylist = new AtomicBoolean(true);
        mx2.rcptReply = r -> greylist.get() ? "451 4.7.1 greylisted" : null;
        assertThat(send("a@pref.test", "b@other.test")).startsWith("250 2.0.0 Ok: queued as ");
        Await.until(Duration.ofSeconds(10), "pref.test", () -> mx1.received.size() == 1);
        assertThat(SpoolTesting.idle(relay.queue, Duration.ofSeconds(10))).isTrue();
        assertThat(mx2.received).isEmpty();

        greylist.set(false);
        clock.advance(Duration.ofMinutes(5));
        relay.queue.wake();
        Await.until(Duration.ofSeconds(10), "other.test", () -> mx2.received.size() == 1);
        assertThat(SpoolTesting.idle(relay.queue, Duration.ofSeconds(10))).isTrue();
        assertThat(mx1.received).hasSize(1); // pref.test was not sent twice
        assertThat(mx2.received.get(0).forwardPaths()).containsExactly("b@other.test");
        assertThat(relay.spool.ids()).isEmpty();
    }
}
