package dev.returnpath.spf;

import static org.assertj.core.api.Assertions.assertThat;

import dev.returnpath.cli.CheckSpfCommand;
import dev.returnpath.dns.UdpZoneServer;
import dev.returnpath.dns.ZoneAnswers;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code check-spf} end to end, against a DNS server on loopback UDP. Lives here: it tests the SPF contract. */
class CheckSpfCommandTest {
    private static UdpZoneServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = UdpZoneServer.start(List.of(ZoneAnswers.rootZone("/spf/returnpath.zone")), 0);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new CheckSpfCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--dns-server", server.address(), "--dns-timeout", "500ms"));
        int exit = cli.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void aSingleQueryPrintsResultTabExplanation() {
        Run pass = run("--ip", "203.0.113.5", "--sender", "bounce@example.com", "--helo", "relay.example.com");
        Run fail = run("--ip", "192.0.2.1", "--sender", "bounce@example.com");

        assertThat(pass.exit()).isZero();
        assertThat(pass.out()).isEqualTo("pass\t\n");
        assertThat(fail.exit()).as("a fail is an answer, not an error").isZero();
        assertThat(fail.out()).isEqualTo("fail\tdomain of bounce@example.com does not designate 192.0.2.1 as permitted sender\n");
    }

    @Test
    void jsonCarriesResultExplanationAndDetail() {
        Run run = run("--ip", "192.0.2.1", "--sender", "bounce@explained.example.com", "--helo", "relay.example.com", "--json");

        assertThat(run.exit()).isZero();
        assertThat(run.out()).startsWith("{\"result\":\"fail\",\"explanation\":\"192.0.2.1 is not one of explained.example.com's senders")
                .contains("\"domain\":\"explained.example.com\"", "\"detail\":\"matched \\\"-all\\\" in explained.example.com\"")
                .endsWith("}\n");
    }

    @Test
    void theNullSenderChecksTheHeloIdentity() {
        Run run = run("--ip", "203.0.113.5", "--sender", "", "--helo", "web01.example.com");

        assertThat(run.out()).isEqualTo("pass\t\n");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            no arguments at all                  | ''
            an IP without a sender               | --ip 192.0.2.1
            a name where an IP belongs           | --ip mail.example.com --sender a@example.com
            the null sender without a HELO name  | --ip 192.0.2.1 --sender <>
            batch mixed with a single query      | --batch - --ip 192.0.2.1
            a duration without a unit            | --ip 192.0.2.1 --sender a@example.com --dns-timeout 5
            an unknown option                    | --ip 192.0.2.1 --sender a@example.com --verbose
            """)
    void usageErrorsExitWithTwoAndPrintNothingOnStdout(String why, String args) {
        String[] split = args.isBlank() ? new String[0] : args.split(" ");
        Run run = run(split);

        assertThat(run.exit()).as(why).isEqualTo(2);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).isNotEmpty();
    }

    @Test
    void aMissingBatchFileIsAUsageError(@TempDir Path dir) {
        Run run = run("--batch", dir.resolve("absent.tsv").toString());

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("no such file");
    }

    @Test
    void aBatchAnswersEveryLineInInputOrder(@TempDir Path dir) throws Exception {
        String[][] cases = {
            {"203.0.113.5\tbounce@example.com\trelay.example.com", "pass\t"},
            {"192.0.2.1\tbounce@softfail.example.com\trelay.example.com", "softfail\t"},
            {"192.0.2.1\tbounce@slow.example.com\trelay.example.com", "temperror\t"},
            {"192.0.2.1\t\tweb01.example.com", "fail\tdomain of postmaster@web01.example.com does not designate 192.0.2.1 as permitted sender"},
            {"2001:db8::1\tbounce@example.com\t", "pass\t"},
            {"not-an-ip\tbounce@example.com\trelay.example.com", "permerror\t"},
            {"", "permerror\t"},
            {"192.0.2.1\tbounce@nospf.example.com", "none\t"},
            {"192.0.2.1\tbounce@broken.example.com\trelay.example.com\textra", "permerror\t"},
        };
        StringBuilder input = new StringBuilder();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String[] c = cases[i % cases.length];
            input.append(c[0]).append(i % 7 == 0 ? "\r\n" : "\n");
            expected.add(c[1]);
        }
        Path file = dir.resolve("batch.tsv");
        Files.writeString(file, input);

        Run run = run("--batch", file.toString());

        assertThat(run.exit()).isZero();
        assertThat(run.out().split("\n", -1)).hasSize(301).endsWith("");
        assertThat(List.of(run.out().split("\n"))).containsExactlyElementsOf(expected);
        assertThat(run.err()).contains("batch line 6: \"not-an-ip\" is not an IPv4 or IPv6 address")
                .contains("batch line 7: expected IP<TAB>SENDER<TAB>HELO");
    }

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource(delimiter = '|', textBlock = """
            500ms | PT0.5S
            2s    | PT2S
            1m    | PT1M
            1h    | PT1H
            PT3S  | PT3S
            """)
    void durationsAreWrittenWithAUnit(String text, String iso) {
        assertThat(new CheckSpfCommand.DurationConverter().convert(text)).isEqualTo(Duration.parse(iso));
    }
}
