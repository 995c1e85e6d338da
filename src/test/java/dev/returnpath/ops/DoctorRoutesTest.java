package dev.returnpath.ops;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.UpstreamProbe;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.ops.Doctor.Check;
import dev.returnpath.ops.Doctor.Status;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.Upstream;
import dev.returnpath.tls.ServerCredentials;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The doctor probes every route: the default smarthost and each route's (connect, STARTTLS with
 * a certificate from a private CA, AUTH), against real servers on loopback; a route's failure
 * names the route and its keys, never the password.
 */
class DoctorRoutesTest {
    @TempDir
    Path dir;
    Upstream fallback;
    Upstream shop;
    Upstream corp;
    Path ca;

    @BeforeEach
    void start() throws Exception {
        TestPki pki = new TestPki(dir);
        TestPki.Pair pair = pki.issue("smarthost", "ec");
        ca = pki.caCert;
        var tls = ServerCredentials.load(pair.cert(), pair.key()).sslContext();
        fallback = new Upstream();
        shop = new Upstream(tls, "shop-user", "shop-pass");
        corp = new Upstream(tls, "corp-user", "corp-pass");
    }

    @AfterEach
    void stop() {
        fallback.close();
        shop.close();
        corp.close();
    }

    List<Check> doctor(String defaultDelivery, String corpPassword, Optional<String> toDomain) throws Exception {
        return doctor(defaultDelivery, corpPassword, toDomain, "");
    }

    List<Check> doctor(String defaultDelivery, String corpPassword, Optional<String> toDomain, String more)
            throws Exception {
        RelayConfig cfg = ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.good.example"
                  domains { "good.example" { return-path = "bounce@good.example" } }
                  %s
                  spf.outbound-ips = ["203.0.113.5"]
                  delivery {
                    %s
                    routes = [
                      { name = "shop", sender-domains = ["shop.good.example"],
                        smarthost { host = "localhost", port = %d, ca-file = "%s", username = "shop-user", password = "shop-pass" } }
                      { name = "corp", sender-domains = ["corp.good.example"],
                        smarthost { host = "localhost", port = %d, ca-file = "%s", username = "corp-user", password = "%s" } }
                      { name = "news", sender-domains = ["news.good.example"], mode = direct }
                    ]
                  }
                }
                """.formatted(more, defaultDelivery, shop.port(), ca, corp.port(), ca, corpPassword), "doctor.conf");
        return new Doctor(cfg, DnsjavaDns.over(ZoneResolver.of("/doctor/doctor.zone"), Duration.ofSeconds(2)),
                UpstreamProbe::probe, toDomain).run();
    }

    static List<String> upstream(List<Check> checks) {
        return checks.stream().filter(c -> c.check().startsWith("upstream."))
                .map(c -> c.status() + " " + c.check() + " " + c.subject()).toList();
    }

    @Test
    void everyRouteIsProbedAfterTheDefault() throws Exception {
        List<Check> checks = doctor("mode = smarthost, smarthost { host = \"127.0.0.1\", port = " + fallback.port()
                + ", tls = none }", "corp-pass", Optional.empty());
        String s = "localhost:" + shop.port() + " (route shop)";
        String c = "localhost:" + corp.port() + " (route corp)";
        assertThat(upstream(checks)).containsExactly(
                "PASS upstream.connect 127.0.0.1:" + fallback.port(),
                "WARN upstream.tls 127.0.0.1:" + fallback.port(),
                "PASS upstream.connect " + s, "PASS upstream.tls " + s, "PASS upstream.auth " + s,
                "PASS upstream.connect " + c, "PASS upstream.tls " + c, "PASS upstream.auth " + c,
                "WARN upstream.connect direct (route news)");
        assertThat(checks).filteredOn(x -> x.subject().equals(s) && x.check().equals("upstream.auth"))
                .singleElement().extracting(Check::found).isEqualTo("accepted AUTH for shop-user");
        assertThat(shop.authenticated).containsExactly("shop-user");
        assertThat(corp.authenticated).containsExactly("corp-user");
    }

    @Test
    void aRouteWhoseSmarthostRefusesItsPasswordFailsWithAFixThatNamesTheRoute() throws Exception {
        List<Check> checks = doctor("mode = direct", "wrong-s3cret", Optional.empty());
        Check auth = checks.stream().filter(x -> x.check().equals("upstream.auth")
                && x.subject().equals("localhost:" + corp.port() + " (route corp)")).findFirst().orElseThrow();
        assertThat(auth.status()).isEqualTo(Status.FAIL);
        assertThat(auth.found()).startsWith("refused AUTH for corp-user");
        assertThat(auth.fix()).isEqualTo("check the username and password (or password-file) of the smarthost of route "
                + "\"corp\" (delivery.routes)");
        assertThat(Doctor.text(checks) + Doctor.json(checks)).doesNotContain("wrong-s3cret").doesNotContain("shop-pass");
        // the default is direct: its check covers the direct route, which gets none of its own
        assertThat(upstream(checks)).contains("WARN upstream.connect direct").doesNotContain("WARN upstream.connect direct (route news)");
        assertThat(corp.authenticated).isEmpty();
    }

    @Test
    void aRouteNoReturnPathTheRelayWritesCanReachIsAWarning() throws Exception {
        // shop.good.example's mail leaves as bounce@shop.good.example: route shop takes it; a
        // From in corp.good.example is rewritten to bounce@good.example (the parent's policy),
        // which route corp does not hold; a rule writes news.good.example's return-path
        List<Check> checks = doctor("mode = direct", "corp-pass", Optional.empty(), """
                domains."shop.good.example" { return-path = "bounce@shop.good.example" }
                rules = [ { name = "news", match { header-from = "*@news.good.example" },
                            return-path = "bounce@news.good.example" } ]
                """);
        assertThat(checks).filteredOn(c -> c.check().equals("route.sender-domains"))
                .extracting(c -> c.subject() + " " + c.status())
                .containsExactly("route shop PASS", "route corp WARN", "route news PASS");
        Check corp = checks.stream().filter(c -> c.subject().equals("route corp")).findFirst().orElseThrow();
        assertThat(corp.found()).isEqualTo("no return-path the relay writes is in corp.good.example (they are in "
                + "good.example, news.good.example, shop.good.example): only mail whose envelope sender is kept takes this route");
        assertThat(corp.fix()).startsWith("routes choose by the return-path's domain, not the From domain");
    }
}
