package dev.returnpath.queue;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Deliveries;
import dev.returnpath.delivery.Delivery;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.inbound.QueueId;
import dev.returnpath.message.Addresses;
import dev.returnpath.ops.Metrics;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code queue.destination-concurrency} bounds the deliveries in flight per next hop: the
 * smarthost is one hop whatever the recipient domains, with direct delivery each recipient
 * domain is one. The upstreams are real SMTP servers on loopback that take their time at DATA;
 * the deliveries are the real ones, watched from outside for how many run at once.
 */
class DestinationLimitsTest {
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();
    final MutableClock clock = new MutableClock(Instant.parse("2025-03-01T10:00:00Z"));

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** The real deliveries, counting those in flight: in all and per recipient domain. */
    static final class Watched implements Function<RelayConfig, Delivery> {
        final Function<RelayConfig, Delivery> real;
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger mostInFlight = new AtomicInteger();
        final Map<String, AtomicInteger> perDomain = new ConcurrentHashMap<>();
        final Map<String, Integer> mostPerDomain = new ConcurrentHashMap<>();
        final AtomicInteger done = new AtomicInteger();

        Watched(Function<RelayConfig, Delivery> real) {
            this.real = real;
        }

        @Override
        public Delivery apply(RelayConfig cfg) {
            Delivery d = real.apply(cfg);
            return (Envelope envelope, OutboundMessage message) -> {
                String domain = Addresses.domainOf(envelope.forwardPaths().get(0)).orElseThrow();
                int n = perDomain.computeIfAbsent(domain, k -> new AtomicInteger()).incrementAndGet();
                mostPerDomain.merge(domain, n, Math::max);
                mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                try {
                    return d.deliver(envelope, message);
                } finally {
                    inFlight.decrementAndGet();
                    perDomain.get(domain).decrementAndGet();
                    done.incrementAndGet();
                }
            };
        }
    }

    QueueRunner runner(String hocon, Watched deliveries) throws Exception {
        RelayConfig cfg = ConfigLoader.parseString(hocon, "test.conf");
        Spool spool = Spool.open(cfg.queue().dir());
        open.add(spool);
        QueueRunner runner = new QueueRunner(spool, new ConfigHolder(cfg), deliveries, clock, new QueueId()::next,
                new Metrics());
        open.add(runner);
        runner.start();
        return runner;
    }

    void enqueue(QueueRunner runner, QueueId ids, String rcpt) throws Exception {
        enqueue(runner, ids, rcpt, "bounce@example.com");
    }

    void enqueue(QueueRunner runner, QueueId ids, String rcpt, String returnPath) throws Exception {
        byte[] message = ("From: noreply@example.com\r\nTo: " + rcpt + "\r\nSubject: hi\r\n\r\nhello\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        Instant now = clock.instant();
        runner.enqueue(new QueueEntry(ids.next(), now, "127.0.0.1", "web01.internal", "apache@web01.internal",
                returnPath, message.length, 0, now, false,
                List.of(new QueueEntry.Recipient(rcpt, QueueEntry.State.PENDING, "", ""))), OutboundMessage.inMemory(message));
    }

    /** A plain upstream on loopback that takes 300 ms at DATA, closed after the test. */
    Upstream slowUpstream() {
        Upstream u = new Upstream();
        open.add(u);
        u.stallMillisAtData = 300;
        return u;
    }

    @Test
    void theSmarthostIsOneNextHopWhateverTheRecipientDomains() throws Exception {
        Upstream upstream = slowUpstream();
        Watched watched = new Watched(new Deliveries());
        QueueRunner runner = runner(TestRelay.baseHocon(upstream.port(), dir) + """
                returnpath.queue { mode = spool, max-concurrency = 8, destination-concurrency = 2 }
                """, watched);
        QueueId ids = new QueueId();
        for (int i = 0; i < 6; i++) {
            enqueue(runner, ids, "u@d" + i + ".test");
        }
        Await.until(WAIT, "six deliveries", () -> upstream.received.size() == 6);
        assertThat(SpoolTesting.idle(runner, WAIT)).isTrue();

        assertThat(watched.mostInFlight).as("deliveries at once to the smarthost").hasValue(2);
        assertThat(runner.size()).isZero();
    }

    @Test
    void withDirectDeliveryEachRecipientDomainHasItsOwnLimit() throws Exception {
        int port = 0;
        Upstream mx1 = null;
        Upstream mx2 = null;
        for (int attempt = 0; mx2 == null; attempt++) {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
                port = probe.getLocalPort();
            }
            try {
                mx1 = new Upstream(InetAddress.getByName("127.0.0.2"), port);
                mx2 = new Upstream(InetAddress.getByName("127.0.0.3"), port);
            } catch (RuntimeException taken) {
                if (mx1 != null) {
                    mx1.close();
                    mx1 = null;
                }
                if (attempt > 5) {
                    throw taken;
                }
            }
        }
        open.add(mx1);
        open.add(mx2);
        mx1.stallMillisAtData = 300;
        mx2.stallMillisAtData = 300;
        Deliveries direct = new Deliveries(d -> DnsjavaDns.over(ZoneResolver.of("/direct/mx.zone"), Duration.ofSeconds(2)));
        open.add(direct);
        Watched watched = new Watched(direct);
        // src/test/resources/direct/mx.zone: pref.test on mx1 (127.0.0.2), other.test on mx2 (127.0.0.3)
        QueueRunner runner = runner(TestRelay.baseHocon(25, dir) + """
                returnpath.delivery { mode = direct, direct { port = %d, tls = none } }
                returnpath.queue { mode = spool, max-concurrency = 8, destination-concurrency = 1 }
                """.formatted(port), watched);
        QueueId ids = new QueueId();
        for (int i = 0; i < 3; i++) {
            enqueue(runner, ids, "p" + i + "@pref.test");
            enqueue(runner, ids, "o" + i + "@other.test");
        }
        Upstream a = mx1;
        Upstream b = mx2;
        Await.until(WAIT, "six deliveries", () -> a.received.size() == 3 && b.received.size() == 3);
        assertThat(SpoolTesting.idle(runner, WAIT)).isTrue();

        assertThat(watched.mostPerDomain).as("deliveries at once per domain")
                .containsExactlyInAnyOrderEntriesOf(Map.of("pref.test", 1, "other.test", 1));
        assertThat(watched.mostInFlight).as("deliveries at once in all: the two domains side by side").hasValue(2);
        assertThat(runner.size()).isZero();
    }

