package dev.returnpath.rewrite;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.message.FromHeader;
import dev.returnpath.message.HeaderBlock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The rewrite policy as a table: envelope sender, From header, policy, and what comes out. */
class RewriterTest {

    static RelayConfig config(String unknownDomain) throws Exception {
        return ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.example.com"
                  delivery.smarthost.host = "smtp.example.net"
                  domains {
                    "example.com" { return-path = "bounce@example.com" }
                    "shop.example.org" { return-path = "bounces@shop.example.org", alignment = strict }
                    "forced.example" { return-path = "rp@forced.example", force = true }
                    "example.co.uk" { return-path = "bounce@example.co.uk" }
                  }
                  rewrite { unknown-domain = %s, default-domain = "example.com" }
                }
                """.formatted(unknownDomain), "test.conf");
    }

    @ParameterizedTest(name = "[{index}] {0} / From: {1} / {2} -> {3} {4}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            # envelope sender       | From header                              | unknown | decision | return-path or reply                     | rule
            apache@web01.internal   | noreply@example.com                      | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | "Contact Form" <noreply@example.com>     | reject  | rewrite  | bounce@example.com                       | domain:example.com
            root@localhost          | noreply@example.com                      | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | noreply@mail.example.com                 | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | NoReply@EXAMPLE.COM                      | reject  | rewrite  | bounce@example.com                       | domain:example.com
            ''                      | MAILER-DAEMON@example.com                | reject  | keep     | ''                                       | domain:example.com
            bounces@example.com     | noreply@example.com                      | reject  | keep     | bounces@example.com                      | domain:example.com
            bounces@lists.example.com | noreply@example.com                    | reject  | keep     | bounces@lists.example.com                | domain:example.com
            bounce@example.com      | noreply@example.com                      | reject  | keep     | bounce@example.com                       | domain:example.com
            bounces@other.test      | noreply@example.com                      | reject  | rewrite  | bounce@example.com                       | domain:example.com
            bounces@example.org     | shop@shop.example.org                    | reject  | rewrite  | bounces@shop.example.org                 | domain:shop.example.org
            x@shop.example.org      | shop@shop.example.org                    | reject  | keep     | x@shop.example.org                       | domain:shop.example.org
            x@mail.shop.example.org | shop@shop.example.org                    | reject  | rewrite  | bounces@shop.example.org                 | domain:shop.example.org
            me@forced.example       | a@forced.example                         | reject  | rewrite  | rp@forced.example                        | domain:forced.example
            apache@web01.internal   | a@example.co.uk                          | reject  | rewrite  | bounce@example.co.uk                     | domain:example.co.uk
            x@other.co.uk           | a@example.co.uk                          | reject  | rewrite  | bounce@example.co.uk                     | domain:example.co.uk
            x@news.example.co.uk    | a@example.co.uk                          | reject  | keep     | x@news.example.co.uk                     | domain:example.co.uk
            apache@web01.internal   | visitor@gmail.test                       | reject  | reject   | 550 5.7.1 sender domain gmail.test is not configured | unknown-domain:reject
            apache@web01.internal   | visitor@gmail.test                       | default | rewrite  | bounce@example.com                       | unknown-domain:default
            apache@web01.internal   | visitor@gmail.test                       | keep    | keep     | apache@web01.internal                    | unknown-domain:keep
            ''                      | visitor@gmail.test                       | default | keep     | ''                                       | unknown-domain:default
            apache@web01.internal   | NULL                                     | reject  | reject   | 550 5.7.1 sender domain is not configured (no From header) | unknown-domain:reject
            apache@web01.internal   | NULL                                     | keep    | keep     | apache@web01.internal                    | unknown-domain:keep
            apache@web01.internal   | undisclosed-recipients:;                 | reject  | reject   | 550 5.7.1 sender domain is not configured (From header without an address) | unknown-domain:reject
            apache@web01.internal   | not an address                           | reject  | reject   | 550 5.7.1 sender domain is not configured (From address without a valid domain) | unknown-domain:reject
            apache@web01.internal   | a@example.com, b@other.test              | reject  | reject   | 550 5.7.1 sender domain is not configured (From addresses in several domains) | unknown-domain:reject
            apache@web01.internal   | a@example.com, b@example.com             | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | =?UTF-8?Q?Caf=C3=A9?= <a@example.com>    | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | Team: a@example.com, b@example.com;      | reject  | rewrite  | bounce@example.com                       | domain:example.com
            apache@web01.internal   | a@notexample.com                         | reject  | reject   | 550 5.7.1 sender domain notexample.com is not configured | unknown-domain:reject
            """)
    void rewriteTable(String sender, String from, String unknown, String decision, String expected, String rule) throws Exception {
        RelayConfig cfg = config(unknown);
        String headers = (from == null ? "" : "From: " + from + "\r\n") + "Subject: t\r\n";
        FromHeader fh = FromHeader.of(HeaderBlock.parse(headers.getBytes(StandardCharsets.UTF_8)));
        RewriteDecision d = Rewriter.decide(sender, fh.domain(), fh.problem(), cfg.domains(), cfg.rewrite());
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
            """)
    void alignmentIsRelaxedOrStrict(String a, String b, boolean strict, boolean aligned) {
        assertThat(OrganizationalDomain.aligned(a, b, strict)).isEqualTo(aligned);
    }

    @org.junit.jupiter.api.Test
    void domainLookupWalksUpToTheNearestListedParent() throws Exception {
        RelayConfig cfg = config("reject");
        assertThat(Rewriter.lookup(cfg.domains(), "a.b.example.com")).map(RelayConfig.DomainPolicy::domain).contains("example.com");
        assertThat(Rewriter.lookup(cfg.domains(), "com")).isEqualTo(Optional.empty());
    }
}
