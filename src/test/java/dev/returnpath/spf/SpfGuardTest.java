package dev.returnpath.spf;

import static org.assertj.core.api.Assertions.assertThat;

import dev.returnpath.dns.Dns;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The relay's SPF guard: verdicts, advice text, and the TTL cache that keeps DNS out of the per-message path. */
class SpfGuardTest {
    private final ZoneResolver resolver = ZoneResolver.of("/spf/returnpath.zone");
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final AtomicInteger lookups = new AtomicInteger();
    /** Counts the evaluator's questions, which the DNS cache below would hide from the resolver. */
    private final Dns dns = DnsjavaDns.over(resolver, Duration.ofSeconds(2));
    private final Dns counting = (name, type) -> {
        lookups.incrementAndGet();
        return dns.lookup(name, type);
    };
    private final SpfGuard guard = new SpfGuard(
            new SpfEvaluator(counting, "relay.test", clock, Duration.ofSeconds(20)), clock);

    private static InetAddress ip(String text) throws Exception {
        return InetAddress.getByName(text);
    }

    @ParameterizedTest(name = "{0} from {1} gives {2}")
    @CsvSource(delimiter = '|', textBlock = """
            bounce@example.com          | 203.0.113.5  | PASS      | SPF for example.com is pass
            bounce@example.com          | 2001:db8::25 | PASS      | SPF for example.com is pass
            bounce@example.com          | 192.0.2.77   | FAIL      | SPF for example.com is fail for 192.0.2.77; add "ip4:192.0.2.77" to the SPF record of example.com
            bounce@softfail.example.com | 203.0.113.5  | SOFTFAIL  | SPF for softfail.example.com is softfail for 203.0.113.5; add "ip4:203.0.113.5" to the SPF record of softfail.example.com
            bounce@neutral.example.com  | 203.0.113.5  | NEUTRAL   | SPF for neutral.example.com is neutral for 203.0.113.5; add "ip4:203.0.113.5" to the SPF record of neutral.example.com
            bounce@nospf.example.com    | 203.0.113.5  | NONE      | SPF for nospf.example.com is none for 203.0.113.5; publish the TXT record "v=spf1 ip4:203.0.113.5 -all" at nospf.example.com
            bounce@softfail.example.com | 2001:db8::5  | SOFTFAIL  | SPF for softfail.example.com is softfail for 2001:db8::5; add "ip6:2001:db8::5" to the SPF record of softfail.example.com
            bounce@slow.example.com     | 203.0.113.5  | TEMPERROR | SPF for slow.example.com is temperror for 203.0.113.5 (TXT lookup for slow.example.com failed: timeout: TXT slow.example.com.)
            """)
    void theVerdictSaysWhatSpfSaidAndWhatToPublish(String reversePath, String ip, SpfResult result, String text) throws Exception {
        GuardVerdict verdict = guard.check(List.of(ip(ip)), reversePath, "relay.example.com");

        assertThat(verdict.result()).isEqualTo(result);
        assertThat(verdict.text()).isEqualTo(text);
    }

    @Test
    void aPermerrorSaysWhatIsBrokenInTheRecord() throws Exception {
        GuardVerdict verdict = guard.check(List.of(ip("203.0.113.5")), "bounce@broken.example.com", "relay.example.com");

        assertThat(verdict).isInstanceOfSatisfying(GuardVerdict.NotPass.class, v -> {
            assertThat(v.result()).isEqualTo(SpfResult.PERMERROR);
            assertThat(v.advice()).startsWith("SPF for broken.example.com is permerror for 203.0.113.5 (")
                    .contains("includ:foo.example.com")
                    .endsWith("fix the SPF record of broken.example.com and add \"ip4:203.0.113.5\" to it");
        });
    }

    @Test
    void theNullSenderIsCheckedAsTheHeloIdentity() throws Exception {
        GuardVerdict pass = guard.check(List.of(ip("203.0.113.5")), "", "web01.example.com");
        GuardVerdict fail = guard.check(List.of(ip("192.0.2.1")), "<>", "web01.example.com");

        assertThat(pass).isInstanceOf(GuardVerdict.Pass.class);
        assertThat(pass.domain()).isEqualTo("web01.example.com");
        assertThat(fail).isInstanceOfSatisfying(GuardVerdict.NotPass.class,
                v -> assertThat(v.domain()).isEqualTo("web01.example.com"));
    }

    @Test
    void everyOutboundIpMustPassAndTheFirstThatDoesNotIsNamed() throws Exception {
        GuardVerdict verdict = guard.check(List.of(ip("203.0.113.5"), ip("192.0.2.8"), ip("192.0.2.9")),
                "bounce@example.com", "relay.example.com");

        assertThat(verdict).isInstanceOfSatisfying(GuardVerdict.NotPass.class,
                v -> assertThat(v.ip().getHostAddress()).isEqualTo("192.0.2.8"));
    }

    @Test
    void aDefiniteFailOutweighsATemperrorOnAnotherIp() throws Exception {
        GuardVerdict verdict = guard.check(List.of(ip("203.0.113.5"), ip("192.0.2.66")),
                "bounce@mixed.example.com", "relay.example.com");

        assertThat(verdict).isInstanceOfSatisfying(GuardVerdict.NotPass.class, v -> {
            assertThat(v.result()).isEqualTo(SpfResult.FAIL);
            assertThat(v.ip().getHostAddress()).isEqualTo("192.0.2.66");
        });
    }

