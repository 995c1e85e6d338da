package dev.returnpath.oauth;

import dev.returnpath.config.RelayConfig.OAuth;
import dev.returnpath.config.RelayConfig.OAuthProvider;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.OAuthFixture;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.tls.ServerCredentials;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The token client against raw HTTPS servers on loopback that misbehave on the wire: a
 * certificate for another name, a body dripped a byte at a time, a redirect.
 */
class TokenEndpointWireTest {
    final MutableClock clock = new MutableClock(Instant.parse("2026-12-31T10:00:00Z"));
    SSLServerSocket server;
    final AtomicInteger connections = new AtomicInteger();
    final StringBuilder requests = new StringBuilder();

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    interface Answer {
        void write(OutputStream out) throws Exception;
    }

    /** A TLS server on {@code address} with the fixture's certificate (localhost, 127.0.0.1) that answers each request with {@code answer}. */
    int serve(String address, Answer answer) throws Exception {
        TestPki pki = OAuthFixture.pki();
        TestPki.Pair pair = pki.issue("raw-tokens", "ec");
        server = (SSLServerSocket) ServerCredentials.load(pair.cert(), pair.key()).sslContext()
                .getServerSocketFactory().createServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(address), 0));
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    SSLSocket s = (SSLSocket) server.accept();
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            InputStream in = s.getInputStream();
                            byte[] head = readHead(in);
                            synchronized (requests) {
                                requests.append(new String(head, StandardCharsets.ISO_8859_1));
                            }
                            answer.write(s.getOutputStream());
                        } catch (Exception ignored) {
                            // the client went away
                        }
                    });
                } catch (Exception e) {
                    return;
                }
            }
        });
        return server.getLocalPort();
    }

    static byte[] readHead(InputStream in) throws Exception {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            byte[] a = b.toByteArray();
            int n = a.length;
            if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') {
                return a;
            }
        }
        return b.toByteArray();
    }

    static OAuth oauth(String url) throws Exception {
        return new OAuth(OAuthProvider.GENERIC, URI.create(url), "mail", Optional.of("the-client"),
                Optional.of("s3cret-VALUE"), Optional.empty(), Optional.of(OAuthFixture.pki().caCert));
    }

    @Test
    void aTrustedCertificateForAnotherHostIsRefused() throws Exception {
        // the certificate names localhost and 127.0.0.1: at 127.0.0.2 it is the wrong host
        int port = serve("127.0.0.2", out -> {
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 44\r\n\r\n"
                    + "{\"access_token\":\"tok\",\"token_type\":\"Bearer\"}").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        });
        try (TokenSource tokens = new TokenSource(oauth("https://127.0.0.2:" + port + "/token"), "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).isInstanceOf(TokenException.class)
                    .hasMessageStartingWith("token endpoint 127.0.0.2 failed TLS");
        }
        assertThat(requests.toString()).doesNotContain("POST");
    }

    @Test
    void aBodyDrippedSlowlyIsCutAtTheResponseTimeout() throws Exception {
        int port = serve("127.0.0.1", out -> {
            out.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (int i = 0; i < 4000; i++) {
                out.write(' ');
                out.flush();
                Thread.sleep(50);
            }
        });
        try (TokenSource tokens = new TokenSource(new TokenEndpoint(oauth("https://localhost:" + port + "/token"),
                "relay@example.com", clock, Duration.ofMillis(700)), clock)) {
            long start = System.nanoTime();
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost did not answer within 700ms");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void aRedirectIsNotFollowed() throws Exception {
        int port = serve("127.0.0.1", out -> {
            out.write(("HTTP/1.1 307 Temporary Redirect\r\nLocation: https://localhost:" + server.getLocalPort()
                    + "/elsewhere\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        });
        try (TokenSource tokens = new TokenSource(oauth("https://localhost:" + port + "/token"), "relay@example.com", clock)) {
            assertThatThrownBy(tokens::token).hasMessage("token endpoint localhost answered HTTP 307");
        }
        assertThat(requests.toString()).contains("POST /token").doesNotContain("/elsewhere");
    }
}
