package dev.returnpath.testkit;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A token endpoint ({@link TokenServer}) and a smarthost that wants its tokens
 * ({@link XOAuth2Upstream}, for the mailbox {@link #MAILBOX}), both on loopback, and the
 * {@code delivery.smarthost} block that points a relay at them with {@code provider = microsoft}.
 * A JUnit extension ({@code @RegisterExtension}): both are started before each test and closed
 * after it. The private CA is made once per JVM, in a temporary directory removed at exit.
 */
public final class OAuthFixture implements BeforeEachCallback, AfterEachCallback {
    public static final String MAILBOX = "relay@example.com";
    private static TestPki shared;
    private TestPki pki;
    public TokenServer endpoint;
    public XOAuth2Upstream upstream;

    /** The CA of every fixture in this JVM. */
    public static synchronized TestPki pki() throws IOException {
        if (shared == null) {
            Path dir = Files.createTempDirectory("returnpath-oauth-pki");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                } catch (IOException | UncheckedIOException ignored) {
                    // a temporary directory
                }
            }));
            shared = new TestPki(dir);
        }
        return shared;
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        pki = pki();
        endpoint = new TokenServer(pki);
        upstream = new XOAuth2Upstream(MAILBOX, endpoint::valid);
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        upstream.close();
        endpoint.close();
    }

    /** Replaces the smarthost by one that accepts tokens for {@code mailbox} only. */
    public void upstreamFor(String mailbox) throws Exception {
        upstream.close();
        upstream = new XOAuth2Upstream(mailbox, endpoint::valid);
    }

    /** The certificate of {@code /tls/localhost.p12}, as a smarthost {@code ca-file}. */
    public static String localhostPem() throws Exception {
        return Path.of(OAuthFixture.class.getResource("/tls/localhost.pem").toURI()).toString();
    }

    /** The private CA the token endpoint's certificate is from. */
    public Path ca() {
        return pki.caCert;
    }

    /**
     * The smarthost block for {@link #upstream} (implicit TLS) with the Microsoft provider at
     * {@link #endpoint}; {@code secretLine} is e.g. {@code client-secret = "..."}.
     */
    public String smarthost(String secretLine) throws Exception {
        return smarthost(upstream.port(), "implicit", secretLine);
    }

    public String smarthost(int port, String tls, String secretLine) throws Exception {
        return "returnpath.delivery.smarthost " + block(port, tls, secretLine);
    }

    /** The same block without its key, for a route: {@code { host = ..., oauth { ... } }}. */
    public String block(int port, String tls, String secretLine) throws Exception {
        return """
                {
                  host = "localhost", port = %d, tls = %s, ca-file = "%s"
                  username = "%s", auth = xoauth2
                  oauth { provider = microsoft, tenant = "contoso.onmicrosoft.com", client-id = "the-client",
                          %s, token-url = "%s", ca-file = "%s" }
                }
                """.formatted(port, tls, localhostPem(), MAILBOX, secretLine, endpoint.url(), pki.caCert);
    }
}
