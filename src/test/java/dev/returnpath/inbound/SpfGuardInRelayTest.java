package dev.returnpath.inbound;

import dev.returnpath.cleanup.SpfGuards;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The SPF guard inside the relay, for each spf.on-fail value and for temperror. */
class SpfGuardInRelayTest {
    @TempDir
    Path spool;
    Upstream upstream;
    ZoneResolver zones;
    TestRelay relay;

    static final String DOMAINS = """
            returnpath.domains {
              "soft.example" { return-path = "bounce@soft.example" }
              "broken.example" { return-path = "bounce@broken.example" }
            }
            returnpath.spf.outbound-ips = ["203.0.113.5"]
            """;

    @BeforeEach
    void start() {
        upstream = new Upstream();
        zones = ZoneResolver.of("/relay/guard.zone");
    }

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        upstream.close();
    }

    void relay(String onFail) throws Exception {
        SpfGuards guards = new SpfGuards(d -> DnsjavaDns.over(zones, Duration.ofSeconds(2)), Clock.systemUTC());
        relay = new TestRelay(upstream.port(), spool, DOMAINS + "returnpath.spf.on-fail = " + onFail, guards);
    }

    String send(String reversePath, String from) throws Exception {
        try (SmtpClient c = relay.client()) {
            return c.send(reversePath, List.of("user@gmail.test"),
                    ("From: " + from + "\r\nSubject: spf\r\n\r\nbody\r\n").getBytes());
        }
    }

    @Test
    void passingSpfRelaysAndTheCacheSavesTheSecondLookup() throws Exception {
        relay("tempfail");
        assertThat(send("apache@web01.internal", "n@example.com")).startsWith("250 2.0.0");
        int queries = zones.queryCount();
        assertThat(send("apache@web01.internal", "n@example.com")).startsWith("250 2.0.0");
        assertThat(zones.queryCount()).as("no DNS query for the second message").isEqualTo(queries);
        assertThat(upstream.received).hasSize(2);
    }

    @ParameterizedTest(name = "on-fail = {0}")
    @CsvSource(delimiter = '|', textBlock = """
            tempfail | 451 4.7.26 SPF for soft.example is softfail for 203.0.113.5; add "ip4:203.0.113.5" to the SPF record of soft.example
            reject   | 550 5.7.26 SPF for soft.example is softfail for 203.0.113.5; add "ip4:203.0.113.5" to the SPF record of soft.example
            warn     | 250 2.0.0 Ok: relayed as
            off      | 250 2.0.0 Ok: relayed as
            """)
    void nonPassingSpfFollowsOnFail(String onFail, String expected) throws Exception {
        relay(onFail);
        assertThat(send("apache@web01.internal", "n@soft.example")).startsWith(expected);
        assertThat(upstream.received).hasSize(expected.startsWith("250") ? 1 : 0);
        if (onFail.equals("off")) {
            assertThat(zones.queryCount()).as("off makes no DNS query").isZero();
        }
    }

    @Test
    void temperrorIsAlways451WithEnhancedCode443() throws Exception {
        relay("warn");
        assertThat(send("apache@web01.internal", "n@broken.example")).startsWith("451 4.4.3 SPF for broken.example is temperror");
        assertThat(upstream.received).isEmpty();
    }

    @Test
    void nullSenderIsCheckedAtTheHeloIdentity() throws Exception {
        relay("reject");
        // relay.test (the relay's hostname) authorises 203.0.113.5
        assertThat(send("", "MAILER-DAEMON@soft.example")).startsWith("250 2.0.0");
        assertThat(zones.questions()).anyMatch(q -> q.startsWith("relay.test."));
    }
}
