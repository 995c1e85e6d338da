package dev.returnpath.oauth;

import dev.returnpath.config.RelayConfig.OAuth;
import dev.returnpath.config.RelayConfig.OAuthProvider;
import dev.returnpath.config.RelayConfig.ServiceAccount;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.OAuthFixture;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TokenServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Token sources against a real HTTPS token endpoint on loopback, trusted through a private CA. */
class TokenSourceTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    TokenServer endpoint;
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-31T10:00:00Z"));

    @BeforeEach
    void start() throws Exception {
        pki = OAuthFixture.pki();
        endpoint = new TokenServer(pki);
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    OAuth microsoft(String secret) {
        return new OAuth(OAuthProvider.MICROSOFT, URI.create(endpoint.url()), "https://outlook.office365.com/.default",
                Optional.of("the-client"), Optional.of(secret), Optional.empty(), Optional.of(pki.caCert));
    }

    @Test
    void clientCredentialsGiveATokenThatIsReusedUntilShortlyBeforeItExpires() throws Exception {
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock)) {
            TokenSource.Token first = tokens.token();
            assertThat(endpoint.valid(first.value())).isTrue();
            clock.advance(Duration.ofMinutes(54));
            assertThat(tokens.token()).isSameAs(first);
            assertThat(endpoint.requests.get()).isEqualTo(1);
            // an hour's token is refreshed in its last five minutes, before the server would refuse it
            clock.advance(Duration.ofMinutes(1));
            TokenSource.Token second = tokens.token();
            assertThat(second.value()).isNotEqualTo(first.value());
            assertThat(endpoint.requests.get()).isEqualTo(2);
            assertThat(second.expiresAt()).isEqualTo(clock.instant().plusSeconds(3600));
        }
    }

    @Test
    void aShortLivedTokenIsRefreshedAfterFourFifthsOfItsLifetime() throws Exception {
        endpoint.expiresIn = 100;
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock)) {
            TokenSource.Token first = tokens.token();
            clock.advance(Duration.ofSeconds(79));
            assertThat(tokens.token()).isSameAs(first);
            clock.advance(Duration.ofSeconds(1));
            assertThat(tokens.token()).isNotSameAs(first);
        }
    }

    @Test
    void anExpiresInPastTheClocksRangeIsATokenNotACrash() throws Exception {
        // 18 digits: a Long, but seconds past Instant.MAX; the token is used, refreshed within a day
        endpoint.expiresIn = 999_999_999_999_999_999L;
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock)) {
            TokenSource.Token t = tokens.token();
            assertThat(endpoint.valid(t.value())).isTrue();
            assertThat(t.expiresAt()).isEqualTo(clock.instant().plus(TokenEndpoint.MAX_LIFETIME));
            clock.advance(TokenEndpoint.MAX_LIFETIME);
            assertThat(tokens.token().value()).isNotEqualTo(t.value());
        }
    }

    @Test
    void aRefreshThatFailsKeepsTheTokenInUseUntilShortlyBeforeItExpires() throws Exception {
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock)) {
            TokenSource.Token first = tokens.token();
            endpoint.forcedStatus = 503;
            endpoint.forcedBody = "<html>down for maintenance</html>";
            // due for refresh (the last five minutes), the endpoint down: the token still works
            clock.advance(Duration.ofMinutes(56));
            assertThat(tokens.token()).isSameAs(first);
            assertThat(endpoint.requests.get()).isEqualTo(2); // the refresh was tried
            clock.advance(Duration.ofMinutes(3));
            assertThat(tokens.token()).isSameAs(first);
            assertThat(endpoint.requests.get()).isEqualTo(3); // and tried again by the next caller
            // too close to its expiry to be sent: the endpoint's failure is the answer
            clock.advance(Duration.ofSeconds(40));
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost answered HTTP 503");
            // a token the server refused is not kept for the outage either
            endpoint.forcedBody = null;
            clock.advance(TokenSource.FAILURE_PAUSE); // (past the pause after the failure above)
            TokenSource.Token second = tokens.token();
            assertThat(second.value()).isNotEqualTo(first.value());
            tokens.rejected(second);
            endpoint.forcedBody = "<html>down for maintenance</html>";
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost answered HTTP 503");
        }
    }

    @Test
    void aCaFileGoneAfterTheLoadIsATokenFailureNotACrash() throws Exception {
        OAuth gone = new OAuth(OAuthProvider.MICROSOFT, URI.create(endpoint.url()), "https://outlook.office365.com/.default",
                Optional.of("the-client"), Optional.of("s3cret-VALUE"), Optional.empty(), Optional.of(dir.resolve("gone.pem")));
        try (TokenSource tokens = new TokenSource(gone, "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).isInstanceOf(TokenException.class)
                    .hasMessageStartingWith("token endpoint localhost: cannot use CA file " + dir.resolve("gone.pem"))
                    .hasMessageNotContaining("s3cret-VALUE");
            assertThat(endpoint.requests.get()).isZero();
            // back (a mounted file swapped in): the next fetch after the pause takes it
            java.nio.file.Files.copy(pki.caCert, dir.resolve("gone.pem"));
            clock.advance(TokenSource.FAILURE_PAUSE);
            assertThat(endpoint.valid(tokens.token().value())).isTrue();
        }
    }

    @Test
    void aWrongSecretNamesTheHostAndTheOAuthErrorButNeverTheSecret() throws Exception {
        try (TokenSource tokens = new TokenSource(microsoft("wrong-SECRET-42"), "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).isInstanceOfSatisfying(TokenException.class, e -> {
                assertThat(e.getMessage()).isEqualTo("token endpoint localhost answered HTTP 401: invalid_client (AADSTS7000215)");
                assertThat(e.error()).isEqualTo("invalid_client");
                assertThat(e.host()).isEqualTo("localhost");
                assertThat(e.toString()).doesNotContain("wrong-SECRET-42");
            });
        }
    }

    @Test
    void aFailedFetchIsTheAnswerForEveryoneWhoWaitedForItAndTheNextCallerTriesAgain() throws Exception {
        endpoint.forcedStatus = 503;
        endpoint.forcedBody = "<html>down for maintenance</html>";
        endpoint.delayMillis = 300;
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> all = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                all.add(pool.submit(() -> {
                    go.await();
                    try {
                        return tokens.token().value();
                    } catch (TokenException e) {
                        return e.getMessage();
                    }
                }));
            }
            go.countDown();
            for (Future<String> f : all) {
                assertThat(f.get()).isEqualTo("token endpoint localhost answered HTTP 503");
            }
            assertThat(endpoint.requests.get()).isEqualTo(1);
            endpoint.forcedBody = null;
            endpoint.delayMillis = 0;
            // within the pause after a failure: the same answer, and no new request
            clock.advance(TokenSource.FAILURE_PAUSE.minusSeconds(1));
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost answered HTTP 503");
            assertThat(endpoint.requests.get()).isEqualTo(1);
            clock.advance(Duration.ofSeconds(1));
            assertThat(endpoint.valid(tokens.token().value())).isTrue();
            assertThat(endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void anEndpointThatIsNotListeningSaysSo() throws Exception {
        OAuth oauth = microsoft("s3cret-VALUE");
        endpoint.close();
        try (TokenSource tokens = new TokenSource(oauth, "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).isInstanceOf(TokenException.class)
                    .hasMessageStartingWith("token endpoint localhost is unreachable");
        }
    }

    @Test
    void aGenericProviderAsksForItsOwnScope() throws Exception {
        endpoint.scope = "smtp.send";
        OAuth generic = new OAuth(OAuthProvider.GENERIC, URI.create(endpoint.url()), "smtp.send", Optional.of("the-client"),
                Optional.of("s3cret-VALUE"), Optional.empty(), Optional.of(pki.caCert));
        try (TokenSource tokens = new TokenSource(generic, "relay@example.com", clock)) {
            assertThat(endpoint.valid(tokens.token().value())).isTrue();
        }
        OAuth wrongScope = new OAuth(OAuthProvider.GENERIC, URI.create(endpoint.url()), "mail.read", Optional.of("the-client"),
                Optional.of("s3cret-VALUE"), Optional.empty(), Optional.of(pki.caCert));
        try (TokenSource tokens = new TokenSource(wrongScope, "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost answered HTTP 400: invalid_scope");
        }
    }

    @Test
    void anEndpointWhoseCertificateIsNotTrustedIsRefused() throws Exception {
        OAuth untrusted = new OAuth(OAuthProvider.GENERIC, URI.create(endpoint.url()), "mail", Optional.of("the-client"),
                Optional.of("s3cret-VALUE"), Optional.empty(), Optional.empty());
        try (TokenSource tokens = new TokenSource(untrusted, "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).hasMessageStartingWith("token endpoint localhost failed TLS");
            assertThat(endpoint.issued).isEmpty();
        }
    }

    @Test
    void anAnswerLargerThanTheBoundIsRefused() throws Exception {
        endpoint.forcedStatus = 200;
        endpoint.forcedBody = "{\"access_token\":\"" + "x".repeat(TokenEndpoint.MAX_BODY) + "\"}";
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost answered more than 64 KiB");
        }
    }

    @Test
    void aSlowEndpointTimesOut() throws Exception {
        endpoint.delayMillis = 3_000;
        try (TokenSource tokens = new TokenSource(new TokenEndpoint(microsoft("s3cret-VALUE"), "relay@example.com", clock,
                Duration.ofMillis(300)), clock)) {
            long start = System.nanoTime();
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost did not answer within 300ms");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        }
    }

    @Test
    void aHundredCallersAtOnceMakeOneFetchAndShareItsToken() throws Exception {
        endpoint.delayMillis = 300;
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                all.add(pool.submit(() -> {
                    go.await();
                    return tokens.token().value();
                }));
            }
            go.countDown();
            Set<String> seen = ConcurrentHashMap.newKeySet();
            for (Future<String> f : all) {
                seen.add(f.get());
            }
            assertThat(seen).hasSize(1);
            assertThat(endpoint.requests.get()).isEqualTo(1);
            assertThat(tokens.fetches()).isEqualTo(1);
        }
    }

    @Test
    void aRejectedTokenIsReplacedOnceHoweverManyReportIt() throws Exception {
        try (TokenSource tokens = new TokenSource(microsoft("s3cret-VALUE"), "relay@example.com", clock)) {
            TokenSource.Token first = tokens.token();
            tokens.rejected(first);
            TokenSource.Token second = tokens.token();
            tokens.rejected(first); // a second session reporting the same old token
            assertThat(tokens.token()).isSameAs(second);
            assertThat(endpoint.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void googleServiceAccountAssertionVerifiesWithTheAccountsPublicKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        endpoint.serviceAccountKey = kp.getPublic();
        endpoint.expectedIssuer = "relay@project.iam.gserviceaccount.com";
        endpoint.expectedSubject = "sender@example.net";
        ServiceAccount sa = new ServiceAccount(dir.resolve("sa.json"), "relay@project.iam.gserviceaccount.com",
                kp.getPrivate(), URI.create(endpoint.url()));
        OAuth google = new OAuth(OAuthProvider.GOOGLE, URI.create(endpoint.url()), "https://mail.google.com/",
                Optional.empty(), Optional.empty(), Optional.of(sa), Optional.of(pki.caCert));
        try (TokenSource tokens = new TokenSource(google, "sender@example.net", clock)) {
            assertThat(endpoint.valid(tokens.token().value())).isTrue();
            assertThat(endpoint.assertions).singleElement().satisfies(c -> {
                assertThat(c.get("iat")).isEqualTo(String.valueOf(clock.instant().getEpochSecond()));
                assertThat(c.get("aud")).isEqualTo(endpoint.url());
            });
        }
        // a key that is not the account's is refused by the endpoint, with its error code
        KeyPair other = KeyPairGenerator.getInstance("RSA").generateKeyPair();
        OAuth wrongKey = new OAuth(OAuthProvider.GOOGLE, URI.create(endpoint.url()), "https://mail.google.com/",
                Optional.empty(), Optional.empty(),
                Optional.of(new ServiceAccount(sa.file(), sa.clientEmail(), other.getPrivate(), sa.tokenUri())),
                Optional.of(pki.caCert));
        try (TokenSource tokens = new TokenSource(wrongKey, "sender@example.net", clock)) {
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost answered HTTP 400: invalid_grant");
        }
    }
}
