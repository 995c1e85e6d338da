package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.OAuthFixture;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * AUTH XOAUTH2 in the engine, over real sockets: a loopback HTTPS token endpoint (private CA)
 * and an implicit-TLS smarthost that checks the bearer token against the tokens it issued.
 */
class XOAuth2DeliveryTest {
    @TempDir
    Path dir;
    @RegisterExtension
    final OAuthFixture fixture = new OAuthFixture();
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-31T10:00:00Z"));
    static final OutboundMessage MESSAGE = OutboundMessage.inMemory(
            "From: relay@example.com\r\nSubject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));

    static String localhostPem() throws Exception {
        return OAuthFixture.localhostPem();
    }

    RelayConfig config(String secret) throws Exception {
        return ConfigLoader.parseString(TestRelay.baseHocon(fixture.upstream.port(), dir) + "\n"
                + fixture.smarthost("client-secret = \"" + secret + "\""), "test.conf");
    }

    SmarthostDelivery delivery(String secret) throws Exception {
        return delivery(config(secret));
    }

    /** The delivery of {@code c}'s smarthost, with token refresh on the test's clock. */
    SmarthostDelivery delivery(RelayConfig c) {
        return new SmarthostDelivery(c, new SmtpClient(SmarthostDelivery.settings(c)), true, true, clock);
    }

    static DeliveryOutcome send(SmarthostDelivery d, int i) {
        return d.deliver(new Envelope("ID" + i, "bounce@example.com", List.of("user" + i + "@gmail.test")), MESSAGE);
    }

    @Test
    void oneTokenServesEveryConnectionUntilItIsDueThenANewOneIsFetched() throws Exception {
        fixture.upstream.closeAfterMessage = true; // each message on a new connection, each with its own AUTH
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            for (int i = 0; i < 3; i++) {
                assertThat(send(d, i).allSent()).isTrue();
            }
            assertThat(fixture.upstream.received).hasSize(3);
            assertThat(fixture.upstream.presented).hasSize(3).containsOnly(fixture.endpoint.issued.get(0));
            assertThat(fixture.endpoint.requests.get()).isEqualTo(1);
            assertThat(fixture.upstream.authLines.get(0)).isEqualTo("user=relay@example.com\u0001auth=Bearer " + fixture.endpoint.issued.get(0) + "\u0001\u0001");

            clock.advance(Duration.ofMinutes(56)); // within the last five minutes of the hour
            assertThat(send(d, 3).allSent()).isTrue();
            assertThat(fixture.endpoint.requests.get()).isEqualTo(2);
            assertThat(fixture.upstream.received.get(3).token()).isEqualTo(fixture.endpoint.issued.get(1));
        }
    }

