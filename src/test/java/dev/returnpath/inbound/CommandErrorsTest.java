package dev.returnpath.inbound;

import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code listen.limits.max-errors} over real loopback sockets: bad commands, then 421 and a close. */
class CommandErrorsTest {
    @TempDir
    Path dir;

    static ListenerTlsTest.Client connect(TestRelay relay) throws IOException {
        ListenerTlsTest.Client c = new ListenerTlsTest.Client(new Socket("127.0.0.1", relay.port()));
        assertThat(c.reply()).startsWith("220");
        assertThat(c.command("EHLO app.test")).startsWith("250");
        return c;
    }

    /** Every line the relay writes until it closes the connection. */
    static List<String> linesUntilClosed(ListenerTlsTest.Client c) throws IOException {
        List<String> lines = new ArrayList<>();
        for (String line; (line = c.in.readLine()) != null; ) {
            lines.add(line);
        }
        return lines;
    }

    @Test
    void unknownCommandsSyntaxErrorsAndBadSequenceCountThen421AndTheConnectionCloses() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "returnpath.listen.limits.max-errors = 3");
             LogCapture log = new LogCapture("returnpath.mail");
             ListenerTlsTest.Client c = connect(relay)) {
            assertThat(c.command("FROBNICATE")).startsWith("500");                       // unknown
            assertThat(c.command("RCPT TO:<user@example.org>")).startsWith("503");      // out of sequence
            c.out.write("MAIL FROM:<not an address\r\n".getBytes(StandardCharsets.US_ASCII)); // syntax
            c.out.flush();
            List<String> rest = linesUntilClosed(c);
            assertThat(rest).hasSize(2);
            assertThat(rest.get(0)).startsWith("553");
            assertThat(rest.get(1)).isEqualTo(CommandErrors.TOO_MANY);
            assertThat(log.lines()).anyMatch(l -> l.contains("disconnect: 127.0.0.1: 3 bad commands, listen.limits.max-errors reached"));
        }
    }

    @Test
    void commandsPipelinedAfterTheLimitAreNeitherAnsweredNorRun() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "returnpath.listen.limits.max-errors = 3");
             ListenerTlsTest.Client c = connect(relay)) {
            // one write: the relay reads it all ahead, the message after the errors must not leave
            c.out.write(("FOO\r\nBAR\r\nBAZ\r\nMAIL FROM:<app@example.com>\r\nRCPT TO:<user@example.org>\r\n"
                    + "DATA\r\nFrom: app@example.com\r\nSubject: after the limit\r\n\r\nbody\r\n.\r\nQUIT\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            c.out.flush();
            List<String> lines = linesUntilClosed(c);
            assertThat(lines).hasSize(4);
            assertThat(lines.subList(0, 3)).allMatch(l -> l.startsWith("500"));
            assertThat(lines.get(3)).isEqualTo(CommandErrors.TOO_MANY);
            assertThat(up.received).isEmpty();
            assertThat(up.rcptAttempts).isEmpty();
        }
    }

    @Test
    void anAcceptedMessageStartsTheCountAgain() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "returnpath.listen.limits.max-errors = 3");
             ListenerTlsTest.Client c = connect(relay)) {
            for (int round = 0; round < 3; round++) {
                assertThat(c.command("FOO")).startsWith("500");
                assertThat(c.command("RCPT TO:<user@example.org>")).startsWith("503");
                assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
                assertThat(c.command("RCPT TO:<user@example.org>")).startsWith("250");
                assertThat(c.command("DATA")).startsWith("354");
                assertThat(c.command("From: app@example.com\r\nSubject: " + round + "\r\n\r\nbody\r\n.")).startsWith("250");
            }
            assertThat(c.command("NOOP")).startsWith("250");
            assertThat(up.received).hasSize(3);
        }
    }

    @Test
    void refusalsOfPolicyAreNotBadCommands() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"),
                     "returnpath.listen.limits { max-errors = 2, messages-per-minute = 1 }");
             ListenerTlsTest.Client c = connect(relay)) {
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
            assertThat(c.command("RSET")).startsWith("250");
            for (int i = 0; i < 4; i++) {
                assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("451 4.7.1");
            }
            assertThat(c.command("NOOP")).startsWith("250");
            // a multi-line reply is one reply; its continuation lines are never read as codes
            assertThat(c.command("EHLO app.test")).startsWith("250-");
            assertThat(c.command("FOO")).startsWith("500");
            assertThat(c.command("NOOP")).startsWith("250");
        }
    }

    @Test
    void theCountHoldsAcrossStartTlsAndThe421ComesOverTls() throws Exception {
        TestPki pki = new TestPki(dir);
        TestPki.Pair pair = pki.issue("relay", "ec");
        String hocon = """
                returnpath.listen {
                  tls { cert-file = "%s", key-file = "%s" }
                  limits.max-errors = 3
                }
                """.formatted(pair.cert(), pair.key());
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), hocon);
             ListenerTlsTest.Client c = connect(relay)) {
            assertThat(c.command("FOO")).startsWith("500");
            c.startTls(pki.clientContext("TLS"));
            assertThat(c.command("EHLO app.test")).startsWith("250").doesNotContain("STARTTLS");
            assertThat(c.command("STARTTLS")).startsWith("503 5.5.1"); // the second error, the first over TLS
            c.out.write("BAR\r\n".getBytes(StandardCharsets.US_ASCII));
            c.out.flush();
            assertThat(c.in.readLine()).startsWith("500");
            assertThat(c.in.readLine()).isEqualTo(CommandErrors.TOO_MANY);
            assertThatThrownBy(c::reply).isInstanceOf(IOException.class);
        }
    }
}
