package dev.returnpath.rewrite;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.HashKey;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.message.HeaderBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rewrite policy as a table: envelope sender, From header, client, recipients, the
 * unknown-domain policy, and what comes out: the decision, the return-path (or the reply), and
 * the rule that decided.
 */
class RewriterTest {

    static final String KEY = "0123456789abcdef-test-key";

    static RelayConfig config(String unknownDomain) throws Exception {
        return ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.example.com"
                  delivery.smarthost.host = "smtp.example.net"
                  domains {
                    "example.com" { return-path = "bounce@example.com", from-address = "noreply@example.com" }
                    "shop.example.org" { return-path = "bounces@shop.example.org", alignment = strict }
                    "forced.example" { return-path = "rp@forced.example", force = true }
                    "example.co.uk" { return-path = "bounce@example.co.uk" }
                    "bücher.example" { return-path = "bounce@xn--bcher-kva.example" }
                    "traced.example" { return-path = "bounce+{hash}-{local}={domain}@traced.example" }
                    "verp.example" { return-path = "{local}={domain}@verp.example", fallback = "bounces@verp.example" }
                  }
                  rewrite { unknown-domain = %s, default-domain = "example.com", hash-key = "%s" }
                  rules = [
                    { name = "blocked-app", match { envelope-sender = "spam*@*" }, reject = "this application may not send mail" }
                    { name = "app-bounces", match { envelope-sender = "<>", header-from = "*@*.internal" }, keep = true }
                    { name = "cron", match { envelope-sender = "root@*.internal", recipient-domain = ["ops.example.com", "*.ops.example.com"] }, keep = true }
                    { name = "legacy-net", match { client = "10.9.0.0/16" }, return-path = "legacy@example.com",
                      strip-headers = ["X-PHP-Originating-Script", "Received"] }
                    { name = "contact-form", match { client = ["10.1.0.0/16", "fd00::/8"] }, from-header = align,
                      from-address = "noreply@example.com" }
                    { name = "newsletter", match { header-from = "news@example.com" }, return-path = "bounce+{hash}@example.com" }
                    { name = "deferred", match { header-from = "*@later.example.com" }, reject = "451 4.7.1 try again tomorrow" }
                  ]
                }
                """.formatted(unknownDomain, KEY), "test.conf");
    }

    @ParameterizedTest(name = "[{index}] {0} / From: {1} / {2} / {3} / {4} -> {5} {6}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            # envelope sender       | From header                              | client     | recipients                 | unknown | decision | return-path or reply                     | rule
            # --- the domain map
            apache@web01.internal   | noreply@example.com                      | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | "Contact Form" <noreply@example.com>     | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            root@localhost          | noreply@example.com                      | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | noreply@mail.example.com                 | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | NoReply@EXAMPLE.COM                      | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            ''                      | MAILER-DAEMON@example.com                | 127.0.0.1  | user@gmail.test            | reject  | keep     | ''                                       | domain:example.com
            bounces@example.com     | noreply@example.com                      | 127.0.0.1  | user@gmail.test            | reject  | keep     | bounces@example.com                      | domain:example.com
            bounces@lists.example.com | noreply@example.com                    | 127.0.0.1  | user@gmail.test            | reject  | keep     | bounces@lists.example.com                | domain:example.com
            bounce@example.com      | noreply@example.com                      | 127.0.0.1  | user@gmail.test            | reject  | keep     | bounce@example.com                       | domain:example.com
            bounces@other.test      | noreply@example.com                      | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            bounces@example.org     | shop@shop.example.org                    | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounces@shop.example.org                 | domain:shop.example.org
            x@shop.example.org      | shop@shop.example.org                    | 127.0.0.1  | user@gmail.test            | reject  | keep     | x@shop.example.org                       | domain:shop.example.org
            x@mail.shop.example.org | shop@shop.example.org                    | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounces@shop.example.org                 | domain:shop.example.org
            me@forced.example       | a@forced.example                         | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | rp@forced.example                        | domain:forced.example
            # --- multi-level public suffixes
            apache@web01.internal   | a@example.co.uk                          | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.co.uk                     | domain:example.co.uk
            x@other.co.uk           | a@example.co.uk                          | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.co.uk                     | domain:example.co.uk
            x@news.example.co.uk    | a@example.co.uk                          | 127.0.0.1  | user@gmail.test            | reject  | keep     | x@news.example.co.uk                     | domain:example.co.uk
            x@co.uk                 | a@mail.example.co.uk                     | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.co.uk                     | domain:example.co.uk
            # --- IDN: U-labels and A-labels are the same domain
            apache@web01.internal   | a@bücher.example                         | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@xn--bcher-kva.example             | domain:xn--bcher-kva.example
            apache@web01.internal   | a@XN--BCHER-KVA.example                  | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@xn--bcher-kva.example             | domain:xn--bcher-kva.example
            x@mail.bücher.example   | a@xn--bcher-kva.example                  | 127.0.0.1  | user@gmail.test            | reject  | keep     | x@mail.bücher.example                    | domain:xn--bcher-kva.example
            # --- unknown domains and malformed From headers
            apache@web01.internal   | visitor@gmail.test                       | 127.0.0.1  | user@gmail.test            | reject  | reject   | 550 5.7.1 sender domain gmail.test is not configured | unknown-domain:reject
            apache@web01.internal   | visitor@gmail.test                       | 127.0.0.1  | user@gmail.test            | default | rewrite  | bounce@example.com                       | unknown-domain:default
            apache@web01.internal   | visitor@gmail.test                       | 127.0.0.1  | user@gmail.test            | keep    | keep     | apache@web01.internal                    | unknown-domain:keep
            ''                      | visitor@gmail.test                       | 127.0.0.1  | user@gmail.test            | default | keep     | ''                                       | unknown-domain:default
            apache@web01.internal   | NULL                                     | 127.0.0.1  | user@gmail.test            | reject  | reject   | 550 5.7.1 sender domain is not configured (no From header) | unknown-domain:reject
            apache@web01.internal   | NULL                                     | 127.0.0.1  | user@gmail.test            | keep    | keep     | apache@web01.internal                    | unknown-domain:keep
            apache@web01.internal   | undisclosed-recipients:;                 | 127.0.0.1  | user@gmail.test            | reject  | reject   | 550 5.7.1 sender domain is not configured (From header without an address) | unknown-domain:reject
            apache@web01.internal   | not an address                           | 127.0.0.1  | user@gmail.test            | reject  | reject   | 550 5.7.1 sender domain is not configured (From address without a valid domain) | unknown-domain:reject
            apache@web01.internal   | a@example.com, b@other.test              | 127.0.0.1  | user@gmail.test            | reject  | reject   | 550 5.7.1 sender domain is not configured (From addresses in several domains) | unknown-domain:reject
            apache@web01.internal   | a@example.com, b@example.com             | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | =?UTF-8?Q?Caf=C3=A9?= <a@example.com>    | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | Team: a@example.com, b@example.com;      | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | a@notexample.com                         | 127.0.0.1  | user@gmail.test            | reject  | reject   | 550 5.7.1 sender domain notexample.com is not configured | unknown-domain:reject
            # --- templates: {hash} is HMAC-SHA256 base32, computed independently (python hmac)
            apache@web01.internal   | a@traced.example                         | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce+qkeadege-apache=web01.internal@traced.example | domain:traced.example
            APACHE@web01.internal   | a@traced.example                         | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce+qkeadege-APACHE=web01.internal@traced.example | domain:traced.example
            apache@wéb.internal     | a@traced.example                         | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce+vn5efmfo-apache=xn--wb-bja.internal@traced.example | domain:traced.example
            a-very-long-local-part-of-forty-chars-xx@web01.internal | a@traced.example | 127.0.0.1 | user@gmail.test     | reject  | rewrite  | bounce@traced.example                    | domain:traced.example
            apache@web01.internal   | a@verp.example                           | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | apache=web01.internal@verp.example       | domain:verp.example
            '"john doe"@web01.internal' | a@verp.example                       | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounces@verp.example                     | domain:verp.example
            apache@web01.internal   | news@example.com                         | 127.0.0.1  | user@gmail.test            | reject  | rewrite  | bounce+qkeadege@example.com              | rule:newsletter
            # --- rules: first match wins, then the domain map, then unknown-domain
            spammer@web01.internal  | noreply@example.com                      | 127.0.0.1  | user@gmail.test            | reject  | reject   | 550 5.7.1 this application may not send mail | rule:blocked-app
            spam1@web01.internal    | noreply@example.com                      | 10.9.0.1   | user@gmail.test            | reject  | reject   | 550 5.7.1 this application may not send mail | rule:blocked-app
            apache@web01.internal   | a@later.example.com                      | 127.0.0.1  | user@gmail.test            | reject  | reject   | 451 4.7.1 try again tomorrow             | rule:deferred
            ''                      | MAILER-DAEMON@web01.internal             | 127.0.0.1  | apache@example.com         | reject  | keep     | ''                                       | rule:app-bounces
            ''                      | MAILER-DAEMON@web01.example              | 127.0.0.1  | apache@example.com         | reject  | reject   | 550 5.7.1 sender domain web01.example is not configured | unknown-domain:reject
            root@db1.internal       | noreply@example.com                      | 127.0.0.1  | pager@ops.example.com      | reject  | keep     | root@db1.internal                        | rule:cron
            root@db1.internal       | noreply@example.com                      | 127.0.0.1  | pager@OPS.Example.COM      | reject  | keep     | root@db1.internal                        | rule:cron
            root@db1.internal       | visitor@gmail.test                       | 127.0.0.1  | a@x.ops.example.com b@ops.example.com | reject | keep | root@db1.internal                     | rule:cron
            root@db1.internal       | noreply@example.com                      | 127.0.0.1  | pager@ops.example.com user@gmail.test | reject | rewrite | bounce@example.com                | domain:example.com
            root@db1.internal       | noreply@example.com                      | 127.0.0.1  | pager@example.com          | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | noreply@example.com                      | 10.9.1.2   | user@gmail.test            | reject  | rewrite  | legacy@example.com                       | rule:legacy-net
            apache@web01.internal   | visitor@gmail.test                       | 10.9.1.2   | user@gmail.test            | reject  | rewrite  | legacy@example.com                       | rule:legacy-net
            ''                      | noreply@example.com                      | 10.9.1.2   | user@gmail.test            | reject  | keep     | ''                                       | rule:legacy-net
            legacy@example.com      | noreply@example.com                      | 10.9.1.2   | user@gmail.test            | reject  | keep     | legacy@example.com                       | rule:legacy-net
            apache@web01.internal   | noreply@example.com                      | 10.10.0.1  | user@gmail.test            | reject  | rewrite  | bounce@example.com                       | domain:example.com
            # --- from-header = align, envelope from the domain map with the new From
            apache@web01.internal   | Visitor <visitor@gmail.test>             | 10.1.2.3   | info@example.com           | reject  | rewrite  | bounce@example.com                       | rule:contact-form+domain:example.com
            apache@web01.internal   | Visitor <visitor@gmail.test>             | ::ffff:10.1.2.3 | info@example.com      | reject  | rewrite  | bounce@example.com                       | rule:contact-form+domain:example.com
            apache@web01.internal   | Visitor <visitor@gmail.test>             | fd00::5    | info@example.com           | reject  | rewrite  | bounce@example.com                       | rule:contact-form+domain:example.com
            apache@web01.internal   | info@example.com                         | 10.1.2.3   | info@example.com           | reject  | rewrite  | bounce@example.com                       | rule:contact-form+domain:example.com
            bounces@example.com     | Visitor <visitor@gmail.test>             | 10.1.2.3   | info@example.com           | reject  | keep     | bounces@example.com                      | rule:contact-form+domain:example.com
            apache@web01.internal   | NULL                                     | 10.1.2.3   | info@example.com           | reject  | rewrite  | bounce@example.com                       | rule:contact-form+domain:example.com
            apache@web01.internal   | not an address                           | 10.1.2.3   | info@example.com           | reject  | rewrite  | bounce@example.com                       | rule:contact-form+domain:example.com
            apache@web01.internal   | a@gmail.test, b@yahoo.test               | 10.1.2.3   | info@example.com           | reject  | rewrite  | bounce@example.com                       | rule:contact-form+domain:example.com
            apache@web01.internal   | Visitor <visitor@gmail.test>             | 10.2.2.3   | info@example.com           | reject  | reject   | 550 5.7.1 sender domain gmail.test is not configured | unknown-domain:reject
            """)
    void rewriteTable(String sender, String from, String client, String recipients, String unknown, String decision,
                      String expected, String rule) throws Exception {
        RelayConfig cfg = config(unknown);
        String headers = (from == null ? "" : "From: " + from + "\r\n") + "Subject: t\r\n";
        RewriteInput in = new RewriteInput(sender, Arrays.asList(recipients.split(" ")), InetAddress.getByName(client),
                HeaderBlock.parse(headers.getBytes(StandardCharsets.UTF_8)));
        RewriteDecision d = Rewriter.decide(in, cfg);
        assertThat(d.rule()).isEqualTo(rule);
        switch (d) {
            case RewriteDecision.Rewrite rw -> {
                assertThat(decision).isEqualTo("rewrite");
                assertThat(rw.reversePath()).isEqualTo(expected);
            }
            case RewriteDecision.Keep k -> {
                assertThat(decision).isEqualTo("keep");
                assertThat(sender).isEqualTo(expected);
            }
            case RewriteDecision.Reject rj -> {
                assertThat(decision).isEqualTo("reject");
                assertThat(rj.code() + " " + rj.enhanced() + " " + rj.text()).isEqualTo(expected);
            }
        }
    }

    static RewriteDecision decide(String sender, String headers, String client) throws Exception {
        return Rewriter.decide(new RewriteInput(sender, List.of("user@gmail.test"), InetAddress.getByName(client),
                HeaderBlock.parse(headers.getBytes(StandardCharsets.UTF_8))), config("reject"));
    }

    static HeaderEdits edits(RewriteDecision d) {
        return switch (d) {
            case RewriteDecision.Rewrite rw -> rw.headers();
            case RewriteDecision.Keep k -> k.headers();
            case RewriteDecision.Reject rj -> throw new AssertionError("rejected: " + rj);
        };
    }

    @Test
    void rulesThatDidNotMatchAreExplainedInOrder() throws Exception {
        RewriteDecision d = decide("apache@web01.internal", "From: visitor@gmail.test\r\n", "127.0.0.1");
        assertThat(d.trace().notMatched()).extracting(RewriteDecision.Miss::what).containsExactly(
                "rule:blocked-app", "rule:app-bounces", "rule:cron", "rule:legacy-net", "rule:contact-form",
                "rule:newsletter", "rule:deferred", "domains");
        assertThat(d.trace().notMatched().get(0).why())
                .isEqualTo("envelope-sender <apache@web01.internal> does not match \"spam*@*\"");
        assertThat(d.trace().notMatched().get(3).why()).isEqualTo("client 127.0.0.1 is not in 10.9.0.0/16");
        assertThat(d.trace().notMatched().get(5).why())
                .isEqualTo("header-from <visitor@gmail.test> does not match \"news@example.com\"");
        assertThat(d.trace().notMatched().get(7).why()).isEqualTo("gmail.test is not listed, nor any domain above it");
    }

    @Test
    void aTemplateThatCannotServeFallsBackAndSaysWhy() throws Exception {
        RewriteDecision d = decide("a-very-long-local-part-of-forty-chars-xx@web01.internal",
                "From: a@traced.example\r\n", "127.0.0.1");
        assertThat(d).isInstanceOf(RewriteDecision.Rewrite.class);
        assertThat(d.trace().fallbacks()).singleElement().asString()
                .contains("has a local part of 71 octets, over 64")
                .endsWith("using the fallback bounce@traced.example");
    }

    @Test
    void aRewriteDmarcCannotAlignIsPointedOut() throws Exception {
        RewriteDecision d = decide("apache@web01.internal", "From: visitor@gmail.test\r\n", "10.9.1.2");
        assertThat(d.trace().notes()).singleElement().asString()
                .isEqualTo("return-path domain example.com is not aligned with From domain gmail.test: DMARC can pass only through DKIM");
        assertThat(decide("apache@web01.internal", "From: a@example.com\r\n", "10.9.1.2").trace().notes()).isEmpty();
    }

    @Test
    void aStrictDomainServingASubdomainFromSaysItCannotAlign() throws Exception {
        RewriteDecision d = decide("x@other.test", "From: a@mail.shop.example.org\r\n", "127.0.0.1");
        assertThat(d).isInstanceOf(RewriteDecision.Rewrite.class);
        assertThat(d.trace().notes()).singleElement().asString().startsWith("alignment = strict, but the return-path "
                + "domain shop.example.org is not the From domain mail.shop.example.org");
        assertThat(decide("x@other.test", "From: a@shop.example.org\r\n", "127.0.0.1").trace().notes()).isEmpty();
    }

    @Test
    void stripHeadersRemovesEveryFieldOfEachNameAndNothingElse() throws Exception {
        String headers = "Received: from localhost by web01.internal\r\n"
                + "Received: from app by localhost\r\n"
                + "From: noreply@example.com\r\n"
                + "X-PHP-Originating-Script: 33:contact.php\r\n"
                + "Subject: folded\r\n  subject\r\n"
                + "X-Mailer: PHP/8.2\r\n";
        HeaderEdits e = edits(decide("apache@web01.internal", headers, "10.9.1.2"));
        assertThat(new String(e.headers().toBytes(), StandardCharsets.UTF_8)).isEqualTo("From: noreply@example.com\r\n"
                + "Subject: folded\r\n  subject\r\n"
                + "X-Mailer: PHP/8.2\r\n");
        assertThat(e.stripped()).containsExactly("X-PHP-Originating-Script", "Received", "Received");
    }

    @Test
    void theNullSenderIsKeptEvenWhenARuleSetsAReturnPath() throws Exception {
        RewriteDecision d = decide("", "From: noreply@example.com\r\n", "10.9.1.2");
        assertThat(d).isInstanceOf(RewriteDecision.Keep.class);
        assertThat(d.reason()).contains("the null sender is never rewritten");
    }

    @Test
    void hashIsAKeyedHmacInBase32() {
        HashKey key = new HashKey(KEY.getBytes(StandardCharsets.UTF_8));
        assertThat(ReturnPaths.hash(key, "apache@web01.internal")).isEqualTo("qkeadege");
        assertThat(ReturnPaths.hash(key, "Apache@Web01.Internal")).isEqualTo("qkeadege");
        assertThat(ReturnPaths.hash(key, "www-data@web02.internal")).isEqualTo("yzg5d2ww");
        HashKey other = new HashKey("another-key-of-16-bytes-or-more".getBytes(StandardCharsets.UTF_8));
        assertThat(ReturnPaths.hash(other, "apache@web01.internal")).isNotEqualTo("qkeadege");
    }

    @ParameterizedTest
    @CsvSource(textBlock = """
            example.com,          example.com
            mail.example.com,     example.com
            a.b.example.co.uk,    example.co.uk
            example.co.uk,        example.co.uk
            web01.internal,       web01.internal
            a.web01.internal,     web01.internal
            host.test,            host.test
            x.y.z.example,        z.example
            xn--bcher-kva.example, xn--bcher-kva.example
            a.xn--bcher-kva.example, xn--bcher-kva.example
            mail.bücher.example,  xn--bcher-kva.example
            www.example.com.au,   example.com.au
            a.b.city.kawasaki.jp, city.kawasaki.jp
            """)
    void organizationalDomainFollowsThePublicSuffixList(String domain, String org) {
        assertThat(OrganizationalDomain.of(domain)).isEqualTo(org);
    }

    @ParameterizedTest
    @CsvSource(textBlock = """
            a.example.com, example.com, false, true
            a.example.com, example.com, true,  false
            example.com,   EXAMPLE.com, true,  true
            example.com,   example.org, false, false
            bücher.example, xn--bcher-kva.example, true, true
            mail.bücher.example, xn--bcher-kva.example, false, true
            a.example.co.uk, b.example.co.uk, false, true
            example.co.uk, other.co.uk, false, false
            """)
    void alignmentIsRelaxedOrStrict(String a, String b, boolean strict, boolean aligned) {
        assertThat(OrganizationalDomain.aligned(a, b, strict)).isEqualTo(aligned);
    }

    @Test
    void domainLookupWalksUpToTheNearestListedParent() throws Exception {
        RelayConfig cfg = config("reject");
        assertThat(Rewriter.lookup(cfg.domains(), "a.b.example.com")).map(RelayConfig.DomainPolicy::domain).contains("example.com");
        assertThat(Rewriter.lookup(cfg.domains(), "com")).isEqualTo(Optional.empty());
    }
}
