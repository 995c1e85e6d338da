package dev.returnpath.queue;

import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.OAuthFixture;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A whole relay whose smarthost wants XOAUTH2: what the app hears in passthrough when there is
 * no token, the retry in spool mode, and that no secret or token reaches a log line or a reply.
 */
class XOAuth2RelayTest {
    static final Duration WAIT = Duration.ofSeconds(10);
    static final String SECRET = "s3cret-VALUE";
    @TempDir
    Path dir;
    @RegisterExtension
    final OAuthFixture fixture = new OAuthFixture();
    TestRelay relay;
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-31T10:00:00Z"));

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
    }

    String smarthost(String secretLine) throws Exception {
        return fixture.smarthost(secretLine);
    }

    String send() throws Exception {
        try (SmtpClient c = relay.client()) {
            return c.send("apache@web01.internal", List.of("user@gmail.test"),
                    "From: noreply@example.com\r\nSubject: hi\r\n\r\nhello\r\n".getBytes());
        }
    }

    @Test
    void inPassthroughTheAppHearsA4xxNamingTheEndpointAndTheOAuthErrorAndNothingSecretIsWrittenAnywhere() throws Exception {
        List<String> replies = new ArrayList<>();
        List<String> lines;
        Path secretFile = dir.resolve("client-secret");
        Files.writeString(secretFile, "wrong-SECRET-42\n");
        try (LogCapture log = new LogCapture("ROOT")) {
            relay = new TestRelay(fixture.upstream.port(), dir, smarthost("client-secret-file = \"" + secretFile + "\""));
            String refused = send();
            replies.add(refused);
            assertThat(refused).isEqualTo("451 4.7.8 no OAuth token for localhost:" + fixture.upstream.port()
                    + ": token endpoint localhost answered HTTP 401: invalid_client (AADSTS7000215)");
            relay.close();
            relay = new TestRelay(fixture.upstream.port(), dir, smarthost("client-secret = \"" + SECRET + "\""));
            String sent = send();
            replies.add(sent);
            assertThat(sent).startsWith("250 2.0.0");
            assertThat(fixture.upstream.received).singleElement().satisfies(m -> assertThat(m.reversePath()).isEqualTo("bounce@example.com"));
            lines = log.lines();
        }
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("invalid_client"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("status=sent"));
        List<String> secrets = new ArrayList<>(List.of(SECRET, "wrong-SECRET-42"));
        secrets.addAll(fixture.endpoint.issued);
        for (String s : secrets) {
            assertThat(lines).noneSatisfy(l -> assertThat(l).contains(s));
            assertThat(replies).noneSatisfy(r -> assertThat(r).contains(s));
        }
    }

    @Test
    void aRouteTakesItsDomainsMailThroughItsOwnXoauth2SmarthostWhileTheDefaultKeepsItsPassword() throws Exception {
        try (dev.returnpath.testkit.Upstream plain = new dev.returnpath.testkit.Upstream()) {
            relay = new TestRelay(plain.port(), dir, """
                    returnpath.domains { "example.org" { return-path = "bounce@example.org" } }
                    returnpath.delivery.routes = [
                      { name = "m365", sender-domains = ["example.com"], smarthost %s }
                    ]
                    """.formatted(fixture.block(fixture.upstream.port(), "implicit", "client-secret = \"" + SECRET + "\"")));
            try (LogCapture log = new LogCapture("ROOT")) {
                assertThat(send()).startsWith("250 2.0.0");
                try (SmtpClient c = relay.client()) {
                    assertThat(c.send("apache@web01.internal", List.of("user@gmail.test"),
                            "From: noreply@example.org\r\nSubject: hi\r\n\r\nhello\r\n".getBytes())).startsWith("250 2.0.0");
                }
                assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("route=m365").contains("status=sent"));
                assertThat(log.lines()).noneSatisfy(l -> assertThat(l).contains(fixture.endpoint.issued.get(0)));
            }
            assertThat(fixture.upstream.received).singleElement().satisfies(m -> {
                assertThat(m.reversePath()).isEqualTo("bounce@example.com");
                assertThat(m.token()).isEqualTo(fixture.endpoint.issued.get(0));
            });
            assertThat(plain.received).singleElement().satisfies(m -> assertThat(m.reversePath()).isEqualTo("bounce@example.org"));
        }
    }

    @Test
    void inSpoolModeATokenEndpointThatIsDownMeansARetryAndTheMessageGoesWhenItIsBack() throws Exception {
        fixture.endpoint.forcedStatus = 503;
        fixture.endpoint.forcedBody = "{\"error\":\"temporarily_unavailable\"}";
        relay = new TestRelay(fixture.upstream.port(), dir, "returnpath.queue.mode = spool\n"
                + smarthost("client-secret = \"" + SECRET + "\""), clock);
        String reply = send();
        assertThat(reply).startsWith("250 2.0.0 Ok: queued as ");
        String id = reply.substring(reply.lastIndexOf(' ') + 1);
        Await.until(WAIT, "the first attempt", () -> fixture.endpoint.requests.get() == 1);
        assertThat(SpoolTesting.idle(relay.queue, WAIT)).isTrue();
        QueueEntry e = relay.spool.read(id).orElseThrow();
        assertThat(e.recipients()).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(QueueEntry.State.DEFERRED);
            assertThat(r.reply()).isEqualTo("451 4.7.8 no OAuth token for localhost:" + fixture.upstream.port()
                    + ": token endpoint localhost answered HTTP 503: temporarily_unavailable");
        });
        assertThat(fixture.upstream.received).isEmpty();

        fixture.endpoint.forcedBody = null;
        clock.advance(Duration.ofMinutes(5));
        relay.queue.wake();
        Await.until(WAIT, "the retry's delivery", () -> fixture.upstream.received.size() == 1);
        assertThat(SpoolTesting.idle(relay.queue, WAIT)).isTrue();
        assertThat(relay.spool.ids()).isEmpty();
        assertThat(fixture.upstream.received.get(0).token()).isEqualTo(fixture.endpoint.issued.get(0));
    }
}
