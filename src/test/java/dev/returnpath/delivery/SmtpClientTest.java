package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.RawSmtpServer;
import dev.returnpath.testkit.TestRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SMTP client engine against raw-socket servers on loopback: what it writes to a server
 * that pipelines and to one that does not, its pool, and its bounds against servers that
 * misbehave (an endless reply, a reply that stalls), and SMTPUTF8.
 */
class SmtpClientTest {
    @TempDir
    Path dir;

    static final OutboundMessage MESSAGE = OutboundMessage.inMemory(
            "From: noreply@example.com\r\nSubject: engine\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));

    SmarthostDelivery delivery(int port) throws Exception {
        // connect-timeout 2s, command-timeout 3s
        return new SmarthostDelivery(ConfigLoader.parseString(TestRelay.baseHocon(port, dir), "test.conf"));
    }

    static DeliveryOutcome send(SmarthostDelivery d, String from, String... rcpts) {
        return d.deliver(new Envelope("ID", from, List.of(rcpts)), MESSAGE);
    }

    @Test
    void aServerThatPipelinesGetsMailRcptAndDataInOneWrite() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING", "8BITMIME");
             SmarthostDelivery d = delivery(sink.port())) {
            assertThat(send(d, "bounce@example.com", "a@example.net", "b@example.net").allSent()).isTrue();
            assertThat(sink.reads).contains("MAIL FROM:<bounce@example.com> BODY=8BITMIME\r\n"
                    + "RCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            assertThat(sink.messages.get()).isEqualTo(1);
        }
    }

