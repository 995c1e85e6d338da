package dev.returnpath.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code rewrite-test} through {@link Main#run}, as an operator runs it: stdout holds only the
 * answer (the JSON is parsed back with Jackson, an independent parser), exit codes are 0, 2
 * and 78.
 */
class RewriteTestCommandTest {
    @TempDir
    Path dir;
    Path conf;

    static final String CONFIG = """
            returnpath {
              hostname = "relay.example.com"
              delivery.smarthost.host = "smtp.example.net"
              domains {
                "example.com" { return-path = "bounce@example.com", from-address = "noreply@example.com" }
                "traced.example" { return-path = "bounce+{hash}-{local}={domain}@traced.example" }
              }
              rewrite.hash-key = "0123456789abcdef-test-key"
              rules = [
                { name = "cron", match { envelope-sender = "root@*.internal" }, keep = true }
                { name = "contact-form", match { client = "10.1.0.0/16" }, from-header = align,
                  from-address = "noreply@example.com", strip-headers = ["X-PHP-Originating-Script"] }
                { name = "blocked", match { header-from = "*@spam.test" }, reject = "go away" }
              ]
            }
            """;

    record Run(int code, String out, String err) {
        JsonNode json() throws Exception {
            return new ObjectMapper().readTree(out);
        }
    }

    @BeforeEach
    void writeConfig() throws Exception {
        conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, CONFIG);
    }

    Run run(String... args) {
        List<String> all = new ArrayList<>(List.of("rewrite-test"));
        if (!List.of(args).contains("--config")) {
            all.addAll(List.of("--config", conf.toString()));
        }
        all.addAll(List.of(args));
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = Main.execute(all.toArray(String[]::new));
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void hostNameSenderIsRewrittenForAListedDomain() throws Exception {
        Run r = run("--mail-from", "apache@web01.internal", "--from", "Shop <noreply@example.com>",
                "--rcpt", "user@gmail.com", "--json");
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        JsonNode j = r.json();
        assertThat(j.get("decision").asText()).isEqualTo("rewrite");
        assertThat(j.get("return-path").asText()).isEqualTo("bounce@example.com");
        assertThat(j.get("from").asText()).isEqualTo("Shop <noreply@example.com>");
        assertThat(j.get("rule").asText()).isEqualTo("domain:example.com");
        assertThat(j.get("reason").asText()).contains("web01.internal is not aligned with From domain example.com");
        assertThat(j.get("mail-from").asText()).isEqualTo("apache@web01.internal");
        assertThat(j.get("not-matched")).extracting(n -> n.get("rule").asText())
                .containsExactly("rule:cron", "rule:contact-form", "rule:blocked");
        assertThat(j.get("not-matched").get(1).get("why").asText()).isEqualTo("client 127.0.0.1 is not in 10.1.0.0/16");
    }

    @ParameterizedTest
    @CsvSource({"'<>'", "''", "' <> '"})
    void theNullSenderIsWrittenAsAngleBracketsAndKept(String nullSender) throws Exception {
        Run r = run("--mail-from", nullSender, "--from", "MAILER-DAEMON@example.com", "--json");
        assertThat(r.code()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("decision").asText()).isEqualTo("keep");
        assertThat(j.get("return-path").asText()).isEqualTo("<>");
        assertThat(j.get("mail-from").asText()).isEqualTo("<>");
        assertThat(j.get("reason").asText()).isEqualTo("the null sender is never rewritten");
    }

    @Test
    void aRejectIsAnAnswerNotAnError() throws Exception {
        Run r = run("--mail-from", "apache@web01.internal", "--from", "visitor@gmail.com", "--json");
        assertThat(r.code()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("decision").asText()).isEqualTo("reject");
        assertThat(j.get("reply").asText()).isEqualTo("550 5.7.1 sender domain gmail.com is not configured");
        assertThat(j.get("rule").asText()).isEqualTo("unknown-domain:reject");
        assertThat(j.get("return-path").isNull()).isTrue();
        assertThat(j.get("not-matched").get(3).get("rule").asText()).isEqualTo("domains");
        Run rule = run("--mail-from", "apache@web01.internal", "--from", "x@spam.test", "--json");
        assertThat(rule.json().get("reply").asText()).isEqualTo("550 5.7.1 go away");
        assertThat(rule.json().get("rule").asText()).isEqualTo("rule:blocked");
    }

    @Test
    void contactFormFromIsAlignedWithItsDisplayNameKeptAndTheVisitorInReplyTo() throws Exception {
        Run r = run("--mail-from", "www-data@web01.internal", "--from", "Zoë Müller <zoe@gmail.com>",
                "--client", "10.1.2.3", "--rcpt", "info@example.com",
                "--header", "X-PHP-Originating-Script: 33:contact.php", "--json");
        assertThat(r.code()).isZero();
        // only ASCII on stdout: the JSON escapes the rest
        assertThat(r.out()).matches("[\\x00-\\x7f]*");
        JsonNode j = r.json();
        assertThat(j.get("decision").asText()).isEqualTo("rewrite");
        assertThat(j.get("return-path").asText()).isEqualTo("bounce@example.com");
        assertThat(j.get("from").asText()).isEqualTo("Zoë Müller <noreply@example.com>");
        assertThat(j.get("reply-to").asText()).isEqualTo("Zoë Müller <zoe@gmail.com>");
        assertThat(j.get("header-from").asText()).isEqualTo("Zoë Müller <zoe@gmail.com>");
        assertThat(j.get("rule").asText()).isEqualTo("rule:contact-form+domain:example.com");
        assertThat(j.get("header-changes")).extracting(JsonNode::asText)
                .contains("removed 1 X-PHP-Originating-Script field");
    }

    @Test
    void anExistingReplyToIsKeptAndSaidSo() throws Exception {
        Run r = run("--mail-from", "www-data@web01.internal", "--from", "=?UTF-8?Q?Zo=C3=AB?= <zoe@gmail.com>",
                "--client", "10.1.2.3", "--header", "Reply-To: desk@example.com", "--json");
        JsonNode j = r.json();
        assertThat(j.get("from").asText()).isEqualTo("=?UTF-8?Q?Zo=C3=AB?= <noreply@example.com>");
        assertThat(j.get("reply-to").isNull()).isTrue();
        assertThat(j.get("header-changes")).extracting(JsonNode::asText)
                .contains("Reply-To left as it is (the message has one)");
    }

    @Test
    void aTemplateShowsItsExpansionAndAFallbackSaysWhy() throws Exception {
        JsonNode ok = run("--mail-from", "apache@web01.internal", "--from", "a@traced.example", "--json").json();
        assertThat(ok.get("return-path").asText()).isEqualTo("bounce+qkeadege-apache=web01.internal@traced.example");
        assertThat(ok.get("warnings")).isEmpty();
        JsonNode fb = run("--mail-from", "a-very-long-local-part-of-forty-chars-xx@web01.internal",
                "--from", "a@traced.example", "--json").json();
        assertThat(fb.get("return-path").asText()).isEqualTo("bounce@traced.example");
        assertThat(fb.get("warnings").get(0).asText()).contains("over 64").contains("using the fallback bounce@traced.example");
    }

    @Test
    void textOutputSaysTheSameInLines() {
        Run r = run("--mail-from", "root@db1.internal", "--from", "cron@example.com");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("decision     keep\n")
                .contains("return-path  <root@db1.internal> (unchanged)\n")
                .contains("rule         rule:cron\n")
                .contains("reason       rule:cron matched: keep the envelope sender\n");
    }

    @Test
    void anInvalidConfigExits78AndNamesFileLineAndKey() throws Exception {
        Files.writeString(conf, CONFIG.replace("{ name = \"cron\", match { envelope-sender = \"root@*.internal\" }",
                "{ name = \"cron\", match { client = \"10.0.0.0/33\" }"));
        Run r = run("--mail-from", "apache@web01.internal", "--from", "a@example.com", "--json");
        assertThat(r.code()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains(conf + ":10: returnpath.rules.0.match.client: prefix length 33 is over 32");
    }

    @Test
    void aMissingConfigExits78() {
        Run r = run("--config", dir.resolve("nope.conf").toString(), "--mail-from", "a@b.example", "--from", "a@example.com");
        assertThat(r.code()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(r.err()).contains("nope.conf: no such file");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            --mail-from | not an address | --from | a@example.com
            --mail-from | a@b.example    | --client | web01
            --mail-from | a@b.example    | --rcpt | nobody
            --mail-from | a@b.example    | --header | no colon here
            """)
    void badInputIsAUsageError(String o1, String v1, String o2, String v2) {
        List<String> args = new ArrayList<>(List.of(o1, v1, o2, v2));
        if (!args.contains("--from")) {
            args.addAll(List.of("--from", "a@example.com"));
        }
        Run r = run(args.toArray(String[]::new));
        assertThat(r.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void mailFromAndFromAreRequired() {
        assertThat(run("--from", "a@example.com").code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(run("--mail-from", "a@b.example").code()).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void showHeadersPrintsTheHeaderSectionThatLeavesWithTheAppsReturnPathRemovedAndOurReceivedOnTop() throws Exception {
        Run r = run("--mail-from", "apache@web01.internal", "--from", "Shop <noreply@example.com>",
                "--rcpt", "user@gmail.com", "--header", "Return-Path: <apache@web01.internal>",
                "--header", "Subject: order", "--show-headers", "--json");
        assertThat(r.code()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("header-changes")).extracting(JsonNode::asText)
                .contains("removed the Return-Path field (the receiving server writes its own)");
        List<String> out = new ArrayList<>();
        j.get("headers-out").forEach(n -> out.add(n.asText()));
        assertThat(out).hasSize(5);
        assertThat(out.get(0)).startsWith("Received: from rewrite-test ([127.0.0.1])").contains("(returnpath) with ESMTP id REWRITETEST")
                .contains("for <user@gmail.com>");
        assertThat(out.subList(1, 3)).containsExactly("From: Shop <noreply@example.com>", "Subject: order");
        // what cleanup adds for a message without them, as it leaves
        assertThat(out.get(3)).startsWith("Date: ");
        assertThat(out.get(4)).matches("Message-ID: <REWRITETEST@[a-z0-9.-]+>");
        assertThat(j.get("header-changes")).extracting(JsonNode::asText)
                .contains("added a Date field (the message had none; RFC 5322 requires one)",
                        "added a Message-ID field (the message had none; Gmail refuses such mail)");
        Run text = run("--mail-from", "apache@web01.internal", "--from", "Shop <noreply@example.com>",
                "--header", "Return-Path: <x@y.example>", "--show-headers");
        assertThat(text.out()).contains("leaves       From: Shop <noreply@example.com>").doesNotContain("leaves       Return-Path");
        assertThat(run("--mail-from", "apache@web01.internal", "--from", "Shop <noreply@example.com>", "--json").json()
                .has("headers-out")).isFalse();
    }

    @Test
    void withRoutesItSaysWhichRouteTheMessageWouldTakeAndWhy() throws Exception {
        Files.writeString(conf, CONFIG.replace("delivery.smarthost.host = \"smtp.example.net\"", """
                delivery {
                  mode = smarthost
                  smarthost.host = "smtp.example.net"
                  routes = [
                    { name = "shop", sender-domains = ["example.com"], smarthost { host = "smtp.mailgun.test", port = 587 } }
                    { name = "news", sender-domains = ["traced.example"], mode = direct }
                  ]
                }
                """));
        Run shop = run("--mail-from", "apache@web01.internal", "--from", "noreply@example.com", "--rcpt", "u@gmail.com");
        assertThat(shop.code()).isZero();
        assertThat(shop.out()).contains("\nroute        shop: smarthost smtp.mailgun.test:587 (sender domain example.com "
                + "is in its sender-domains [example.com])\n");

        JsonNode news = run("--mail-from", "apache@web01.internal", "--from", "noreply@traced.example", "--json").json();
        assertThat(news.get("route").asText()).isEqualTo("news");
        assertThat(news.get("route-via").asText()).isEqualTo("direct to each recipient domain's MX");

        // cron mail is kept: its own sender (web01.internal) chooses, and no route holds it
        JsonNode kept = run("--mail-from", "root@web01.internal", "--from", "root@web01.internal", "--json").json();
        assertThat(kept.get("decision").asText()).isEqualTo("keep");
        assertThat(kept.get("route").asText()).isEqualTo("default");
        assertThat(kept.get("route-via").asText()).isEqualTo("smarthost smtp.example.net:587");
        assertThat(kept.get("route-why").asText()).isEqualTo("no route's sender-domains holds web01.internal");

        JsonNode dsn = run("--mail-from", "<>", "--from", "MAILER-DAEMON@example.com", "--json").json();
        assertThat(dsn.get("route").asText()).isEqualTo("default");
        assertThat(dsn.get("route-why").asText()).isEqualTo("the null sender (a DSN) takes the default route");

        JsonNode reject = run("--mail-from", "apache@web01.internal", "--from", "x@spam.test", "--json").json();
        assertThat(reject.has("route")).as("a rejected message takes no route").isFalse();
    }

    @Test
    void withoutRoutesThereIsNoRouteLine() throws Exception {
        Run r = run("--mail-from", "apache@web01.internal", "--from", "noreply@example.com");
        assertThat(r.code()).isZero();
        assertThat(r.out()).doesNotContain("route ");
        assertThat(run("--mail-from", "apache@web01.internal", "--from", "noreply@example.com", "--json").json().has("route"))
                .isFalse();
    }
}