    @Test
    void aTemperrorWithoutAnyFailIsATempError() throws Exception {
        GuardVerdict verdict = guard.check(List.of(ip("203.0.113.5")), "bounce@mixed.example.com", "relay.example.com");

        assertThat(verdict).isInstanceOfSatisfying(GuardVerdict.TempError.class,
                v -> assertThat(v.text()).startsWith("SPF for mixed.example.com is temperror for 203.0.113.5 ("));
    }

    @Test
    void aCachedResultMakesNoSecondDnsQuery() throws Exception {
        guard.check(List.of(ip("203.0.113.5")), "bounce@example.com", "relay.example.com");
        int queries = resolver.queryCount();
        int asked = lookups.get();

        GuardVerdict again = guard.check(List.of(ip("203.0.113.5")), "bounce@example.com", "relay.example.com");

        assertThat(again).isInstanceOf(GuardVerdict.Pass.class);
        assertThat(queries).as("the first check queried").isPositive();
        assertThat(resolver.queryCount()).as("queries that reached the DNS").isEqualTo(queries);
        assertThat(lookups.get()).as("lookups the evaluator made").isEqualTo(asked);
    }

    @Test
    void theCacheLastsTheRecordTtl() throws Exception {
        guard.check(List.of(ip("203.0.113.5")), "bounce@example.com", "relay.example.com"); // TTL 300 s
        int queries = lookups.get();

        clock.advance(Duration.ofSeconds(299));
        guard.check(List.of(ip("203.0.113.5")), "bounce@example.com", "relay.example.com");
        assertThat(lookups.get()).as("still cached at 299 s").isEqualTo(queries);

        clock.advance(Duration.ofSeconds(2));
        guard.check(List.of(ip("203.0.113.5")), "bounce@example.com", "relay.example.com");
        assertThat(lookups.get()).as("evaluated again after 301 s").isGreaterThan(queries);
    }

    @Test
    void aShortTtlIsCachedForAtLeastOneMinute() throws Exception {
        guard.check(List.of(ip("203.0.113.5")), "bounce@short.example.com", "relay.example.com"); // TTL 10 s
        int queries = lookups.get();

        clock.advance(Duration.ofSeconds(59));
        guard.check(List.of(ip("203.0.113.5")), "bounce@short.example.com", "relay.example.com");
        assertThat(lookups.get()).isEqualTo(queries);

        clock.advance(Duration.ofSeconds(2));
        guard.check(List.of(ip("203.0.113.5")), "bounce@short.example.com", "relay.example.com");
        assertThat(lookups.get()).isGreaterThan(queries);
    }

    @Test
    void aLongTtlIsCachedForAtMostOneHour() throws Exception {
        guard.check(List.of(ip("203.0.113.5")), "bounce@long.example.com", "relay.example.com"); // TTL 1 day
        int queries = lookups.get();

        clock.advance(Duration.ofMinutes(59));
        guard.check(List.of(ip("203.0.113.5")), "bounce@long.example.com", "relay.example.com");
        assertThat(lookups.get()).isEqualTo(queries);

        clock.advance(Duration.ofMinutes(2));
        guard.check(List.of(ip("203.0.113.5")), "bounce@long.example.com", "relay.example.com");
        assertThat(lookups.get()).as("evaluated again after 61 minutes").isGreaterThan(queries);
    }

    @Test
    void aTemperrorIsCachedForTheMinimumOnly() throws Exception {
        guard.check(List.of(ip("203.0.113.5")), "bounce@slow.example.com", "relay.example.com");
        int queries = lookups.get();

        clock.advance(Duration.ofSeconds(30));
        guard.check(List.of(ip("203.0.113.5")), "bounce@slow.example.com", "relay.example.com");
        assertThat(lookups.get()).isEqualTo(queries);

        clock.advance(Duration.ofSeconds(31));
        guard.check(List.of(ip("203.0.113.5")), "bounce@slow.example.com", "relay.example.com");
        assertThat(lookups.get()).isGreaterThan(queries);
    }

    @Test
    void differentSendersOfOneDomainAreCheckedApartBecauseMacrosMayReadTheLocalPart() throws Exception {
        GuardVerdict bob = guard.check(List.of(ip("192.0.2.1")), "bob@local.example.com", "relay.example.com");
        GuardVerdict eve = guard.check(List.of(ip("192.0.2.1")), "eve@local.example.com", "relay.example.com");

        assertThat(bob.result()).isEqualTo(SpfResult.PASS);
        assertThat(eve.result()).isEqualTo(SpfResult.FAIL);
    }

    @Test
    void noOutboundIpsMeansNothingToCheck() {
        GuardVerdict verdict = guard.check(List.of(), "bounce@example.com", "relay.example.com");

        assertThat(verdict).isInstanceOfSatisfying(GuardVerdict.Pass.class, v -> assertThat(v.ips()).isEmpty());
        assertThat(lookups.get()).isZero();
    }
}