    @Test
    void aServerThatDoesNotPipelineGetsOneCommandAtATime() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("8BITMIME");
             SmarthostDelivery d = delivery(sink.port())) {
            assertThat(send(d, "bounce@example.com", "a@example.net", "b@example.net").allSent()).isTrue();
            assertThat(sink.reads).containsSubsequence("MAIL FROM:<bounce@example.com> BODY=8BITMIME\r\n",
                    "RCPT TO:<a@example.net>\r\n", "RCPT TO:<b@example.net>\r\n", "DATA\r\n");
            assertThat(sink.messages.get()).isEqualTo(1);
        }
    }

    @Test
    void pipelinedRepliesAreMatchedToTheirRecipientsInOrder() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING");
             SmarthostDelivery d = delivery(sink.port())) {
            sink.rcptReply = r -> r.startsWith("no@") ? "550 5.1.1 no such user" : r.startsWith("later@") ? "452 4.2.2 full" : null;
            DeliveryOutcome o = send(d, "bounce@example.com", "no@example.net", "yes@example.net", "later@example.net");
            assertThat(o.recipients()).extracting(RecipientOutcome::status)
                    .containsExactly(Status.BOUNCED, Status.SENT, Status.DEFERRED);
            assertThat(o.recipients()).extracting(r -> r.reply().toString())
                    .containsExactly("550 5.1.1 no such user", "250 2.0.0 Ok: queued", "452 4.2.2 full");
        }
    }

    @Test
    void aPooledConnectionCarriesTheNextMessage() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING");
             SmarthostDelivery d = delivery(sink.port())) {
            assertThat(send(d, "bounce@example.com", "a@example.net").allSent()).isTrue();
            assertThat(send(d, "bounce@example.com", "b@example.net").allSent()).isTrue();
            assertThat(sink.connections.get()).isEqualTo(1);
            assertThat(sink.messages.get()).isEqualTo(2);
            assertThat(sink.commands.stream().filter(c -> c.startsWith("EHLO"))).hasSize(1);
            assertThat(d.pooledConnections()).isEqualTo(1);
        }
    }

    @Test
    void aConnectionIdlePastItsLimitIsClosedByTheSweepAndItsHopForgotten() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING");
             SmarthostDelivery d = delivery(sink.port())) {
            assertThat(send(d, "bounce@example.com", "a@example.net").allSent()).isTrue();
            assertThat(d.pooledHops()).isEqualTo(1);
            d.sweepPool(System.currentTimeMillis()); // not idle long enough: kept
            assertThat(d.pooledConnections()).isEqualTo(1);
            d.sweepPool(System.currentTimeMillis() + SmtpClient.MAX_IDLE_MS + 1_000);
            assertThat(d.pooledConnections()).isZero();
            assertThat(d.pooledHops()).as("a hop without a connection is not kept").isZero();
            // the server sees the courtesy QUIT and the connection closed
            Await.until(Duration.ofSeconds(10), "QUIT from the sweep", () -> sink.commands.contains("QUIT"));
            // the next message opens a new connection
            assertThat(send(d, "bounce@example.com", "b@example.net").allSent()).isTrue();
            assertThat(sink.connections.get()).isEqualTo(2);
            assertThat(d.pooledHops()).isEqualTo(1);
        }
    }

    @Test
    void aTransactionThatEndedEarlyIsResetBeforeThePooledConnectionIsReused() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING");
             SmarthostDelivery d = delivery(sink.port())) {
            sink.rcptReply = r -> "550 5.1.1 no such user";
            assertThat(send(d, "bounce@example.com", "a@example.net").recipients())
                    .singleElement().satisfies(r -> assertThat(r.status()).isEqualTo(Status.BOUNCED));
            sink.rcptReply = r -> null;
            assertThat(send(d, "bounce@example.com", "b@example.net").allSent()).isTrue();
            assertThat(sink.connections.get()).isEqualTo(1);
            assertThat(sink.reads).anyMatch(r -> r.startsWith("RSET\r\nMAIL FROM:<bounce@example.com>\r\nRCPT TO:<b@example.net>"));
        }
    }

    @Test
    void aPooledConnectionTheServerClosedIsReplacedWithoutAFailure() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING");
             SmarthostDelivery d = delivery(sink.port())) {
            sink.closeAfterMessage = true;
            assertThat(send(d, "bounce@example.com", "a@example.net").allSent()).isTrue();
            // the pooled connection is dead; the client finds out at its first reply, and starts again
            assertThat(send(d, "bounce@example.com", "b@example.net").allSent()).isTrue();
            assertThat(sink.connections.get()).isEqualTo(2);
            assertThat(sink.messages.get()).isEqualTo(2);
        }
    }

    /** A server that greets with an endless multi-line reply, as fast as it can write. */
    static RawSmtpServer endless() throws Exception {
        return RawSmtpServer.talking(s -> {
            OutputStream out = s.getOutputStream();
            byte[] line = ("220-" + "x".repeat(70) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            byte[] chunk = new byte[line.length * 100];
            for (int i = 0; i < 100; i++) {
                System.arraycopy(line, 0, chunk, i * line.length, line.length);
            }
            while (true) {
                out.write(chunk);
            }
        });
    }

    @Test
    void anEndlessMultiLineReplyIsCutAtItsBoundAndDeferred() throws Exception {
        try (RawSmtpServer server = endless(); SmarthostDelivery d = delivery(server.port())) {
            long t0 = System.nanoTime();
            DeliveryOutcome o = send(d, "bounce@example.com", "a@example.net");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(Status.DEFERRED);
                assertThat(r.upstreamSaid()).isFalse();
                assertThat(r.reply().toString()).startsWith("451 4.4.2 dropped the connection with 127.0.0.1:"
                        + server.port() + ": its reply was too long: over " + ReplyReader.MAX_LINES + " lines");
            });
            assertThat(ms).isLessThan(2_000); // cut by its size, long before the 3s command timeout
        }
    }

    @Test
    void anEndlessSingleLineIsCutAtTheByteBound() throws Exception {
        try (RawSmtpServer server = RawSmtpServer.talking(s -> {
            OutputStream out = s.getOutputStream();
            out.write("220".getBytes(StandardCharsets.US_ASCII));
            byte[] x = new byte[8192];
            java.util.Arrays.fill(x, (byte) 'x');
            while (true) {
                out.write(x);
            }
        }); SmarthostDelivery d = delivery(server.port())) {
            assertThat(send(d, "bounce@example.com", "a@example.net").recipients()).singleElement()
                    .satisfies(r -> assertThat(r.reply().toString()).startsWith("451 4.4.2 ")
                            .contains("its reply was too long: over " + ReplyReader.MAX_BYTES + " bytes"));
        }
    }

    @Test
    void aReplyThatDripsPastTheCommandTimeoutIsATimeout() throws Exception {
        // one byte every 300 ms: no single read waits long, the whole reply never ends
        try (RawSmtpServer server = RawSmtpServer.talking(s -> {
            OutputStream out = s.getOutputStream();
            out.write("220-drip\r\n220".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (int i = 0; i < 100; i++) {
                Thread.sleep(300);
                out.write('.');
                out.flush();
            }
        }); SmarthostDelivery d = delivery(server.port())) {
            long t0 = System.nanoTime();
            DeliveryOutcome o = send(d, "bounce@example.com", "a@example.net");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(Status.DEFERRED);
                assertThat(r.reply().toString()).startsWith("451 4.4.2 timeout talking to 127.0.0.1:" + server.port());
            });
            assertThat(ms).isBetween(2_800L, 5_000L); // command-timeout is 3s
        }
    }

    @Test
    void aServerThatStallsMidReplyToDataTimesOutWithinTheCommandTimeout() throws Exception {
        try (RawSmtpServer server = RawSmtpServer.talking(s -> {
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            out.write("220 stall.test\r\n".getBytes(StandardCharsets.US_ASCII));
            boolean data = false;
            String line;
            while ((line = in.readLine()) != null) {
                String reply;
                if (data) {
                    if (!line.equals(".")) {
                        continue;
                    }
                    out.write("250-half of a reply\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(20_000);
                    return;
                }
                reply = line.startsWith("EHLO") ? "250 stall.test" : line.equals("DATA") ? "354 go on" : "250 ok";
                data = line.equals("DATA");
                out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        }); SmarthostDelivery d = delivery(server.port())) {
            long t0 = System.nanoTime();
            DeliveryOutcome o = send(d, "bounce@example.com", "a@example.net");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(Status.DEFERRED);
                assertThat(r.reply().toString()).startsWith("451 4.4.2 timeout talking to 127.0.0.1:" + server.port());
            });
            assertThat(ms).isBetween(2_800L, 6_000L); // command-timeout is 3s
            assertThat(d.pooledConnections()).isZero(); // a connection that failed is not kept
        }
    }

    @Test
    void theRelayStaysAliveWith64MiBOfHeapAgainstAnEndlessReply() throws Exception {
        try (RawSmtpServer server = endless()) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                    EndlessReplyChild.class.getName(), String.valueOf(server.port()), dir.toString())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(output).isZero();
            assertThat(output).contains("reply 1: 451 4.4.2 ").contains("reply 5: 451 4.4.2 ")
                    .contains("its reply was too long").doesNotContain("OutOfMemoryError");
        }
    }

    @Test
    void implicitTlsSpeaksTlsFromTheFirstByteAndVerifiesTheCertificate() throws Exception {
        String ca = java.nio.file.Path.of(getClass().getResource("/tls/localhost.pem").toURI()).toString();
        try (RawSmtpServer tls = RawSmtpServer.implicitTls("/tls/localhost.p12", "PIPELINING")) {
            String hocon = TestRelay.baseHocon(tls.port(), dir)
                    + "\nreturnpath.delivery.smarthost { host = \"localhost\", tls = implicit, ca-file = \"" + ca + "\" }";
            try (SmarthostDelivery d = new SmarthostDelivery(ConfigLoader.parseString(hocon, "test.conf"))) {
                assertThat(send(d, "bounce@example.com", "a@example.net").allSent()).isTrue();
                assertThat(tls.messages.get()).isEqualTo(1);
            }
            // without the private CA the same server is refused, nothing sent
            String untrusted = TestRelay.baseHocon(tls.port(), dir)
                    + "\nreturnpath.delivery.smarthost { host = \"localhost\", tls = implicit }";
            try (SmarthostDelivery d = new SmarthostDelivery(ConfigLoader.parseString(untrusted, "test.conf"))) {
                assertThat(send(d, "bounce@example.com", "a@example.net").recipients()).singleElement()
                        .satisfies(r -> assertThat(r.reply().toString()).startsWith("451 4.7.5 TLS with localhost:" + tls.port() + " failed"));
                assertThat(tls.messages.get()).isEqualTo(1);
            }
        }
    }

    // ---------------------------------------------------------------- SMTPUTF8

    @Test
    void aNonAsciiRecipientIsNotSentToAServerWithoutSmtputf8() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING", "8BITMIME");
             SmarthostDelivery d = delivery(sink.port())) {
            DeliveryOutcome o = send(d, "bounce@example.com", "jürgen@example.net", "ascii@example.net");
            assertThat(o.recipients().get(0)).satisfies(r -> {
                assertThat(r.status()).isEqualTo(Status.BOUNCED);
                assertThat(r.upstreamSaid()).isFalse();
                assertThat(r.reply().code()).isEqualTo(553);
                assertThat(r.reply().enhanced()).isEqualTo("5.6.7");
                assertThat(r.reply().text()).contains("does not offer SMTPUTF8");
            });
            assertThat(o.recipients().get(1).status()).isEqualTo(Status.SENT);
            assertThat(sink.commands).noneMatch(c -> c.contains("jürgen")).noneMatch(c -> c.contains("SMTPUTF8"));
        }
    }

    @Test
    void aNonAsciiSenderWithoutSmtputf8FailsEveryRecipientWithoutAMailCommand() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING");
             SmarthostDelivery d = delivery(sink.port())) {
            DeliveryOutcome o = send(d, "bounce-ü@example.com", "a@example.net", "b@example.net");
            assertThat(o.recipients()).allSatisfy(r -> {
                assertThat(r.status()).isEqualTo(Status.BOUNCED);
                assertThat(r.reply().enhanced()).isEqualTo("5.6.7");
            });
            assertThat(sink.commands).noneMatch(c -> c.startsWith("MAIL"));
        }
    }

    @Test
    void withSmtputf8OfferedMailCarriesTheParameterAndTheAddressGoesInUtf8() throws Exception {
        try (RawSmtpServer sink = RawSmtpServer.sink("PIPELINING", "SMTPUTF8");
             SmarthostDelivery d = delivery(sink.port())) {
            assertThat(send(d, "bounce@example.com", "jürgen@example.net").allSent()).isTrue();
            assertThat(sink.commands).contains("MAIL FROM:<bounce@example.com> SMTPUTF8", "RCPT TO:<jürgen@example.net>");
            // and an ASCII-only message on the same connection does not ask for it
            assertThat(send(d, "bounce@example.com", "ascii@example.net").allSent()).isTrue();
            assertThat(sink.commands).contains("MAIL FROM:<bounce@example.com>");
        }
    }

    @Test
    void aRefusedLoginNamesTheServerAndNeverThePassword() throws Exception {
        try (RawSmtpServer server = RawSmtpServer.talking(s -> {
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            out.write("220 auth.test\r\n".getBytes(StandardCharsets.US_ASCII));
            String line;
            while ((line = in.readLine()) != null) {
                String reply = line.startsWith("EHLO") ? "250-auth.test\r\n250 AUTH LOGIN"
                        : line.equals("AUTH LOGIN") ? "334 VXNlcm5hbWU6"
                        : line.equals("YXBw") ? "334 UGFzc3dvcmQ6" : "535 5.7.8 no";
                out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        }); SmtpClient engine = new SmtpClient(new SmtpClient.Settings("relay.test",
                java.time.Duration.ofSeconds(2), java.time.Duration.ofSeconds(3)))) {
            String where = "127.0.0.1:" + server.port();
            SmtpConnection.Dial dial = new SmtpConnection.Dial("127.0.0.1", java.net.InetAddress.getLoopbackAddress(),
                    server.port(), where, "127.0.0.1[127.0.0.1]:" + server.port(), SmtpConnection.TlsMode.NONE,
                    Tls.jdk(), java.util.Optional.of(new SmtpConnection.Login("app", "t0psecret")), false);
            SmtpClient.Attempt a = engine.deliver(new NextHop.Relay("default", null), dial, true, "bounce@example.com",
                    List.of("a@example.net"), MESSAGE, true);
            assertThat(a.outcomes()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(Status.DEFERRED);
                assertThat(r.reply().toString()).isEqualTo("451 4.7.8 authentication with " + where + " failed: 535 5.7.8 no")
                        .doesNotContain("t0psecret").doesNotContain("dDBwc2VjcmV0");
            });
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "auth = {0}, server offers {1}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            // auth  | AUTH offered | the first AUTH line, or the reply
            "AUTO    | PLAIN LOGIN  | AUTH PLAIN AGFwcAB0MHBzZWNyZXQ=",
            "AUTO    | LOGIN        | AUTH LOGIN",
            "PLAIN   | PLAIN LOGIN  | AUTH PLAIN AGFwcAB0MHBzZWNyZXQ=",
            "LOGIN   | PLAIN LOGIN  | AUTH LOGIN",
            "PLAIN   | LOGIN        | 451 4.7.8 authentication with WHERE failed: it does not offer AUTH PLAIN (delivery.smarthost.auth = plain)",
            "LOGIN   | PLAIN        | 451 4.7.8 authentication with WHERE failed: it does not offer AUTH LOGIN (delivery.smarthost.auth = login)",
    })
    void theConfiguredMechanismIsTheOneUsed(dev.returnpath.config.RelayConfig.SmarthostAuth auth, String offered, String expected)
            throws Exception {
        java.util.List<String> authLines = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (RawSmtpServer server = RawSmtpServer.talking(s -> {
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            out.write("220 auth.test\r\n".getBytes(StandardCharsets.US_ASCII));
            String line;
            boolean data = false;
            while ((line = in.readLine()) != null) {
                if (data) {
                    if (!line.equals(".")) {
                        continue;
                    }
                    data = false;
                }
                if (line.startsWith("AUTH")) {
                    authLines.add(line);
                }
                String reply = line.startsWith("EHLO") ? "250-auth.test\r\n250 AUTH " + offered
                        : line.startsWith("AUTH PLAIN ") ? "235 2.7.0 ok"
                        : line.equals("AUTH LOGIN") ? "334 VXNlcm5hbWU6"
                        : line.equals("YXBw") ? "334 UGFzc3dvcmQ6"
                        : line.equals("dDBwc2VjcmV0") ? "235 2.7.0 ok"
                        : line.equals("DATA") ? "354 go" : "250 2.0.0 ok";
                data = line.equals("DATA");
                out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        }); SmtpClient engine = new SmtpClient(new SmtpClient.Settings("relay.test",
                java.time.Duration.ofSeconds(2), java.time.Duration.ofSeconds(3)))) {
            String where = "127.0.0.1:" + server.port();
            SmtpConnection.Dial dial = new SmtpConnection.Dial("127.0.0.1", java.net.InetAddress.getLoopbackAddress(),
                    server.port(), where, "127.0.0.1[127.0.0.1]:" + server.port(), SmtpConnection.TlsMode.NONE,
                    Tls.jdk(), java.util.Optional.of(new SmtpConnection.Login("app", "t0psecret", auth, java.util.Optional.empty())),
                    false);
            SmtpClient.Attempt a = engine.deliver(new NextHop.Relay("default", null), dial, false, "bounce@example.com",
                    List.of("a@example.net"), MESSAGE, true);
            if (expected.startsWith("451")) {
                assertThat(a.outcomes()).singleElement().satisfies(r -> assertThat(r.reply().toString())
                        .isEqualTo(expected.replace("WHERE", where)));
                assertThat(authLines).isEmpty();
            } else {
                assertThat(a.outcomes()).singleElement().satisfies(r -> assertThat(r.status()).isEqualTo(Status.SENT));
                assertThat(authLines).first().isEqualTo(expected);
            }
        }
    }
}
