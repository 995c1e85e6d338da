package dev.returnpath.spf;

import static org.assertj.core.api.Assertions.assertThat;

import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvFileSource;

/**
 * The openspf.org RFC 7208 test suite (pyspf's rfc7208-tests.yml, release 2014.04), one row per
 * case in {@code spf/rfc7208-suite.psv}, each section's DNS data a master file
 * {@code spf/rfc7208-NN-*.zone} served through {@code LookupSession} by a {@link ZoneResolver}.
 *
 * <p>Where the suite accepts two results, the row holds the one this evaluator chose (see
 * {@link SpfEvaluator}): invalid-domain-empty-label, invalid-domain-long and
 * invalid-domain-long-via-macro expect fail (no match, no query); ptr-limit expects neutral (the
 * first ten PTR names in server order); p-macro-multiple expects pass (a validated subdomain of
 * the domain is preferred, §7.3). multispf1 (two identical records) cannot be written as a zone:
 * an RRset holds no duplicates, as the suite itself notes. An explanation of DEFAULT means the
 * evaluator's own default text; for results other than fail the explanation must be empty.
 */
class Rfc7208SuiteTest {

    @ParameterizedTest(name = "[{index}] {1} (§{2}) is {6}")
    @CsvFileSource(resources = "/spf/rfc7208-suite.psv", delimiter = '|', numLinesToSkip = 1, maxCharsPerColumn = 1024)
    void checkHostGivesTheResultTheTestSuiteRequires(String zone, String name, String spec, String ip,
            String sender, String helo, String result, String explanation) throws Exception {
        ZoneResolver resolver = ZoneResolver.of("/spf/rfc7208-" + zone + ".zone");
        SpfEvaluator evaluator = new SpfEvaluator(DnsjavaDns.over(resolver, Duration.ofSeconds(2)));
        InetAddress client = InetAddress.getByName(ip);
        String from = sender == null ? "" : sender;

        SpfOutcome outcome = evaluator.checkIdentity(client, from, helo == null ? "" : helo);

        assertThat(outcome.result().wireName()).as("%s: %s", name, outcome.detail()).isEqualTo(result);
        if (!result.equals("fail")) {
            assertThat(outcome.explanation()).as("explanation of a %s", result).isEmpty();
        } else if ("DEFAULT".equals(explanation)) {
            assertThat(outcome.explanation()).startsWith("domain of ").contains(" does not designate ");
        } else if (explanation != null) {
            assertThat(outcome.explanation()).isEqualTo(explanation);
        } else {
            assertThat(outcome.explanation()).isNotEmpty();
        }
    }
}
