package dev.returnpath.cleanup;

import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The cleanup stage over a real relay and upstream: what it refuses and what leaves. */
class CleanupStageTest {
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

    static byte[] withReceived(int hops) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < hops; i++) {
            b.append("Received: from hop").append(i).append(".example by hop").append(i + 1).append(".example; Tue, 1 Dec 2026 10:00:00 +0000\r\n");
        }
        b.append("From: noreply@example.com\r\nTo: user@gmail.test\r\nSubject: loop\r\n\r\nbody\r\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @ParameterizedTest(name = "{0} Received fields: {1}")
    @CsvSource({
            "0,  250",
            "50, 250",
            "51, 554 5.4.6",
            "200, 554 5.4.6",
    })
    void aMessageWithMoreThanFiftyReceivedFieldsIsAMailLoopAndRefused(int hops, String expected) throws Exception {
        String reply;
        try (SmtpClient c = relay.client()) {
            reply = c.send("apache@web01.internal", List.of("user@gmail.test"), withReceived(hops));
        }
        assertThat(reply).startsWith(expected);
        assertThat(upstream.received).hasSize(expected.equals("250") ? 1 : 0);
        if (!expected.equals("250")) {
            assertThat(reply).contains("Too many hops").contains(hops + " Received");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "Return-Path: <apache@web01.internal>",
            "return-path:<apache@web01.internal>",
    })
    void theAppsReturnPathNeverLeavesAndOurReceivedIsTheOnlyFieldAdded(String returnPath) throws Exception {
        String fields = "From: noreply@example.com\r\nSubject: x\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <a@b>\r\n";
        byte[] msg = (returnPath + "\r\n" + fields + "\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII);
        try (SmtpClient c = relay.client()) {
            assertThat(c.send("apache@web01.internal", List.of("user@gmail.test"), msg)).startsWith("250 ");
        }
        String out = upstream.received.get(0).text();
        assertThat(out.toLowerCase()).doesNotContain("return-path");
        assertThat(out).startsWith("Received: from web01.internal ([127.0.0.1])");
        assertThat(out.substring(out.indexOf("\r\nFrom: ") + 2)).isEqualTo(fields + "\r\nbody\r\n");
    }

    @org.junit.jupiter.api.Test
    void aMissingDateAndMessageIdAreAddedAtTheEndOfTheHeaderWithTheQueueId() throws Exception {
        String reply;
        try (SmtpClient c = relay.client()) {
            reply = c.send("apache@web01.internal", List.of("user@gmail.test"),
                    "From: noreply@example.com\r\nSubject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        assertThat(reply).startsWith("250 ");
        String id = reply.substring(reply.lastIndexOf(' ') + 1);
        String out = upstream.received.get(0).text();
        String fields = out.substring(out.indexOf("\r\nFrom: ") + 2);
        assertThat(fields).matches("(?s)From: noreply@example\\.com\r\nSubject: x\r\n"
                + "Date: [A-Z][a-z]{2}, \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}\r\n"
                + "Message-ID: <" + id + "@relay\\.test>\r\n\r\nbody\r\n");
    }

    @org.junit.jupiter.api.Test
    void presentFieldsStayAsTheyAreEvenWhenMalformed() throws Exception {
        String fields = "From: noreply@example.com\r\ndate: yesterday\r\nmessage-id: no-brackets@web01\r\n";
        try (SmtpClient c = relay.client()) {
            assertThat(c.send("apache@web01.internal", List.of("user@gmail.test"),
                    (fields + "\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII))).startsWith("250 ");
        }
        String out = upstream.received.get(0).text();
        assertThat(out.substring(out.indexOf("\r\nFrom: ") + 2)).isEqualTo(fields + "\r\nbody\r\n");
    }

    @org.junit.jupiter.api.Test
    void lineSeparatorsAndC1ControlsInTheHeloNeverReachOurReceivedLine() throws Exception {
        try (SmtpClient c = new SmtpClient(relay.port())) {
            c.greeting();
            // U+0085 (NEL) and U+2028, in UTF-8 (SubEtha refuses anything else): neither may end or split a line
            c.send("EHLO web\u0085\u2028x\r\n".getBytes(StandardCharsets.UTF_8));
            assertThat(c.reply()).startsWith("250");
            String reply = c.send("apache@web01.internal", List.of("user@gmail.test"),
                    "From: noreply@example.com\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(reply).startsWith("250");
        }
        String out = upstream.received.get(0).text();
        assertThat(out).startsWith("Received: from web__x ([127.0.0.1])");
    }
}
