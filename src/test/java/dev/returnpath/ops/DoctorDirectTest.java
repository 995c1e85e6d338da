package dev.returnpath.ops;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.UpstreamProbe;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.ops.Doctor.Check;
import dev.returnpath.ops.Doctor.Status;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** doctor --to-domain in direct mode: the MX of a test domain, on loopback SMTP servers. */
class DoctorDirectTest {

    static List<Check> doctor(int port, String toDomain) throws Exception {
        RelayConfig cfg = ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.good.example"
                  domains { "good.example" { return-path = "bounce@good.example" } }
                  delivery { mode = direct, direct { port = %d, tls = opportunistic }, connect-timeout = 1s }
                }
                """.formatted(port), "doctor.conf");
        return new Doctor(cfg, DnsjavaDns.over(ZoneResolver.of("/direct/mx.zone"), Duration.ofSeconds(2)),
                UpstreamProbe::probe, Optional.ofNullable(toDomain)).run();
    }

    static Check find(List<Check> checks, String check) {
        return checks.stream().filter(c -> c.check().equals(check)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + check + " in\n" + Doctor.text(checks)));
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.3"))) {
            return s.getLocalPort();
        }
    }

    @Test
    void theMxOfTheTestDomainIsReachedAfterADeadPreferredOne() throws Exception {
        int port = freePort();
        try (Upstream mx2 = new Upstream(InetAddress.getByName("127.0.0.3"), port)) {
            List<Check> checks = doctor(port, "fallback.test");
            Check connect = find(checks, "upstream.connect");
            assertThat(connect.status()).isEqualTo(Status.PASS);
            assertThat(connect.found()).contains("mx2.test[127.0.0.3]:" + port + " accepted EHLO");
            assertThat(connect.subject()).isEqualTo("MX of fallback.test");
            // the test server offers no STARTTLS: a warning with opportunistic TLS, not a failure
            assertThat(find(checks, "upstream.tls").status()).isEqualTo(Status.WARN);
            assertThat(mx2.received).isEmpty();
        }
    }

    @Test
    void aNullMxDomainFails() throws Exception {
        Check c = find(doctor(freePort(), "nullmx.test"), "upstream.connect");
        assertThat(c.status()).isEqualTo(Status.FAIL);
        assertThat(c.found()).contains("5.1.10");
    }

    /** Only a connection that failed is about the outgoing port. */
    @ParameterizedTest(name = "{0}: the fix says \"{1}\"")
    @CsvSource(delimiter = '|', textBlock = """
            nullmx.test   | publishes a null MX (RFC 7505)  | port
            nowhere.test  | does not exist in DNS           | port
            dead.test     | check that outgoing port PORT is open from here (delivery.direct.port) | null MX
            """)
    void theFixOfAFailedDirectProbeNamesItsCause(String domain, String fix, String notInFix) throws Exception {
        int port = freePort();
        Check c = find(doctor(port, domain), "upstream.connect");
        assertThat(c.status()).isEqualTo(Status.FAIL);
        assertThat(c.fix()).contains(fix.replace("PORT", String.valueOf(port))).doesNotContain(notInFix);
    }

    @Test
    void withoutToDomainTheUpstreamIsNotCheckedAndTheFixSaysHow() throws Exception {
        Check c = find(doctor(freePort(), null), "upstream.connect");
        assertThat(c.status()).isEqualTo(Status.WARN);
        assertThat(c.fix()).contains("--to-domain");
    }
}
