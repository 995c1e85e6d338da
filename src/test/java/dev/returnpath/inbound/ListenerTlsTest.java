package dev.returnpath.inbound;

import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * STARTTLS and the implicit-TLS port over real loopback sockets, with a private CA and server
 * certificates made by openssl in the test, and clients that verify the certificate and the
 * host name. openssl's s_client is the client that offers TLS 1.1 (the JDK's own client
 * refuses to before it reaches the server).
 */
class ListenerTlsTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    static TestPki.Pair ec;
    static TestPki.Pair rsa;

    @BeforeAll
    static void pki() throws IOException {
        pki = new TestPki(dir);
        ec = pki.issue("server-ec", "ec");
        rsa = pki.issue("server-rsa", "rsa");
    }

    private static String tlsHocon(TestPki.Pair p, int implicitPort) {
        return "returnpath.listen { tls { cert-file = \"" + p.cert() + "\", key-file = \"" + p.key() + "\" }, "
                + "implicit-tls-port = " + implicitPort + " }";
    }

    /** A line-based SMTP client that can turn TLS on under itself. */
    static final class Client implements AutoCloseable {
        Socket socket;
        BufferedReader in;
        OutputStream out;

        Client(Socket s) throws IOException {
            use(s);
        }

        void use(Socket s) throws IOException {
            socket = s;
            s.setSoTimeout(10_000);
            in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            out = s.getOutputStream();
        }

        String reply() throws IOException {
            StringBuilder b = new StringBuilder();
            String line;
            do {
                line = in.readLine();
                if (line == null) {
                    throw new IOException("closed after: " + b);
                }
                b.append(line).append('\n');
            } while (line.length() > 3 && line.charAt(3) == '-');
            return b.toString();
        }

        String command(String c) throws IOException {
            out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return reply();
        }

        /** STARTTLS, then the handshake as {@code ctx} verifying "localhost". */
        SSLSocket startTls(SSLContext ctx, String... protocols) throws IOException {
            assertThat(command("STARTTLS")).startsWith("220");
            SSLSocket s = wrap(ctx, socket, protocols);
            s.startHandshake();
            use(s);
            return s;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static SSLSocket wrap(SSLContext ctx, Socket plain, String... protocols) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, "localhost", plain.getPort(), true);
        SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name localhost
        if (protocols.length > 0) {
            p.setProtocols(protocols);
        }
        s.setSSLParameters(p);
        return s;
    }

    @Test
    void starttlsWithAVerifiedCertificateThenAMessageIsRelayed() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("spool1"), tlsHocon(ec, 0));
             Client c = new Client(new Socket("127.0.0.1", relay.port()))) {
            assertThat(c.reply()).startsWith("220");
            assertThat(c.command("EHLO app.test")).contains("250-STARTTLS");
            SSLSocket s = c.startTls(pki.clientContext("TLS"));
            assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
            assertThat(((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName())
                    .isEqualTo("CN=server-ec");
            String ehlo = c.command("EHLO app.test");
            assertThat(ehlo).startsWith("250").doesNotContain("STARTTLS");
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
            assertThat(c.command("RCPT TO:<user@example.org>")).startsWith("250");
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command("From: app@example.com\r\nTo: user@example.org\r\nSubject: tls\r\n\r\nhello\r\n."))
                    .startsWith("250");
            Await.until(Duration.ofSeconds(10), "the message upstream", () -> up.received.size() == 1);
            assertThat(c.command("QUIT")).startsWith("221");
        }
    }

    @Test
    void tls12IsAcceptedWithAnAeadSuiteAndRsaKey() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("spool2"), tlsHocon(rsa, 0));
             Client c = new Client(new Socket("127.0.0.1", relay.port()))) {
            c.reply();
            c.command("EHLO app.test");
            SSLSocket s = c.startTls(pki.clientContext("TLS"), "TLSv1.2");
            assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.2");
            assertThat(s.getSession().getCipherSuite()).startsWith("TLS_ECDHE_RSA_WITH_").contains("GCM");
            assertThat(c.command("EHLO app.test")).startsWith("250");
        }
    }

    @Test
    void aClientThatDoesNotTrustTheCaFailsTheHandshake() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("spool3"), tlsHocon(ec, 0));
             Client c = new Client(new Socket("127.0.0.1", relay.port()))) {
            c.reply();
            c.command("EHLO app.test");
            assertThat(c.command("STARTTLS")).startsWith("220");
            SSLContext jdkDefaults = SSLContext.getInstance("TLS");
            jdkDefaults.init(null, null, null);
            SSLSocket s = wrap(jdkDefaults, c.socket);
            assertThatThrownBy(s::startHandshake).isInstanceOf(SSLHandshakeException.class);
        }
    }

    /** openssl offers TLS 1.1 (and 1.0) at security level 0; the server answers with an alert. */
    @Test
    void tls11AndTls10AreRefusedTls12And13Accepted() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("spool4"), tlsHocon(rsa, 0))) {
            String port = "127.0.0.1:" + relay.port();
            for (String old : new String[] {"-tls1_1", "-tls1"}) {
                TestPki.Result r = TestPki.run("QUIT\n", "s_client", "-connect", port, "-starttls", "smtp", old,
                        "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", pki.caCert.toString());
                assertThat(r.exit()).as(old + ": " + r.output()).isNotZero();
                assertThat(r.output()).as(old).contains("Cipher is (NONE)")
                        .containsAnyOf("alert protocol version", "no protocols available", "unsupported protocol");
            }
            for (String good : new String[] {"-tls1_2", "-tls1_3"}) {
                TestPki.Result r = TestPki.run("QUIT\n", "s_client", "-connect", port, "-starttls", "smtp", good,
                        "-CAfile", pki.caCert.toString(), "-verify_hostname", "localhost", "-verify_return_error");
                assertThat(r.output()).as(good).contains("Verify return code: 0 (ok)")
                        .contains(good.equals("-tls1_2") ? "TLSv1.2" : "TLSv1.3");
            }
            // CBC and static-RSA suites are not offered, even at TLS 1.2
            TestPki.Result cbc = TestPki.run("QUIT\n", "s_client", "-connect", port, "-starttls", "smtp", "-tls1_2",
                    "-cipher", "AES128-SHA:ECDHE-RSA-AES128-SHA", "-CAfile", pki.caCert.toString());
            assertThat(cbc.exit()).as(cbc.output()).isNotZero();
            assertThat(cbc.output()).contains("handshake failure");
        }
    }

    @Test
    void theImplicitTlsPortSpeaksTlsFromTheFirstByte() throws Exception {
        int implicit;
        try (ServerSocket free = new ServerSocket(0)) {
            implicit = free.getLocalPort();
        }
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("spool5"), tlsHocon(ec, implicit))) {
            SSLSocket s = wrap(pki.clientContext("TLS"), new Socket("127.0.0.1", implicit));
            try (Client c = new Client(s)) {
                s.startHandshake();
                assertThat(c.reply()).startsWith("220");
                String ehlo = c.command("EHLO app.test");
                assertThat(ehlo).startsWith("250").doesNotContain("STARTTLS");
                assertThat(c.command("QUIT")).startsWith("221");
            }
            // and the plain port still offers STARTTLS
            try (Client c = new Client(new Socket("127.0.0.1", relay.port()))) {
                c.reply();
                assertThat(c.command("EHLO app.test")).contains("STARTTLS");
            }
        }
    }

    @Test
    void withoutTlsConfiguredStarttlsIsNotOffered() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("spool6"), "");
             Client c = new Client(new Socket("127.0.0.1", relay.port()))) {
            c.reply();
            assertThat(c.command("EHLO app.test")).doesNotContain("STARTTLS");
            assertThat(c.command("STARTTLS")).startsWith("454");
        }
    }

    @Test
    void aRotatedCertificateIsServedWithoutARestart() throws Exception {
        Path cert = dir.resolve("live.pem");
        Path key = dir.resolve("live.key");
        Files.copy(ec.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(ec.key(), key, StandardCopyOption.REPLACE_EXISTING);
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("spool7"), tlsHocon(new TestPki.Pair(cert, key), 0))) {
            assertThat(servedSubject(relay)).isEqualTo("CN=server-ec");
            // a half-done rotation (new certificate, old key) is not used: the old pair stays
            Files.copy(rsa.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
            Files.setLastModifiedTime(cert, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 2000));
            assertThat(servedSubject(relay)).isEqualTo("CN=server-ec");
            Files.copy(rsa.key(), key, StandardCopyOption.REPLACE_EXISTING);
            Files.setLastModifiedTime(key, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 4000));
            assertThat(servedSubject(relay)).isEqualTo("CN=server-rsa");
        }
    }

    private static String servedSubject(TestRelay relay) throws Exception {
        try (Client c = new Client(new Socket("127.0.0.1", relay.port()))) {
            c.reply();
            c.command("EHLO app.test");
            SSLSocket s = c.startTls(pki.clientContext("TLS"));
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        }
    }

    // ------------------------------------------------------------ configuration errors

    private static ConfigException configError(String listen) {
        String hocon = "returnpath {\n  domains { \"example.com\" { return-path = \"b@example.com\" } }\n  listen {\n"
                + listen + "\n  }\n}\n";
        try {
            ConfigLoader.parseString(hocon, "returnpath.conf");
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("no error for: " + listen);
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsAnErrorAtTheKeyFilesLine() {
        ConfigException e = configError("    tls {\n      cert-file = \"" + ec.cert() + "\"\n      key-file = \""
                + rsa.key() + "\"\n    }");
        assertThat(e.key()).isEqualTo("returnpath.listen.tls.key-file");
        assertThat(e.file()).isEqualTo("returnpath.conf");
        assertThat(e.line()).isEqualTo(6);
        assertThat(e.problem()).contains(rsa.key().toString()).contains("is not the private key of the certificate in")
                .contains(ec.cert().toString());
    }

    @Test
    void anUnreadableCertificateIsAnErrorAtTheCertFilesLine() {
        Path missing = dir.resolve("nope.pem");
        ConfigException e = configError("    tls {\n      cert-file = \"" + missing + "\"\n      key-file = \""
                + ec.key() + "\"\n    }");
        assertThat(e.key()).isEqualTo("returnpath.listen.tls.cert-file");
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.problem()).contains("cannot read the certificate file " + missing);
    }

    @Test
    void filesGivenTheWrongWayRoundAreNamed() {
        ConfigException e = configError("    tls { cert-file = \"" + ec.key() + "\", key-file = \"" + ec.cert() + "\" }");
        assertThat(e.key()).isEqualTo("returnpath.listen.tls.cert-file");
        assertThat(e.problem()).contains("holds no PEM certificate").contains("is it the key-file?");
    }

    @Test
    void halfATlsBlockAndAnImplicitPortWithoutTlsAreErrors() {
        ConfigException half = configError("    tls { cert-file = \"" + ec.cert() + "\" }");
        assertThat(half.key()).isEqualTo("returnpath.listen.tls.key-file");
        assertThat(half.problem()).contains("needs both");
        ConfigException implicit = configError("    implicit-tls-port = 465");
        assertThat(implicit.key()).isEqualTo("returnpath.listen.implicit-tls-port");
        assertThat(implicit.line()).isEqualTo(4);
        assertThat(implicit.problem()).contains("needs listen.tls");
    }
}
