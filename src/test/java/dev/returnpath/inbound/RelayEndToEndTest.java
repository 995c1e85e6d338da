package dev.returnpath.inbound;

import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The relay end to end over loopback: a raw client, returnpath, and a real SMTP upstream. */
class RelayEndToEndTest {
    @TempDir
    Path spool;
    Upstream upstream;
    TestRelay relay;

    @BeforeEach
    void start() throws Exception {
        upstream = new Upstream();
        relay = new TestRelay(upstream.port(), spool, "");
    }

    @AfterEach
    void stop() {
        relay.close();
        upstream.close();
    }

    static byte[] fixture(String name) throws Exception {
        return RelayEndToEndTest.class.getResourceAsStream("/messages/" + name).readAllBytes();
    }

    /** Dot-stuffs {@code message} for the wire (RFC 5321 §4.5.2). */
    static byte[] stuff(byte[] message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean lineStart = true;
        for (byte b : message) {
            if (lineStart && b == '.') {
                out.write('.');
            }
            out.write(b);
            lineStart = b == '\n';
        }
        return out.toByteArray();
    }

    static String mail(String from, String body) {
        return "From: " + from + "\r\nTo: user@gmail.test\r\nSubject: hi\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
                + "Message-ID: <t1@web01.internal>\r\n\r\n" + body + "\r\n";
    }

    @Test
    void hostNameSenderIsRewrittenAndMessageRelayedByteForByte() throws Exception {
        byte[] original = fixture("contact-form-8bit.eml");
        String reply;
        try (SmtpClient c = relay.client()) {
            reply = c.send("apache@web01.internal", List.of("user@gmail.test"), stuff(original));
        }
        assertThat(reply).matches("250 2\\.0\\.0 Ok: relayed as [0-9A-F]{13}");
        assertThat(upstream.received).hasSize(1);
        Upstream.Received got = upstream.received.get(0);
        assertThat(got.reversePath()).isEqualTo("bounce@example.com");
        assertThat(got.forwardPaths()).containsExactly("user@gmail.test");

        String id = reply.substring(reply.lastIndexOf(' ') + 1);
        byte[] data = got.data();
        String text = new String(data, StandardCharsets.ISO_8859_1);
        // exactly one Received line, at the top, naming the queue ID from the 250 reply
        assertThat(text).startsWith("Received: from web01.internal ([127.0.0.1])\r\n\tby relay.test (returnpath) with ESMTP id " + id
                + "\r\n\tfor <user@gmail.test>; ");
        int afterReceived = text.indexOf("\r\n", text.indexOf("; ")) + 2;
        byte[] rest = java.util.Arrays.copyOfRange(data, afterReceived, data.length);
        // the rest is the original minus its Return-Path line, byte for byte
        byte[] expected = java.util.Arrays.copyOfRange(original, "Return-Path: <apache@web01.internal>\r\n".length(), original.length);
        assertThat(rest).isEqualTo(expected);
    }

    @Test
    void nullSenderIsNeverRewritten() throws Exception {
        try (SmtpClient c = relay.client()) {
            String r = c.send("", List.of("user@gmail.test"), mail("MAILER-DAEMON@example.com", "bounce").getBytes());
            assertThat(r).startsWith("250 2.0.0");
        }
        assertThat(upstream.received).singleElement().satisfies(m -> assertThat(m.reversePath()).isEmpty());
    }

