package dev.returnpath.inbound;

import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.returnpath.inbound.RelayEndToEndTest.fixture;
import static dev.returnpath.inbound.RelayEndToEndTest.stuff;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rules over the wire: a contact form's From aligned and its internal fields stripped, with
 * every other byte of the message unchanged; a rule's reject reply; a templated return-path; and
 * the rule in the message's log line.
 */
class RewriteRulesEndToEndTest {
    @TempDir
    Path spool;
    Upstream upstream;
    TestRelay relay;

    @BeforeEach
    void start() throws Exception {
        upstream = new Upstream();
        relay = new TestRelay(upstream.port(), spool, """
                returnpath.domains."example.com".from-address = "noreply@example.com"
                returnpath.domains."traced.example".return-path = "bounce+{hash}-{local}={domain}@traced.example"
                returnpath.rewrite.hash-key = "0123456789abcdef-test-key"
                returnpath.rules = [
                  { name = "blocked", match { envelope-sender = "spam@*" }, reject = "this application may not send mail" }
                  { name = "contact-form", match { envelope-sender = "www-data@*.internal", recipient-domain = "example.com" },
                    from-header = align, from-address = "noreply@example.com", strip-headers = ["X-PHP-Originating-Script", "Received"] }
                ]
                """);
    }

    @AfterEach
    void stop() {
        relay.close();
        upstream.close();
    }

    static byte[] replace(byte[] in, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + f.length <= in.length; i++) {
            if (Arrays.equals(in, i, i + f.length, f, 0, f.length)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(in, 0, i);
                out.writeBytes(to.getBytes(StandardCharsets.UTF_8));
                out.write(in, i + f.length, in.length - i - f.length);
                return out.toByteArray();
            }
        }
        throw new AssertionError("not found: " + from);
    }

    @Test
    void contactFormFromIsAlignedAndEverythingElseGoesOutByteForByte() throws Exception {
        byte[] original = fixture("contact-form-visitor.eml");
        String reply;
        try (LogCapture log = new LogCapture("returnpath.mail")) {
            try (SmtpClient c = relay.client()) {
                reply = c.send("www-data@web01.internal", List.of("info@example.com"), stuff(original));
            }
            assertThat(reply).startsWith("250 2.0.0 Ok: relayed as ");
            String id = reply.substring(reply.lastIndexOf(' ') + 1);
            assertThat(log.lines()).filteredOn(l -> l.startsWith(id + ": client=")).singleElement().asString()
                    .contains(" from=<www-data@web01.internal> return-path=<bounce@example.com> header-from=<zoe@gmail.test>"
                            + " rule=rule:contact-form+domain:example.com new-header-from=<noreply@example.com> reply-to=added"
                            + " stripped=X-PHP-Originating-Script:1,Received:2 spf=off dkim=none dkim-reason=\"no DKIM key for example.com\" size=");
        }
        Upstream.Received got = upstream.received.get(0);
        assertThat(got.reversePath()).isEqualTo("bounce@example.com");

        byte[] expected = replace(original, "Return-Path: <www-data@web01.internal>\r\n", "");
        expected = replace(expected, "Received: from localhost (localhost [127.0.0.1])\r\n\tby web01.internal (Postfix) with ESMTP id 4F1A2; Mon, 2 Mar 2026 10:00:00 +0100\r\n", "");
        expected = replace(expected, "Received: by web01.internal (Postfix, from userid 33) id 4F1A1; Mon, 2 Mar 2026 10:00:00 +0100\r\n", "");
        expected = replace(expected, "X-PHP-Originating-Script: 33:contact.php\r\n", "");
        expected = replace(expected, "From: \"Zoë Müller\" <zoe@gmail.test>\r\n",
                "From: \"Zoë Müller\" <noreply@example.com>\r\nReply-To: \"Zoë Müller\" <zoe@gmail.test>\r\n");
        byte[] data = got.data();
        String text = new String(data, StandardCharsets.ISO_8859_1);
        assertThat(text).startsWith("Received: from web01.internal ([127.0.0.1])\r\n\tby relay.test (returnpath)");
        int afterReceived = text.indexOf("\r\n", text.indexOf("; ")) + 2;
        assertThat(Arrays.copyOfRange(data, afterReceived, data.length)).isEqualTo(expected);
    }

    @Test
    void aRuleRejectIsTheReplyAndNothingIsRelayed() throws Exception {
        try (SmtpClient c = relay.client()) {
            String r = c.send("spam@web01.internal", List.of("user@gmail.test"),
                    "From: a@example.com\r\nSubject: x\r\n\r\nx\r\n".getBytes());
            assertThat(r).isEqualTo("550 5.7.1 this application may not send mail");
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
        }
        assertThat(upstream.received).isEmpty();
    }

    @Test
    void aTemplatedReturnPathGoesOnTheWire() throws Exception {
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("user@gmail.test"),
                    "From: shop@traced.example\r\nSubject: x\r\n\r\nx\r\n".getBytes());
            assertThat(r).startsWith("250 2.0.0");
        }
        assertThat(upstream.received.get(0).reversePath()).isEqualTo("bounce+qkeadege-apache=web01.internal@traced.example");
    }

    @Test
    void aTemplateFallbackIsLoggedWithItsReason() throws Exception {
        String longLocal = "a-very-long-local-part-of-forty-chars-xx";
        try (LogCapture log = new LogCapture("returnpath.mail")) {
            try (SmtpClient c = relay.client()) {
                String r = c.send(longLocal + "@web01.internal", List.of("user@gmail.test"),
                        "From: shop@traced.example\r\nSubject: x\r\n\r\nx\r\n".getBytes());
                assertThat(r).startsWith("250 2.0.0");
            }
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).matches("[0-9A-F]{13}: template-fallback=<bounce@traced.example> "
                    + "template-result=<bounce\\+[a-z2-7]{8}-" + longLocal + "=web01.internal@traced.example> "
                    + "\\(has a local part of 71 octets, over 64\\)"));
        }
        assertThat(upstream.received.get(0).reversePath()).isEqualTo("bounce@traced.example");
    }
}
