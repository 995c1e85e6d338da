package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.OAuthFixture;
import dev.returnpath.testkit.RawSmtpServer;
import dev.returnpath.testkit.TestRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * AUTH XOAUTH2 against implicit-TLS smarthosts on loopback that misbehave after the initial
 * response: a 334 that is not the JSON challenge, then silence; a second 334 to the client's
 * empty line. Each ends within the command timeout, as one deferral, without the token in it.
 */
class XOAuth2MisbehavingServerTest {
    @TempDir
    Path dir;
    @RegisterExtension
    final OAuthFixture fixture = new OAuthFixture();
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-31T10:00:00Z"));
    final List<String> lines = new CopyOnWriteArrayList<>();

    interface AfterAuth {
        void answer(BufferedReader in, OutputStream out) throws Exception;
    }

    RawSmtpServer server(AfterAuth afterAuth) throws Exception {
        return RawSmtpServer.implicitTlsTalking("/tls/localhost.p12", (Socket s) -> {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            say(out, "220 odd.test ESMTP");
            String line;
            while ((line = in.readLine()) != null) {
                lines.add(line);
                if (line.toUpperCase(java.util.Locale.ROOT).startsWith("EHLO")) {
                    say(out, "250-odd.test\r\n250 AUTH XOAUTH2");
                } else if (line.startsWith("AUTH XOAUTH2 ")) {
                    afterAuth.answer(in, out);
                } else {
                    say(out, "221 2.0.0 bye");
                    return;
                }
            }
        });
    }

    static void say(OutputStream out, String reply) throws java.io.IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    DeliveryOutcome send(RawSmtpServer server) throws Exception {
        RelayConfig c = ConfigLoader.parseString(TestRelay.baseHocon(server.port(), dir) + "\n"
                + fixture.smarthost(server.port(), "implicit", "client-secret = \"s3cret-VALUE\"")
                + "\nreturnpath.delivery.command-timeout = 500ms", "test.conf");
        try (SmarthostDelivery d = new SmarthostDelivery(c, new SmtpClient(SmarthostDelivery.settings(c)), true, true, clock)) {
            return d.deliver(new Envelope("ID1", "bounce@example.com", List.of("user@gmail.test")),
                    OutboundMessage.inMemory("Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII)));
        }
    }

    @Test
    void a334ThatIsNotAChallengeThenSilenceEndsAtTheCommandTimeout() throws Exception {
        try (RawSmtpServer server = server((in, out) -> {
            say(out, "334 bm90IGpzb24=");
            lines.add("after 334: " + in.readLine());
            Thread.sleep(5_000);
        })) {
            long start = System.nanoTime();
            DeliveryOutcome o = send(server);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).startsWith("451 4.4.2 timeout talking to localhost:" + server.port());
                assertThat(r.reply().toString()).doesNotContain(fixture.endpoint.issued.get(0));
            });
            assertThat(lines).contains("after 334: ");
        }
    }

    @Test
    void a334ToTheEmptyLineIsAnAuthFailureNotALoop() throws Exception {
        try (RawSmtpServer server = server((in, out) -> {
            say(out, "334 eyJzdGF0dXMiOiI0MDEifQ=="); // {"status":"401"}
            lines.add("after 334: " + in.readLine());
            say(out, "334 eyJzdGF0dXMiOiI0MDEifQ==");
            lines.add("after second 334: " + in.readLine());
            say(out, "535 5.7.8 Username and Password not accepted");
        })) {
            DeliveryOutcome o = send(server);
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).startsWith("451 4.7.8 authentication with localhost:" + server.port());
                fixture.endpoint.issued.forEach(t -> assertThat(r.reply().toString()).doesNotContain(t));
            });
            // one AUTH per token at most, two tokens: the first and one refresh
            assertThat(lines.stream().filter(l -> l.startsWith("AUTH XOAUTH2 ")).count()).isLessThanOrEqualTo(2);
            assertThat(fixture.endpoint.requests.get()).isLessThanOrEqualTo(2);
            assertThat(lines).noneMatch(l -> l.startsWith("MAIL"));
        }
    }

    @Test
    void theDoctorSkipsAuthWhenTlsFailedEvenAfterAGoodToken() throws Exception {
        try (RawSmtpServer server = RawSmtpServer.sink("AUTH XOAUTH2")) { // no STARTTLS
            RelayConfig c = ConfigLoader.parseString(TestRelay.baseHocon(server.port(), dir) + "\n"
                    + fixture.smarthost(server.port(), "starttls", "client-secret = \"s3cret-VALUE\""), "test.conf");
            List<UpstreamProbe.Step> steps = UpstreamProbe.probe(c);
            assertThat(steps).extracting(UpstreamProbe.Step::step).containsExactly("connect", "tls", "oauth", "auth");
            assertThat(steps.get(1).verdict()).isEqualTo(UpstreamProbe.Verdict.FAILED);
            assertThat(steps.get(2).verdict()).isEqualTo(UpstreamProbe.Verdict.OK);
            assertThat(steps.get(3)).isEqualTo(new UpstreamProbe.Step("auth", UpstreamProbe.Verdict.SKIPPED,
                    "TLS failed: credentials not sent"));
            assertThat(server.commands).noneMatch(l -> l.startsWith("AUTH"));
        }
    }
}