    @Test
    void eachRouteHasItsOwnLimitAndMayChooseIt() throws Exception {
        Upstream one = slowUpstream();
        Upstream two = slowUpstream();
        Watched watched = new Watched(new Deliveries());
        // route "narrow" says 1 at a time; route "wide" takes queue.destination-concurrency (3)
        QueueRunner runner = runner(TestRelay.baseHocon(25, dir) + """
                returnpath.queue { mode = spool, max-concurrency = 8, destination-concurrency = 3 }
                returnpath.delivery.routes = [
                  { name = "narrow", sender-domains = ["one.example"], destination-concurrency = 1,
                    smarthost { host = "127.0.0.1", port = %d, tls = none } }
                  { name = "wide", sender-domains = ["two.example"],
                    smarthost { host = "127.0.0.1", port = %d, tls = none } }
                ]
                """.formatted(one.port(), two.port()), watched);
        QueueId ids = new QueueId();
        for (int i = 0; i < 3; i++) {
            enqueue(runner, ids, "n" + i + "@narrow.test", "bounce@one.example");
            enqueue(runner, ids, "w" + i + "@wide.test", "bounce@two.example");
        }
        Await.until(WAIT, "six deliveries", () -> one.received.size() == 3 && two.received.size() == 3);
        assertThat(SpoolTesting.idle(runner, WAIT)).isTrue();

        assertThat(one.received).extracting(Upstream.Received::reversePath).containsOnly("bounce@one.example");
        assertThat(two.received).extracting(Upstream.Received::reversePath).containsOnly("bounce@two.example");
        assertThat(watched.mostPerDomain.get("narrow.test")).as("deliveries at once on route narrow").isEqualTo(1);
        assertThat(watched.mostPerDomain.get("wide.test")).as("deliveries at once on route wide").isBetween(2, 3);
        assertThat(runner.size()).isZero();
    }

    @Test
    void aReloadChangesARoutesLimitForTheNextDeliveries() throws Exception {
        Upstream up = slowUpstream();
        Watched watched = new Watched(new Deliveries());
        String route = TestRelay.baseHocon(25, dir) + """
                returnpath.queue { mode = spool, max-concurrency = 8, destination-concurrency = 3 }
                returnpath.delivery.routes = [
                  { name = "shop", sender-domains = ["one.example"], destination-concurrency = %d,
                    smarthost { host = "127.0.0.1", port = %d, tls = none } }
                ]
                """;
        RelayConfig first = ConfigLoader.parseString(route.formatted(1, up.port()), "test.conf");
        Spool spool = Spool.open(first.queue().dir());
        open.add(spool);
        ConfigHolder holder = new ConfigHolder(first);
        QueueRunner runner = new QueueRunner(spool, holder, watched, clock, new QueueId()::next, new Metrics());
        open.add(runner);
        runner.start();
        QueueId ids = new QueueId();
        for (int i = 0; i < 3; i++) {
            enqueue(runner, ids, "a" + i + "@shop.test", "bounce@one.example");
        }
        Await.until(WAIT, "three deliveries", () -> up.received.size() == 3);
        assertThat(SpoolTesting.idle(runner, WAIT)).isTrue();
        assertThat(watched.mostPerDomain.get("shop.test")).as("at once with destination-concurrency = 1").isEqualTo(1);

        holder.swap(ConfigLoader.parseString(route.formatted(3, up.port()), "test.conf"));
        watched.mostPerDomain.clear();
        for (int i = 0; i < 3; i++) {
            enqueue(runner, ids, "b" + i + "@shop.test", "bounce@one.example");
        }
        Await.until(WAIT, "three more deliveries", () -> up.received.size() == 6);
        assertThat(SpoolTesting.idle(runner, WAIT)).isTrue();
        assertThat(watched.mostPerDomain.get("shop.test")).as("at once after the reload to 3").isBetween(2, 3);
    }
}
