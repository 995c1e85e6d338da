package dev.returnpath.inbound;

import dev.returnpath.config.ConfigWatcher;
import dev.returnpath.config.ConfigWatcher.Outcome;
import dev.returnpath.delivery.Deliveries;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.queue.SpoolTesting;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import dev.returnpath.tls.ServerCredentials;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SSLContext;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code delivery.routes} under a running relay, over real sockets: two smarthosts on loopback
 * that require STARTTLS (a certificate from a private CA made in the test) and then AUTH PLAIN,
 * each with its own account; the default smarthost (plain); and an MX host for a direct route
 * (src/test/resources/direct/mx.zone: pref.test on 127.0.0.2). The sender domain that leaves
 * (the rewritten envelope sender) chooses the route, in passthrough and in spool mode.
 */
class RoutesEndToEndTest {
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    SSLContext tls;
    Path ca;
    Upstream shop;
    Upstream corp;
    Upstream fallback;
    Upstream mx;
    int mxPort;
    TestRelay relay;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void servers() throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        TestPki.Pair pair = pki.issue("smarthost", "ec");
        ca = pki.caCert;
        tls = ServerCredentials.load(pair.cert(), pair.key()).sslContext();
        shop = keep(new Upstream(tls, "shop-user", "shop-pass"));
        corp = keep(new Upstream(tls, "corp-user", "corp-pass"));
        fallback = keep(new Upstream());
        for (int attempt = 0; mx == null; attempt++) {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
                mxPort = probe.getLocalPort();
            }
            try {
                mx = keep(new Upstream(InetAddress.getByName("127.0.0.2"), mxPort));
            } catch (RuntimeException taken) {
                if (attempt > 5) {
                    throw taken;
                }
            }
        }
        Files.writeString(dir.resolve("shop.password"), "shop-pass\n");
    }

    <T extends AutoCloseable> T keep(T c) {
        open.add(c);
        return c;
    }

    @AfterEach
    void stop() throws Exception {
        if (relay != null) {
            relay.close();
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** Over the base: the From domains and their return-paths, and the routes; {@code extra} after them. */
    String config(String extra) {
        return """
                returnpath.domains {
                  "shop.example.org" { return-path = "bounce@shop.example.org" }
                  "corp.example.net" { return-path = "bounce@corp.example.net" }
                  "news.example.com" { return-path = "bounce@news.example.com" }
                }
                returnpath.delivery.direct { port = %d, tls = none }
                returnpath.delivery.routes = [
                  { name = "shop", sender-domains = ["shop.example.org"],
                    smarthost { host = "localhost", port = %d, tls = starttls, ca-file = "%s",
                                username = "shop-user", password-file = "%s" } }
                  { name = "corp", sender-domains = ["example.net"],
                    smarthost { host = "localhost", port = %d, tls = starttls, ca-file = "%s",
                                username = "corp-user", password = "corp-pass" } }
                  { name = "news", sender-domains = ["news.example.com"], mode = direct }
                ]
                %s
                """.formatted(mxPort, shop.port(), ca, dir.resolve("shop.password"), corp.port(), ca, extra);
    }

    void start(String hocon) throws Exception {
        Deliveries deliveries = new Deliveries(d -> DnsjavaDns.over(ZoneResolver.of("/direct/mx.zone"), Duration.ofSeconds(2)));
        relay = new TestRelay(fallback.port(), dir.resolve("spool"), hocon,
                dev.returnpath.cleanup.SpfGuards.overDnsjava(Clock.systemUTC()), new MutableClock(), deliveries);
    }

    String send(String from, String rcpt) throws Exception {
        try (SmtpClient c = relay.client()) {
            return c.send("apache@web01.internal", List.of(rcpt),
                    ("From: " + from + "\r\nSubject: route\r\n\r\nhello\r\n").getBytes());
        }
    }

    @ParameterizedTest(name = "queue.mode = {0}")
    @ValueSource(strings = {"passthrough", "spool"})
    void eachSenderDomainLeavesThroughItsOwnRouteWithItsOwnCredentials(String mode) throws Exception {
        start(config("returnpath.queue.mode = " + mode));
        try (LogCapture mail = new LogCapture("returnpath.mail")) {
            assertThat(send("noreply@shop.example.org", "a@gmail.test")).startsWith("250 2.0.0");
            assertThat(send("noreply@corp.example.net", "b@gmail.test")).startsWith("250 2.0.0"); // a parent domain
            assertThat(send("noreply@example.com", "c@gmail.test")).startsWith("250 2.0.0");      // no route: default
            assertThat(send("noreply@news.example.com", "d@pref.test")).startsWith("250 2.0.0");  // direct route
            Await.until(WAIT, "four deliveries", () -> shop.received.size() + corp.received.size()
                    + fallback.received.size() + mx.received.size() == 4);
            if (mode.equals("spool")) {
                assertThat(SpoolTesting.idle(relay.queue, WAIT)).isTrue();
            }

            assertThat(shop.received).singleElement().satisfies(r -> {
                assertThat(r.reversePath()).isEqualTo("bounce@shop.example.org");
                assertThat(r.forwardPaths()).containsExactly("a@gmail.test");
            });
            assertThat(shop.users).containsExactly("shop-user");
            assertThat(shop.tlsUsed).containsExactly(true);
            assertThat(corp.received).singleElement().satisfies(r -> {
                assertThat(r.reversePath()).isEqualTo("bounce@corp.example.net");
                assertThat(r.forwardPaths()).containsExactly("b@gmail.test");
            });
            assertThat(corp.users).containsExactly("corp-user");
            assertThat(corp.tlsUsed).containsExactly(true);
            assertThat(fallback.received).singleElement().extracting(Upstream.Received::reversePath)
                    .isEqualTo("bounce@example.com");
            assertThat(mx.received).singleElement().extracting(Upstream.Received::reversePath)
                    .isEqualTo("bounce@news.example.com");

            // each recipient line names its route, the default one included
            assertThat(mail.lines()).filteredOn(l -> l.contains(" status=sent "))
                    .extracting(l -> l.replaceAll(".* to=<([^>]+)> route=(\\S+) relay=(\\S+) .*", "$1 $2 $3"))
                    .containsExactlyInAnyOrder(
                            "a@gmail.test shop localhost[127.0.0.1]:" + shop.port(),
                            "b@gmail.test corp localhost[127.0.0.1]:" + corp.port(),
                            "c@gmail.test default 127.0.0.1[127.0.0.1]:" + fallback.port(),
                            "d@pref.test news mx1.test[127.0.0.2]:" + mxPort);
        }
    }

    @Test
    void aDsnFromTheNullSenderTakesTheDefaultRoute() throws Exception {
        start(config(""));
        try (SmtpClient c = relay.client()) {
            assertThat(c.send("", List.of("bounce@shop.example.org"),
                    "From: MAILER-DAEMON@shop.example.org\r\nSubject: failure\r\n\r\nreport\r\n".getBytes()))
                    .startsWith("250 2.0.0");
        }
        assertThat(fallback.received).singleElement().extracting(Upstream.Received::reversePath).isEqualTo("");
        assertThat(shop.received).isEmpty();
    }

    @Test
    void aWrongPasswordFailsOnlyItsOwnRouteAndIsNeverEchoed() throws Exception {
        Files.writeString(dir.resolve("shop.password"), "not-the-password\n");
        start(config(""));
        String r = send("noreply@shop.example.org", "a@gmail.test");
        assertThat(r).startsWith("451 4.7.8 authentication with localhost:" + shop.port()).doesNotContain("not-the-password");
        assertThat(send("noreply@corp.example.net", "b@gmail.test")).startsWith("250 2.0.0");
        assertThat(shop.received).isEmpty();
        assertThat(corp.users).containsExactly("corp-user");
    }

    @Test
    void twoRoutesToTheSameSmarthostKeepPoolsOfTheirOwn() throws Exception {
        // both routes use the one server with the same account: still a connection each,
        // each reused by its own route's next message
        String same = "smarthost { host = \"localhost\", port = %d, tls = starttls, ca-file = \"%s\", "
                + "username = \"corp-user\", password = \"corp-pass\" }";
        start("""
                returnpath.domains {
                  "shop.example.org" { return-path = "bounce@shop.example.org" }
                  "corp.example.net" { return-path = "bounce@corp.example.net" }
                }
                returnpath.delivery.routes = [
                  { name = "one", sender-domains = ["shop.example.org"], %s }
                  { name = "two", sender-domains = ["corp.example.net"], %s }
                ]
                """.formatted(same.formatted(corp.port(), ca), same.formatted(corp.port(), ca)));
        for (int i = 0; i < 2; i++) {
            assertThat(send("noreply@shop.example.org", "a@gmail.test")).startsWith("250 2.0.0");
            assertThat(send("noreply@corp.example.net", "b@gmail.test")).startsWith("250 2.0.0");
        }
        assertThat(corp.received).extracting(Upstream.Received::reversePath).containsExactly(
                "bounce@shop.example.org", "bounce@corp.example.net", "bounce@shop.example.org", "bounce@corp.example.net");
        List<String> clients = corp.clients;
        assertThat(clients.get(0)).as("route one's second message on route one's connection").isEqualTo(clients.get(2));
        assertThat(clients.get(1)).as("route two's second message on route two's connection").isEqualTo(clients.get(3));
        assertThat(clients.get(0)).as("the two routes do not share a connection").isNotEqualTo(clients.get(1));
    }

    @Test
    void aReloadThatAddsARouteSendsTheNextMessageThroughIt() throws Exception {
        Path conf = dir.resolve("returnpath.conf");
        Files.createDirectories(dir.resolve("spool"));
        String base = TestRelay.baseHocon(fallback.port(), dir.resolve("spool"));
        String noRoutes = base + config("").replaceAll("(?s)returnpath.delivery.routes = \\[.*?\n\\]\n", "");
        assertThat(noRoutes).doesNotContain("routes");
        Files.writeString(conf, noRoutes);
        relay = TestRelay.fromFile(conf);
        ConfigWatcher watcher = new ConfigWatcher(conf, relay.holder, Optional.of(ConfigWatcher.digest(conf)));
        try (LogCapture mail = new LogCapture("returnpath.mail")) {
            assertThat(send("noreply@shop.example.org", "a@gmail.test")).startsWith("250 2.0.0");
            assertThat(fallback.received).hasSize(1);

            Path tmp = dir.resolve("returnpath.conf.tmp");
            Files.writeString(tmp, base + config(""));
            Files.move(tmp, conf, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(watcher.poll()).isInstanceOf(Outcome.Settling.class);
            Outcome o = watcher.poll();
            assertThat(o).isInstanceOf(Outcome.Reloaded.class);
            assertThat(((Outcome.Reloaded) o).diff().changed()).containsExactly("delivery.routes (+corp +news +shop)");

            assertThat(send("noreply@shop.example.org", "a@gmail.test")).startsWith("250 2.0.0");
            assertThat(shop.received).hasSize(1);
            assertThat(shop.users).containsExactly("shop-user");
            assertThat(fallback.received).hasSize(1);
            assertThat(mail.lines()).filteredOn(l -> l.contains(" status=sent "))
                    .extracting(l -> l.contains(" route=shop relay=localhost[127.0.0.1]:" + shop.port() + " "))
                    .containsExactly(false, true);
        }
    }
}