    @Test
    void aTokenEndpointThatIsDownDefersWithA4xxNamingIt() throws Exception {
        RelayConfig c = config("s3cret-VALUE");
        fixture.endpoint.close();
        try (SmarthostDelivery d = delivery(c)) {
            DeliveryOutcome o = send(d, 0);
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).isEqualTo("451 4.7.8 no OAuth token for localhost:" + fixture.upstream.port()
                        + ": token endpoint localhost is unreachable (connection refused)");
            });
            assertThat(fixture.upstream.authLines).isEmpty();
            assertThat(fixture.upstream.received).isEmpty();
        }
    }

    @Test
    void aWrongSecretDefersWithInvalidClientAndNeverTheSecret() throws Exception {
        try (SmarthostDelivery d = delivery("wrong-SECRET-42")) {
            DeliveryOutcome o = send(d, 0);
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).isEqualTo("451 4.7.8 no OAuth token for localhost:" + fixture.upstream.port()
                        + ": token endpoint localhost answered HTTP 401: invalid_client (AADSTS7000215)");
                assertThat(r.toString()).doesNotContain("wrong-SECRET-42");
            });
            assertThat(fixture.upstream.received).isEmpty();
        }
    }

    @Test
    void aRevokedTokenGetsThe334ChallengeAnEmptyLineThenOneNewTokenAndTheMessageGoes() throws Exception {
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            fixture.upstream.closeAfterMessage = true;
            assertThat(send(d, 0).allSent()).isTrue();
            fixture.endpoint.revoked.add(fixture.endpoint.issued.get(0));
            assertThat(send(d, 1).allSent()).isTrue();
            // the challenge was answered with the empty line, and the retry used a new token
            assertThat(fixture.upstream.authLines).hasSize(4);
            assertThat(fixture.upstream.authLines.get(2)).isEqualTo("");
            assertThat(fixture.upstream.presented).containsExactly(fixture.endpoint.issued.get(0), fixture.endpoint.issued.get(0), fixture.endpoint.issued.get(1));
            assertThat(fixture.upstream.received.get(1).token()).isEqualTo(fixture.endpoint.issued.get(1));
            assertThat(fixture.endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void exchangeOnlines535ToACachedTokenIsRetriedOnceWithANewOne() throws Exception {
        fixture.upstream.microsoftStyle = true;
        fixture.upstream.closeAfterMessage = true;
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            assertThat(send(d, 0).allSent()).isTrue();
            fixture.endpoint.revoked.add(fixture.endpoint.issued.get(0));
            assertThat(send(d, 1).allSent()).isTrue();
            assertThat(fixture.upstream.presented).containsExactly(fixture.endpoint.issued.get(0), fixture.endpoint.issued.get(0), fixture.endpoint.issued.get(1));
            assertThat(fixture.endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void aTokenRefusedAfterTheRefreshIsAnAuthFailureWithoutALoop() throws Exception {
        fixture.upstreamFor("someone-else@example.com"); // the mailbox is not the app's
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            DeliveryOutcome o = send(d, 0);
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).startsWith("451 4.7.8 authentication with localhost:" + fixture.upstream.port()
                        + " failed: 535 5.7.8 Username and Password not accepted.").endsWith("(XOAUTH2 status 401)");
                assertThat(r.reply().toString()).doesNotContain(fixture.endpoint.issued.get(0));
            });
            // one refresh, then the verdict: two AUTHs, two tokens
            assertThat(fixture.upstream.presented).hasSize(2);
            assertThat(fixture.endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void aServerThatRefusesEvenAFreshTokenIsNotAskedWithANewOneForAMinute() throws Exception {
        fixture.upstreamFor("someone-else@example.com"); // every token of the app's user is refused
        fixture.upstream.closeAfterMessage = true;
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            assertThat(send(d, 0).allSent()).isFalse();
            assertThat(fixture.endpoint.requests.get()).isEqualTo(2); // the first token, then one refresh
            // the next messages: the refused token is tried once each, and no new one is fetched
            for (int i = 1; i <= 3; i++) {
                DeliveryOutcome o = send(d, i);
                assertThat(o.recipients()).singleElement().satisfies(r -> {
                    assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                    assertThat(r.reply().toString()).startsWith("451 4.7.8 authentication with localhost:");
                });
            }
            assertThat(fixture.endpoint.requests.get()).isEqualTo(2);
            assertThat(fixture.upstream.presented).hasSize(2 + 3);
            // a minute later the server may have been fixed: one new token is tried
            clock.advance(Duration.ofSeconds(61));
            assertThat(send(d, 4).allSent()).isFalse();
            assertThat(fixture.endpoint.requests.get()).isEqualTo(3);
        }
    }

    @Test
    void aHundredSessionsAtOnceWaitForOneTokenFetch() throws Exception {
        fixture.endpoint.delayMillis = 300;
        try (SmarthostDelivery d = delivery("s3cret-VALUE"); ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<DeliveryOutcome>> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                int n = i;
                all.add(pool.submit(() -> {
                    go.await();
                    return send(d, n);
                }));
            }
            go.countDown();
            for (Future<DeliveryOutcome> f : all) {
                assertThat(f.get().allSent()).isTrue();
            }
            assertThat(fixture.endpoint.requests.get()).isEqualTo(1);
            assertThat(fixture.upstream.received).hasSize(100);
            assertThat(fixture.upstream.presented).hasSizeGreaterThanOrEqualTo(2).containsOnly(fixture.endpoint.issued.get(0));
        }
    }

    @Test
    void aServerThatDoesNotOfferXoauth2IsAnAuthFailureSayingSo() throws Exception {
        try (Upstream plain = new Upstream("/tls/localhost.p12", true, "relay@example.com", "pw")) {
            RelayConfig c = ConfigLoader.parseString(TestRelay.baseHocon(plain.port(), dir) + "\n"
                    + fixture.smarthost(plain.port(), "starttls", "client-secret = \"s3cret-VALUE\""),
                    "test.conf");
            try (SmarthostDelivery d = delivery(c)) {
                assertThat(send(d, 0).recipients()).singleElement().satisfies(r -> assertThat(r.reply().toString())
                        .isEqualTo("451 4.7.8 authentication with localhost:" + plain.port()
                                + " failed: it does not offer AUTH XOAUTH2 (delivery.smarthost.auth = xoauth2)"));
                assertThat(plain.received).isEmpty();
            }
        }
    }

    @Test
    void aGoogleServiceAccountKeyFileSignsAnAssertionForTheSendingUser() throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        java.security.KeyPair kp = g.generateKeyPair();
        fixture.endpoint.serviceAccountKey = kp.getPublic();
        fixture.endpoint.expectedIssuer = "relay@project.iam.gserviceaccount.com";
        fixture.endpoint.expectedSubject = "relay@example.com";
        Path sa = dir.resolve("sa.json");
        java.nio.file.Files.writeString(sa, "{\"type\": \"service_account\", \"client_email\": \"relay@project.iam.gserviceaccount.com\","
                + " \"private_key\": \"" + dev.returnpath.dkim.DkimKey.pem(kp.getPrivate()).replace("\n", "\\n") + "\","
                + " \"token_uri\": \"" + fixture.endpoint.url() + "\"}");
        RelayConfig c = ConfigLoader.parseString(TestRelay.baseHocon(fixture.upstream.port(), dir) + "\n" + """
                returnpath.delivery.smarthost {
                  host = "localhost", port = %d, tls = implicit, ca-file = "%s"
                  username = "relay@example.com", auth = xoauth2
                  oauth { provider = google, service-account-file = "%s", ca-file = "%s" }
                }
                """.formatted(fixture.upstream.port(), localhostPem(), sa, fixture.ca()), "test.conf");
        try (SmarthostDelivery d = delivery(c)) {
            assertThat(send(d, 0).allSent()).isTrue();
            assertThat(fixture.endpoint.assertions).singleElement().satisfies(claims -> assertThat(claims.get("sub")).isEqualTo("relay@example.com"));
            assertThat(fixture.upstream.received).singleElement().satisfies(m -> assertThat(m.token()).isEqualTo(fixture.endpoint.issued.get(0)));
        }
    }

    @Test
    void theDoctorFetchesATokenAndTriesAuth() throws Exception {
        RelayConfig c = config("s3cret-VALUE");
        assertThat(UpstreamProbe.probe(c)).extracting(UpstreamProbe.Step::step, UpstreamProbe.Step::verdict).containsExactly(
                org.assertj.core.groups.Tuple.tuple("connect", UpstreamProbe.Verdict.OK),
                org.assertj.core.groups.Tuple.tuple("tls", UpstreamProbe.Verdict.OK),
                org.assertj.core.groups.Tuple.tuple("oauth", UpstreamProbe.Verdict.OK),
                org.assertj.core.groups.Tuple.tuple("auth", UpstreamProbe.Verdict.OK));
        assertThat(UpstreamProbe.probe(c).get(2).found()).startsWith("token from localhost for relay@example.com, valid ");
        List<UpstreamProbe.Step> wrong = UpstreamProbe.probe(config("wrong-SECRET-42"));
        assertThat(wrong.get(2)).isEqualTo(new UpstreamProbe.Step("oauth", UpstreamProbe.Verdict.FAILED,
                "token endpoint localhost answered HTTP 401: invalid_client (AADSTS7000215)"));
        assertThat(wrong.get(3).verdict()).isEqualTo(UpstreamProbe.Verdict.SKIPPED);
        assertThat(wrong.toString()).doesNotContain("wrong-SECRET-42");
    }
}