    @Test
    void unknownFromDomainIsRejectedWith550AndNothingIsRelayed() throws Exception {
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("user@gmail.test"), mail("x@other.test", "hi").getBytes());
            assertThat(r).isEqualTo("550 5.7.1 sender domain other.test is not configured");
            // the transaction was reset: a new MAIL works without RSET
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
        }
        assertThat(upstream.received).isEmpty();
    }

    @Test
    void upstream451BecomesClient451WithUpstreamText() throws Exception {
        upstream.dataReply = "451 4.7.0 greylisted, try again later";
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("user@gmail.test"), mail("a@example.com", "x").getBytes());
            assertThat(r).startsWith("451 4.7.0 127.0.0.1[127.0.0.1]:" + upstream.port() + " said: 451 4.7.0 greylisted, try again later");
        }
    }

    @Test
    void upstream550ForEveryRecipientBecomesThatReply() throws Exception {
        upstream.rcptReply = r -> "550 5.7.26 This mail is unauthenticated";
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test", "b@gmail.test"), mail("a@example.com", "x").getBytes());
            assertThat(r).startsWith("550 5.7.26 127.0.0.1[127.0.0.1]:" + upstream.port() + " said: 550 5.7.26 This mail is unauthenticated");
        }
        assertThat(upstream.received).isEmpty();
    }

    @Test
    void upstreamDataRejectionIsRelayedAsIs() throws Exception {
        upstream.dataReply = "554 5.7.1 message refused";
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"), mail("a@example.com", "x").getBytes());
            assertThat(r).startsWith("554 5.7.1 ").contains("said: 554 5.7.1 message refused");
        }
    }

    @Test
    void partialRecipientFailureIsAcceptedAndADsnGoesToTheReturnPath() throws Exception {
        upstream.rcptReply = r -> r.startsWith("bad@") ? "550 5.1.1 no such user" : null;
        String reply;
        try (SmtpClient c = relay.client()) {
            reply = c.send("apache@web01.internal", List.of("good@gmail.test", "bad@gmail.test"), mail("a@example.com", "x").getBytes());
        }
        assertThat(reply).startsWith("250 2.0.0 Ok: relayed as ");
        assertThat(upstream.received).hasSize(2);
        Upstream.Received msg = upstream.received.get(0);
        assertThat(msg.forwardPaths()).containsExactly("good@gmail.test");
        Upstream.Received dsn = upstream.received.get(1);
        assertThat(dsn.reversePath()).isEmpty();
        assertThat(dsn.forwardPaths()).containsExactly("bounce@example.com");
        assertThat(dsn.text())
                .contains("Content-Type: multipart/report; report-type=delivery-status")
                .contains("Content-Type: message/delivery-status")
                .contains("Final-Recipient: rfc822; bad@gmail.test")
                .contains("Action: failed")
                .contains("Status: 5.1.1")
                .contains("Diagnostic-Code: smtp; 550 5.1.1 no such user")
                .doesNotContain("Final-Recipient: rfc822; good@gmail.test");
    }

    @Test
    void upstreamThatStallsPastTheCommandTimeoutGives451() throws Exception {
        upstream.stallMillisAtData = 6_000; // command-timeout is 3s in TestRelay
        long t0 = System.nanoTime();
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"), mail("a@example.com", "x").getBytes());
            assertThat(r).startsWith("451 4.4.2 ").contains("timeout");
        }
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(6_000);
    }

    @Test
    void upstreamThatDropsTheConnectionMidDataGives451() throws Exception {
        upstream.dropMidData = true;
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"), mail("a@example.com", "x").getBytes());
            assertThat(r).startsWith("451 4.4.2 ");
        }
        assertThat(upstream.received).isEmpty();
    }

    @Test
    void refusedUpstreamConnectionGives451() throws Exception {
        int port = upstream.port();
        upstream.close();
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"), mail("a@example.com", "x").getBytes());
            assertThat(r).startsWith("451 4.4.1 connect to 127.0.0.1:" + port + " failed");
        }
    }

    @Test
    void bareLineFeedIsRejectedWith550AfterDataIsDrained() throws Exception {
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"),
                    "From: a@example.com\r\nSubject: x\r\n\r\nline one\nNOOP\r\n".getBytes());
            assertThat(r).startsWith("550 5.5.2 ");
            // the body's NOOP line was not taken for a command: the next reply is to our NOOP
            assertThat(c.command("NOOP")).startsWith("250");
        }
        assertThat(upstream.received).isEmpty();
    }

    @Test
    void smugglingAttemptNeverBecomesASecondMessageUpstream() throws Exception {
        relay.close();
        relay = new TestRelay(upstream.port(), spool, "returnpath.listen.bare-newline = normalize");
        String smuggled = "From: a@example.com\r\nSubject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@example.com>\r\n"
                + "RCPT TO:<victim@gmail.test>\r\nDATA\r\nFrom: ceo@example.com\r\n\r\nsmuggled\r\n\r\n.\n\r\nend\r\n";
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"), smuggled.getBytes());
            assertThat(r).startsWith("250 2.0.0");
        }
        assertThat(upstream.received).singleElement().satisfies(m -> {
            assertThat(m.forwardPaths()).containsExactly("a@gmail.test");
            // normalised: the bare LFs became CRLF, and the dot lines were stuffed on the wire
            assertThat(m.text()).contains("body\r\n.\r\nMAIL FROM:<evil@example.com>\r\n").doesNotContain("\n.\n");
        });
    }

    @Test
    void messageOverTheSizeLimitGets552AfterDataIsDrained() throws Exception {
        relay.close();
        relay = new TestRelay(upstream.port(), spool, "returnpath.listen.max-message-size = 10 KiB");
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            body.append("line ").append(i).append(" of a message that is far too long for the limit\r\n");
        }
        body.append("NOOP\r\n");
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"), mail("a@example.com", body.toString()).getBytes());
            assertThat(r).startsWith("552 5.3.4 ");
            assertThat(c.command("NOOP")).startsWith("250");
        }
        assertThat(upstream.received).isEmpty();
        // DATA went into a reused scratch file, deleted when the relay stops
        relay.close();
        try (var files = Files.list(spool.resolve("incoming"))) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void clientOutsideAllowedNetworksGets554AtConnect() throws Exception {
        relay.close();
        relay = new TestRelay(upstream.port(), spool, "returnpath.listen.allowed-networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]");
        try (SmtpClient c = new SmtpClient(relay.port())) {
            assertThat(c.greeting()).startsWith("554 5.7.1 127.0.0.1 is not allowed");
        }
    }

    @Test
    void garbageRecipientGets501() throws Exception {
        try (SmtpClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
            assertThat(c.command("RCPT TO:<not an address!!>")).startsWith("501 5.1.3");
            assertThat(c.command("RCPT TO:<ok@gmail.test>")).startsWith("250");
        }
    }

    @Test
    void tooManyRecipientsGet452() throws Exception {
        relay.close();
        relay = new TestRelay(upstream.port(), spool, "returnpath.listen.max-recipients = 2");
        try (SmtpClient c = relay.client()) {
            c.command("MAIL FROM:<apache@web01.internal>");
            assertThat(c.command("RCPT TO:<a@gmail.test>")).startsWith("250");
            assertThat(c.command("RCPT TO:<b@gmail.test>")).startsWith("250");
            assertThat(c.command("RCPT TO:<c@gmail.test>")).startsWith("452 4.5.3");
        }
    }

    @Test
    void internationalisedAddressesAreRelayedWithUtf8smtp() throws Exception {
        try (SmtpClient c = relay.client()) {
            c.command("MAIL FROM:<apache@web01.internal> SMTPUTF8");
            c.send("RCPT TO:<zo\u00eb@b\u00fccher.test>\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertThat(c.reply()).startsWith("250");
            assertThat(c.command("DATA")).startsWith("354");
            c.send("From: n@example.com\r\nSubject: utf8\r\n\r\nx\r\n.\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertThat(c.reply()).startsWith("250");
        }
        Upstream.Received got = upstream.received.get(0);
        assertThat(got.forwardPaths()).containsExactly("zo\u00eb@b\u00fccher.test");
        assertThat(got.text()).contains("(returnpath) with UTF8SMTP id ");
    }

    @Test
    void messageWithoutABodyIsRelayedWithoutAddedBytes() throws Exception {
        byte[] headersOnly = "From: a@example.com\r\nSubject: no body\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@y>\r\n".getBytes();
        try (SmtpClient c = relay.client()) {
            assertThat(c.send("apache@web01.internal", List.of("a@gmail.test"), headersOnly)).startsWith("250");
        }
        String got = upstream.received.get(0).text();
        assertThat(got.substring(got.indexOf("From: "))).isEqualTo(new String(headersOnly));
    }

    @Test
    void firstLineStartingWithADotIsUnstuffed() throws Exception {
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("a@gmail.test"),
                    stuff(".X-Odd: first line starts with a dot\r\nFrom: a@example.com\r\n\r\nx\r\n".getBytes()));
            assertThat(r).startsWith("250");
        }
        assertThat(upstream.received.get(0).text()).contains("\r\n.X-Odd: first line").doesNotContain("..X-Odd");
    }

    @Test
    void severalMessagesOnOneConnectionAreEachRelayed() throws Exception {
        try (SmtpClient c = relay.client()) {
            for (int i = 0; i < 5; i++) {
                assertThat(c.send("apache@web01.internal", List.of("u" + i + "@gmail.test"),
                        mail("a@example.com", "n" + i).getBytes())).startsWith("250 2.0.0");
            }
        }
        assertThat(upstream.received).hasSize(5).allSatisfy(m -> assertThat(m.reversePath()).isEqualTo("bounce@example.com"));
    }

    /**
     * DATA is read in blocks from the session's input: what a client sends after the final
     * ".CRLF" in the same packet (a pipelining client's next transaction) must stay commands.
     */
    @Test
    void commandsSentRightAfterTheEndOfDataInOneWriteAreStillCommands() throws Exception {
        try (SmtpClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
            assertThat(c.command("RCPT TO:<one@gmail.test>")).startsWith("250");
            assertThat(c.command("DATA")).startsWith("354");
            c.send(mail("a@example.com", "first\r\n..dot") + ".\r\nMAIL FROM:<apache@web01.internal>\r\n"
                    + "RCPT TO:<two@gmail.test>\r\nDATA\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 Ok: relayed as ");
            assertThat(c.reply()).startsWith("250");
            assertThat(c.reply()).startsWith("250");
            assertThat(c.reply()).startsWith("354");
            c.send(mail("a@example.com", "second") + ".\r\nQUIT\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 Ok: relayed as ");
            assertThat(c.reply()).startsWith("221");
        }
        assertThat(upstream.received).hasSize(2);
        assertThat(upstream.received.get(0).forwardPaths()).containsExactly("one@gmail.test");
        assertThat(upstream.received.get(0).text()).endsWith("\r\n\r\nfirst\r\n.dot\r\n");
        assertThat(upstream.received.get(1).forwardPaths()).containsExactly("two@gmail.test");
        assertThat(upstream.received.get(1).text()).endsWith("\r\n\r\nsecond\r\n");
    }

    /**
     * DATA goes into reused scratch files: a message after a longer one (and after one over the
     * size past which a scratch file is truncated) must carry nothing of the former's bytes.
     */
    @Test
    void aShortMessageAfterLongerOnesCarriesNoneOfTheirBytes() throws Exception {
        String[] bodies = {"L".repeat(200_000), "S", "B".repeat((int) ScratchFiles.KEEP_BYTES + 10), "s"};
        try (SmtpClient c = relay.client()) {
            for (String body : bodies) {
                assertThat(c.send("apache@web01.internal", List.of("u@gmail.test"), mail("a@example.com", body).getBytes()))
                        .startsWith("250 2.0.0");
            }
        }
        assertThat(upstream.received).hasSize(bodies.length);
        for (int i = 0; i < bodies.length; i++) {
            String text = upstream.received.get(i).text();
            assertThat(text.substring(text.indexOf("From: a@example.com")))
                    .isEqualTo(mail("a@example.com", bodies[i]));
        }
    }

    @Test
    void incomingIsEmptyOnceTheRelayIsClosed() throws Exception {
        try (SmtpClient c = relay.client()) {
            assertThat(c.send("apache@web01.internal", List.of("u@gmail.test"), mail("a@example.com", "x").getBytes()))
                    .startsWith("250 2.0.0");
        }
        relay.close();
        try (var files = Files.list(spool.resolve("incoming"))) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void filesACrashedRelayLeftInIncomingAreRemovedAtStart() throws Exception {
        Path leftover = Files.writeString(Files.createDirectories(spool.resolve("incoming")).resolve("scratch-x-1"), "half");
        assertThat(Receiver.removeIncomingLeftovers(spool)).isEqualTo(1);
        assertThat(leftover).doesNotExist();
    }
}
