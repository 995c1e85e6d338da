package dev.returnpath.ops;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.UpstreamProbe;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.ops.Doctor.Check;
import dev.returnpath.ops.Doctor.Status;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The doctor against zone files with each broken setup, and real upstreams. */
class DoctorTest {
    Upstream plain;

    @BeforeEach
    void start() {
        plain = new Upstream();
    }

    @AfterEach
    void stop() {
        plain.close();
    }

    static RelayConfig config(String domain, String returnPath, String ips, String hostname, String smarthost) throws Exception {
        return ConfigLoader.parseString("""
                returnpath {
                  hostname = "%s"
                  domains { "%s" { return-path = "%s" } }
                  spf.outbound-ips = [%s]
                  delivery { mode = smarthost, smarthost { %s } }
                }
                """.formatted(hostname, domain, returnPath, ips, smarthost), "doctor.conf");
    }

    List<Check> doctor(RelayConfig cfg) {
        return new Doctor(cfg, DnsjavaDns.over(ZoneResolver.of("/doctor/doctor.zone"), Duration.ofSeconds(2)),
                UpstreamProbe::probe).run();
    }

    String plainSmarthost() {
        return "host = \"127.0.0.1\", port = " + plain.port() + ", tls = none";
    }

    static Check find(List<Check> checks, String check, String subject) {
        return checks.stream().filter(c -> c.check().equals(check) && c.subject().equals(subject)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + check + " " + subject + " in\n" + Doctor.text(checks)));
    }

    @ParameterizedTest(name = "{0}: {2} {3}")
    @CsvSource(delimiter = '|', textBlock = """
            good.example       | good.example 203.0.113.5 | spf.pass     | PASS | pass for 203.0.113.5         |
            nospf.example      | nospf.example            | spf.record   | FAIL | no SPF record                | publish TXT at nospf.example: "v=spf1 ip4:203.0.113.5 -all"
            twospf.example     | twospf.example           | spf.record   | FAIL | 2 SPF records                | merge them into one v=spf1 record
            syntax.example     | syntax.example           | spf.syntax   | FAIL | foo:bar                      | correct the record
            many.example       | many.example             | spf.lookups  | FAIL | 12 DNS-querying terms        | flatten includes
            good.example       | good.example             | spf.lookups  | PASS | 0 of 10                      |
            soft.example       | soft.example 203.0.113.5 | spf.pass     | FAIL | softfail for 203.0.113.5     | add "ip4:203.0.113.5" to the SPF record of soft.example
            good.example       | good.example             | dmarc.record | PASS | p=reject aspf=s adkim=r      |
            nospf.example      | nospf.example            | dmarc.record | WARN | no DMARC record              | publish TXT at _dmarc.nospf.example: "v=DMARC1; p=none
            sub.orgdmarc.example | sub.orgdmarc.example   | dmarc.record | PASS | at _dmarc.orgdmarc.example (organizational domain): p=quarantine |
            """)
    void domainChecks(String domain, String subject, String check, Status status, String found, String fix) throws Exception {
        List<Check> checks = doctor(config(domain, "bounce@" + domain, "\"203.0.113.5\"", "relay.good.example", plainSmarthost()));
        Check c = find(checks, check, subject);
        assertThat(c.status()).isEqualTo(status);
        assertThat(c.found()).contains(found);
        if (fix == null) {
            assertThat(c.fix()).isEmpty();
        } else {
            assertThat(c.fix()).contains(fix);
        }
    }

    @Test
    void returnPathOutsideTheFromDomainIsNotAligned() throws Exception {
        List<Check> checks = doctor(config("good.example", "bounce@soft.example", "\"203.0.113.5\"", "relay.good.example", plainSmarthost()));
        Check c = find(checks, "returnpath.alignment", "good.example");
        assertThat(c.status()).isEqualTo(Status.FAIL);
        assertThat(c.fix()).contains("use a return-path under good.example");
        // SPF is checked where the return-path is
        assertThat(find(checks, "spf.pass", "soft.example 203.0.113.5").status()).isEqualTo(Status.FAIL);
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @CsvSource(delimiter = '|', textBlock = """
            203.0.113.5 | ptr.hostname | PASS | PTR name equals hostname relay.good.example
            203.0.113.6 | ptr.record   | FAIL | no PTR record
            203.0.113.7 | ptr.fcrdns   | FAIL | does not resolve back to 203.0.113.7
            203.0.113.8 | ptr.hostname | WARN | PTR name host8.good.example differs from hostname relay.good.example
            """)
    void ptrChecks(String ip, String check, Status status, String found) throws Exception {
        List<Check> checks = doctor(config("good.example", "bounce@good.example", "\"" + ip + "\"", "relay.good.example", plainSmarthost()));
        Check c = find(checks, check, ip);
        assertThat(c.status()).isEqualTo(status);
        assertThat(c.found()).contains(found);
    }

    @Test
    void templatesAreCheckedWithTheirFallbackAndRuleReturnPathsToo() throws Exception {
        RelayConfig cfg = ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.good.example"
                  domains { "good.example" { return-path = "b-{local}@good.example" } }
                  rules = [ { name = "shop", match { envelope-sender = "*@shop.internal" }, return-path = "bounce@soft.example" } ]
                  spf.outbound-ips = ["203.0.113.5"]
                  delivery { mode = smarthost, smarthost { %s } }
                }
                """.formatted(plainSmarthost()), "doctor.conf");
        List<Check> checks = doctor(cfg);
        assertThat(find(checks, "spf.pass", "good.example 203.0.113.5").status()).isEqualTo(Status.PASS);
        assertThat(find(checks, "spf.pass", "soft.example 203.0.113.5").status()).isEqualTo(Status.FAIL);
    }

    @ParameterizedTest(name = "selector {0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            sel1 | PASS | key published (k=rsa
            old  | WARN | the key is revoked
            none | WARN | no DKIM key at none._domainkey.good.example
            """)
    void dkimSelectorKeyIsCheckedAsAWarningAtMost(String selector, Status status, String found) throws Exception {
        RelayConfig cfg = ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.good.example"
                  domains { "good.example" { return-path = "bounce@good.example", dkim-selector = "%s" } }
                  spf.outbound-ips = ["203.0.113.5"]
                  delivery { mode = smarthost, smarthost { %s } }
                }
                """.formatted(selector, plainSmarthost()), "doctor.conf");
        Check c = find(doctor(cfg), "dkim.key", selector + "._domainkey.good.example");
        assertThat(c.status()).isEqualTo(status);
        assertThat(c.found()).contains(found);
    }

    @Test
    void aHostnameThatIsNotAnFqdnFails() throws Exception {
        List<Check> checks = doctor(config("good.example", "bounce@good.example", "\"203.0.113.5\"", "localhost", plainSmarthost()));
        assertThat(find(checks, "hostname.fqdn", "localhost").status()).isEqualTo(Status.FAIL);
        assertThat(Doctor.worst(checks)).isEqualTo(Status.FAIL);
    }

    @Test
    void aHealthySetupPassesWithOnlyThePlaintextWarning() throws Exception {
        List<Check> checks = doctor(config("good.example", "bounce@good.example", "\"203.0.113.5\"", "relay.good.example", plainSmarthost()));
        assertThat(checks).filteredOn(c -> c.status() != Status.PASS)
                .extracting(Check::check).containsExactly("upstream.tls");
        assertThat(find(checks, "upstream.connect", "127.0.0.1:" + plain.port()).status()).isEqualTo(Status.PASS);
        String json = Doctor.json(checks);
        assertThat(json).startsWith("{\"checks\":[{\"check\":").contains("\"status\":\"WARN\"}");
    }

    @Test
    void upstreamWithoutStarttlsFails() throws Exception {
        List<Check> checks = doctor(config("good.example", "bounce@good.example", "\"203.0.113.5\"", "relay.good.example",
                "host = \"localhost\", port = " + plain.port() + ", tls = starttls"));
        Check c = find(checks, "upstream.tls", "localhost:" + plain.port());
        assertThat(c.status()).isEqualTo(Status.FAIL);
        assertThat(c.found()).contains("does not offer STARTTLS");
    }

    @Test
    void upstreamWithABadCertificateFails() throws Exception {
        try (Upstream tls = new Upstream("/tls/other.p12", false, null, null)) {
            List<Check> checks = doctor(config("good.example", "bounce@good.example", "\"203.0.113.5\"", "relay.good.example",
                    "host = \"localhost\", port = " + tls.port() + ", tls = starttls"));
            Check c = find(checks, "upstream.tls", "localhost:" + tls.port());
            assertThat(c.status()).isEqualTo(Status.FAIL);
            assertThat(c.found()).contains("STARTTLS failed");
            assertThat(tls.received).isEmpty();
        }
    }

    @Test
    void upstreamWithFailingAuthFailsAndSendsNoMail() throws Exception {
        String ca = Path.of(getClass().getResource("/tls/localhost.pem").toURI()).toString();
        try (Upstream tls = new Upstream("/tls/localhost.p12", false, "app", "right")) {
            String sm = "host = \"localhost\", port = " + tls.port() + ", tls = starttls, ca-file = \"" + ca
                    + "\", username = \"app\", password = \"wrong\"";
            List<Check> checks = doctor(config("good.example", "bounce@good.example", "\"203.0.113.5\"", "relay.good.example", sm));
            assertThat(find(checks, "upstream.tls", "localhost:" + tls.port()).status()).isEqualTo(Status.PASS);
            Check auth = find(checks, "upstream.auth", "localhost:" + tls.port());
            assertThat(auth.status()).isEqualTo(Status.FAIL);
            assertThat(auth.found()).contains("refused AUTH for app").doesNotContain("wrong");
            assertThat(tls.received).isEmpty();
        }
    }
}
