package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.TokenServer;
import dev.returnpath.testkit.Upstream;
import dev.returnpath.testkit.XOAuth2Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
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
    static Path pkiDir;
    static TestPki pki;
    @TempDir
    Path dir;
    TokenServer endpoint;
    XOAuth2Upstream upstream;
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-31T10:00:00Z"));
    static final OutboundMessage MESSAGE = OutboundMessage.inMemory(
            "From: relay@example.com\r\nSubject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));

    @BeforeAll
    static void ca() throws Exception {
        pki = new TestPki(pkiDir);
    }

    @BeforeEach
    void start() throws Exception {
        endpoint = new TokenServer(pki);
        upstream = new XOAuth2Upstream("relay@example.com", endpoint::valid);
    }

    @AfterEach
    void stop() throws Exception {
        upstream.close();
        endpoint.close();
    }

    static String localhostPem() throws Exception {
        return Path.of(XOAuth2DeliveryTest.class.getResource("/tls/localhost.pem").toURI()).toString();
    }

    /** The smarthost block for {@code port}, Microsoft provider pointed at the loopback endpoint. */
    static String smarthost(int port, String tokenUrl, Path ca, String secret) throws Exception {
        return """
                returnpath.delivery.smarthost {
                  host = "localhost", port = %d, tls = implicit, ca-file = "%s"
                  username = "relay@example.com", auth = xoauth2
                  oauth { provider = microsoft, tenant = "contoso.onmicrosoft.com", client-id = "the-client",
                          client-secret = "%s", token-url = "%s", ca-file = "%s" }
                }
                """.formatted(port, localhostPem(), secret, tokenUrl, ca);
    }

    RelayConfig config(String secret) throws Exception {
        return ConfigLoader.parseString(TestRelay.baseHocon(upstream.port(), dir) + "\n"
                + smarthost(upstream.port(), endpoint.url(), pki.caCert, secret), "test.conf");
    }

    SmarthostDelivery delivery(String secret) throws Exception {
        RelayConfig c = config(secret);
        return new SmarthostDelivery(c, new SmtpClient(SmarthostDelivery.settings(c)), true, clock);
    }

    static DeliveryOutcome send(SmarthostDelivery d, int i) {
        return d.deliver(new Envelope("ID" + i, "bounce@example.com", List.of("user" + i + "@gmail.test")), MESSAGE);
    }

    @Test
    void oneTokenServesEveryConnectionUntilItIsDueThenANewOneIsFetched() throws Exception {
        upstream.closeAfterMessage = true; // each message on a new connection, each with its own AUTH
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            for (int i = 0; i < 3; i++) {
                assertThat(send(d, i).allSent()).isTrue();
            }
            assertThat(upstream.received).hasSize(3);
            assertThat(upstream.presented).hasSize(3).containsOnly(endpoint.issued.get(0));
            assertThat(endpoint.requests.get()).isEqualTo(1);
            assertThat(upstream.authLines.get(0)).isEqualTo("user=relay@example.com\u0001auth=Bearer " + endpoint.issued.get(0) + "\u0001\u0001");

            clock.advance(Duration.ofMinutes(56)); // within the last five minutes of the hour
            assertThat(send(d, 3).allSent()).isTrue();
            assertThat(endpoint.requests.get()).isEqualTo(2);
            assertThat(upstream.received.get(3).token()).isEqualTo(endpoint.issued.get(1));
        }
    }

    @Test
    void aTokenEndpointThatIsDownDefersWithA4xxNamingIt() throws Exception {
        RelayConfig c = config("s3cret-VALUE");
        endpoint.close();
        try (SmarthostDelivery d = new SmarthostDelivery(c, new SmtpClient(SmarthostDelivery.settings(c)), true, clock)) {
            DeliveryOutcome o = send(d, 0);
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).isEqualTo("451 4.7.8 no OAuth token for localhost:" + upstream.port()
                        + ": token endpoint localhost is unreachable (connection refused)");
            });
            assertThat(upstream.authLines).isEmpty();
            assertThat(upstream.received).isEmpty();
        }
    }

    @Test
    void aWrongSecretDefersWithInvalidClientAndNeverTheSecret() throws Exception {
        try (SmarthostDelivery d = delivery("wrong-SECRET-42")) {
            DeliveryOutcome o = send(d, 0);
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).isEqualTo("451 4.7.8 no OAuth token for localhost:" + upstream.port()
                        + ": token endpoint localhost answered HTTP 401: invalid_client (AADSTS7000215)");
                assertThat(r.toString()).doesNotContain("wrong-SECRET-42");
            });
            assertThat(upstream.received).isEmpty();
        }
    }

    @Test
    void aRevokedTokenGetsThe334ChallengeAnEmptyLineThenOneNewTokenAndTheMessageGoes() throws Exception {
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            upstream.closeAfterMessage = true;
            assertThat(send(d, 0).allSent()).isTrue();
            endpoint.revoked.add(endpoint.issued.get(0));
            assertThat(send(d, 1).allSent()).isTrue();
            // the challenge was answered with the empty line, and the retry used a new token
            assertThat(upstream.authLines).hasSize(4);
            assertThat(upstream.authLines.get(2)).isEqualTo("");
            assertThat(upstream.presented).containsExactly(endpoint.issued.get(0), endpoint.issued.get(0), endpoint.issued.get(1));
            assertThat(upstream.received.get(1).token()).isEqualTo(endpoint.issued.get(1));
            assertThat(endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void exchangeOnlines535ToACachedTokenIsRetriedOnceWithANewOne() throws Exception {
        upstream.microsoftStyle = true;
        upstream.closeAfterMessage = true;
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            assertThat(send(d, 0).allSent()).isTrue();
            endpoint.revoked.add(endpoint.issued.get(0));
            assertThat(send(d, 1).allSent()).isTrue();
            assertThat(upstream.presented).containsExactly(endpoint.issued.get(0), endpoint.issued.get(0), endpoint.issued.get(1));
            assertThat(endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void aTokenRefusedAfterTheRefreshIsAnAuthFailureWithoutALoop() throws Exception {
        upstream.close();
        upstream = new XOAuth2Upstream("someone-else@example.com", endpoint::valid); // the mailbox is not the app's
        try (SmarthostDelivery d = delivery("s3cret-VALUE")) {
            DeliveryOutcome o = send(d, 0);
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(DeliveryOutcome.Status.DEFERRED);
                assertThat(r.reply().toString()).startsWith("451 4.7.8 authentication with localhost:" + upstream.port()
                        + " failed: 535 5.7.8 Username and Password not accepted.").endsWith("(XOAUTH2 status 401)");
                assertThat(r.reply().toString()).doesNotContain(endpoint.issued.get(0));
            });
            // one refresh, then the verdict: two AUTHs, two tokens
            assertThat(upstream.presented).hasSize(2);
            assertThat(endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void aHundredSessionsAtOnceWaitForOneTokenFetch() throws Exception {
        endpoint.delayMillis = 300;
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
            assertThat(endpoint.requests.get()).isEqualTo(1);
            assertThat(upstream.received).hasSize(100);
            assertThat(upstream.presented).hasSizeGreaterThanOrEqualTo(2).containsOnly(endpoint.issued.get(0));
        }
    }

    @Test
    void aServerThatDoesNotOfferXoauth2IsAnAuthFailureSayingSo() throws Exception {
        try (Upstream plain = new Upstream("/tls/localhost.p12", true, "relay@example.com", "pw")) {
            RelayConfig c = ConfigLoader.parseString(TestRelay.baseHocon(plain.port(), dir) + "\n"
                    + smarthost(plain.port(), endpoint.url(), pki.caCert, "s3cret-VALUE").replace("tls = implicit", "tls = starttls"),
                    "test.conf");
            try (SmarthostDelivery d = new SmarthostDelivery(c, new SmtpClient(SmarthostDelivery.settings(c)), true, clock)) {
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
        endpoint.serviceAccountKey = kp.getPublic();
        endpoint.expectedIssuer = "relay@project.iam.gserviceaccount.com";
        endpoint.expectedSubject = "relay@example.com";
        Path sa = dir.resolve("sa.json");
        java.nio.file.Files.writeString(sa, "{\"type\": \"service_account\", \"client_email\": \"relay@project.iam.gserviceaccount.com\","
                + " \"private_key\": \"" + dev.returnpath.dkim.DkimKey.pem(kp.getPrivate()).replace("\n", "\\n") + "\","
                + " \"token_uri\": \"" + endpoint.url() + "\"}");
        RelayConfig c = ConfigLoader.parseString(TestRelay.baseHocon(upstream.port(), dir) + "\n" + """
                returnpath.delivery.smarthost {
                  host = "localhost", port = %d, tls = implicit, ca-file = "%s"
                  username = "relay@example.com", auth = xoauth2
                  oauth { provider = google, service-account-file = "%s", ca-file = "%s" }
                }
                """.formatted(upstream.port(), localhostPem(), sa, pki.caCert), "test.conf");
        try (SmarthostDelivery d = new SmarthostDelivery(c, new SmtpClient(SmarthostDelivery.settings(c)), true, clock)) {
            assertThat(send(d, 0).allSent()).isTrue();
            assertThat(endpoint.assertions).singleElement().satisfies(claims -> assertThat(claims.get("sub")).isEqualTo("relay@example.com"));
            assertThat(upstream.received).singleElement().satisfies(m -> assertThat(m.token()).isEqualTo(endpoint.issued.get(0)));
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
