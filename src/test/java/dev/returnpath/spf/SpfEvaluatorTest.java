package dev.returnpath.spf;

import static org.assertj.core.api.Assertions.assertThat;

import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The relay's own cases on top of the RFC 7208 suite (zone spf/returnpath.zone). */
class SpfEvaluatorTest {
    private final ZoneResolver resolver = ZoneResolver.of("/spf/returnpath.zone");
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final SpfEvaluator evaluator = new SpfEvaluator(
            DnsjavaDns.over(resolver, Duration.ofSeconds(2)), "relay.test", clock, Duration.ofSeconds(20));

    private SpfOutcome check(String ip, String sender, String helo) throws Exception {
        return evaluator.checkIdentity(InetAddress.getByName(ip), sender, helo);
    }

    @ParameterizedTest(name = "{1} from {0} is {3}")
    @CsvSource(delimiter = '|', textBlock = """
            203.0.113.5        | bounce@example.com           | relay.example.com | pass      | ip4 matches
            ::ffff:203.0.113.5 | bounce@example.com           | relay.example.com | pass      | an IPv4-mapped client is IPv4 (§5)
            2001:db8::25       | bounce@example.com           | relay.example.com | pass      | ip6 prefix matches
            2001:db9::25       | bounce@example.com           | relay.example.com | fail      | outside the ip6 prefix
            203.0.113.5        | <bounce@example.com>         | relay.example.com | pass      | angle brackets are not part of the address
            203.0.113.5        | bounce@EXAMPLE.COM.          | relay.example.com | pass      | case and a trailing dot do not matter
            203.0.113.5        | example.com                  | relay.example.com | pass      | a bare domain is postmaster@domain
            203.0.113.5        | bounce@alias.example.com     | relay.example.com | pass      | a CNAME to the record is followed
            203.0.113.5        | bounce@big.example.com       | relay.example.com | pass      | TXT strings are joined with no separator (§3.3)
            192.0.2.1          | bounce@twovoids.example.com  | relay.example.com | pass      | two void lookups are allowed
            192.0.2.1          | bounce@voids.example.com     | relay.example.com | permerror | the third void lookup, a cached NODATA, is one too many
            192.0.2.1          | bounce@nospf.example.com     | relay.example.com | none      | a domain without SPF
            192.0.2.1          | bounce@nowhere.example.com   | relay.example.com | none      | a domain that does not exist
            192.0.2.1          | bounce@servfail.example.com  | relay.example.com | temperror | SERVFAIL on the record (§4.4)
            192.0.2.1          | bounce@slow.example.com      | relay.example.com | temperror | a timeout on the record (§4.4)
            192.0.2.1          | bounce@viaslow.example.com   | relay.example.com | temperror | a timeout inside include (§5.2)
            192.0.2.1          | bounce@mxslow.example.com    | relay.example.com | temperror | a timeout on an MX host's addresses (§5)
            192.0.2.1          | bounce@ptrerror.example.com  | relay.example.com | fail      | no PTR record: ptr does not match, no error (§5.5)
            192.0.2.1          | bounce@broken.example.com    | relay.example.com | permerror | a misspelt mechanism
            203.0.113.5        | ''                           | web01.example.com | pass      | the null sender checks the HELO identity (§2.4)
            192.0.2.1          | ''                           | web01.example.com | fail      | the null sender checks the HELO identity (§2.4)
            192.0.2.1          | ''                           | ''                | none      | no sender and no HELO name
            192.0.2.1          | bob@local.example.com        | relay.example.com | pass      | %{l1r+} reads the local part
            192.0.2.1          | eve@local.example.com        | relay.example.com | fail      | %{l1r+} reads the local part
            192.0.2.1          | bounce@exämple.com           | relay.example.com | none      | a U-label domain is looked up as A-labels
            """)
    void checkHostGivesTheExpectedResult(String ip, String sender, String helo, String result, String why) throws Exception {
        SpfOutcome outcome = check(ip, sender, helo);

        assertThat(outcome.result().wireName()).as("%s: %s", why, outcome.detail()).isEqualTo(result);
    }

    @Test
    void theExplanationExpandsEveryExplanationMacro() throws Exception {
        SpfOutcome outcome = check("192.0.2.1", "bounce@explained.example.com", "relay.example.com");

        assertThat(outcome.result()).isEqualTo(SpfResult.FAIL);
        assertThat(outcome.explanation()).isEqualTo(
                "192.0.2.1 is not one of explained.example.com's senders (bounce@explained.example.com, relay.example.com, relay.test)");
    }

    @Test
    void theDefaultExplanationNamesSenderAndAddress() throws Exception {
        SpfOutcome outcome = check("192.0.2.1", "bounce@example.com", "relay.example.com");

        assertThat(outcome.explanation()).isEqualTo("domain of bounce@example.com does not designate 192.0.2.1 as permitted sender");
    }

    @Test
    void onlyAFailCarriesAnExplanation() throws Exception {
        assertThat(check("203.0.113.5", "bounce@softfail.example.com", "h.example.com").explanation()).isEmpty();
        assertThat(check("203.0.113.5", "bounce@example.com", "h.example.com").explanation()).isEmpty();
    }

    @Test
    void theOutcomeTtlIsTheSmallestTtlItRestsOn() throws Exception {
        assertThat(check("203.0.113.5", "bounce@example.com", "h.example.com").ttl()).isEqualTo(Duration.ofSeconds(300));
        assertThat(check("203.0.113.5", "bounce@softfail.example.com", "h.example.com").ttl()).isEqualTo(Duration.ofSeconds(600));
        assertThat(check("203.0.113.5", "bounce@nowhere.example.com", "h.example.com").ttl()).isEqualTo(SpfEvaluator.NEGATIVE_TTL);
        assertThat(check("203.0.113.5", "bounce@slow.example.com", "h.example.com").ttl()).isZero();
    }

    @Test
    void theDetailSaysWhichTermMatched() throws Exception {
        assertThat(check("203.0.113.5", "bounce@example.com", "h.example.com").detail())
                .isEqualTo("matched \"ip4:203.0.113.5\" in example.com");
    }

    @Test
    void anEvaluationPastItsTimeLimitIsATemperror() throws Exception {
        SpfEvaluator hurried = new SpfEvaluator(DnsjavaDns.over(resolver, Duration.ofSeconds(2)), "relay.test", clock, Duration.ZERO);

        SpfOutcome outcome = hurried.checkIdentity(InetAddress.getByName("203.0.113.5"), "bounce@example.com", "h.example.com");

        assertThat(outcome.result()).isEqualTo(SpfResult.TEMPERROR);
        assertThat(outcome.detail()).contains("§4.6.4");
    }

    @Test
    void theTypeNinetyNineRecordIsNeverAskedFor() throws Exception {
        check("203.0.113.5", "bounce@example.com", "h.example.com");

        assertThat(resolver.questions()).noneMatch(q -> q.endsWith(" SPF")).contains("example.com. TXT");
    }
}
