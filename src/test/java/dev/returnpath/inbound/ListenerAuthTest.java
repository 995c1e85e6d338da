package dev.returnpath.inbound;

import dev.returnpath.auth.PasswordHash;
import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * AUTH PLAIN and LOGIN over real loopback sockets, after STARTTLS with a certificate from a
 * private CA made in the test. The test client is 127.0.0.1: with {@code allowed-networks = []}
 * and {@code require-for = ["127.0.0.0/8"]} it is let in at connect but must authenticate.
 */
class ListenerAuthTest {
    static final String APP_PASSWORD = "correct horse battery staple";
    static final String PARTNER_PASSWORD = "partner-secret-0123";

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestPki.Pair pair;
    static Path users;

    @BeforeAll
    static void setUp() throws IOException {
        pki = new TestPki(dir);
        pair = pki.issue("relay", "ec");
        users = dir.resolve("users");
        // the minimum iteration count keeps the test fast; passwd writes 600,000
        Files.writeString(users, "# the apps\napp:" + PasswordHash.create(APP_PASSWORD.toCharArray(), PasswordHash.MIN_ITERATIONS).text()
                + "\n\npartner:" + PasswordHash.create(PARTNER_PASSWORD.toCharArray(), PasswordHash.MIN_ITERATIONS).text() + "\n");
    }

    static String hocon(String allowed, String requireFor) {
        return """
                returnpath {
                  listen {
                    allowed-networks = %s
                    tls { cert-file = "%s", key-file = "%s" }
                    auth { users-file = "%s", require-for = %s }
                  }
                  rules = [
                    { name = partner, match { auth-user = "partner" }, return-path = "bounce-partner@example.com" }
                  ]
                }
                """.formatted(allowed, pair.cert(), pair.key(), users, requireFor);
    }

    static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static ListenerTlsTest.Client tlsClient(TestRelay relay) throws Exception {
        ListenerTlsTest.Client c = new ListenerTlsTest.Client(new Socket("127.0.0.1", relay.port()));
        c.reply();
        c.command("EHLO app.test");
        c.startTls(pki.clientContext("TLS"));
        return c;
    }

    static void send(ListenerTlsTest.Client c, String from) throws IOException {
        assertThat(c.command("MAIL FROM:<" + from + ">")).startsWith("250");
        assertThat(c.command("RCPT TO:<user@example.org>")).startsWith("250");
        assertThat(c.command("DATA")).startsWith("354");
        assertThat(c.command("From: " + from + "\r\nTo: user@example.org\r\nSubject: auth\r\n\r\nhello\r\n."))
                .startsWith("250");
    }

    @Test
    void beforeTlsAuthIsNeitherOfferedNorAccepted() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s1"), hocon("[]", "[\"127.0.0.0/8\"]"));
             ListenerTlsTest.Client c = new ListenerTlsTest.Client(new Socket("127.0.0.1", relay.port()))) {
            assertThat(c.reply()).startsWith("220");
            assertThat(c.command("EHLO app.test")).contains("STARTTLS").doesNotContain("AUTH");
            assertThat(c.command("AUTH PLAIN " + plain("app", APP_PASSWORD))).startsWith("538 5.7.11");
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("530 5.7.0");
        }
    }

    @Test
    void aRequireForClientGetsNothingRelayedUntilItAuthenticates() throws Exception {
        try (Upstream up = new Upstream();
             LogCapture mail = new LogCapture("returnpath.mail");
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s2"), hocon("[]", "[\"127.0.0.0/8\"]"));
             ListenerTlsTest.Client c = tlsClient(relay)) {
            assertThat(c.command("EHLO app.test")).contains("250-AUTH PLAIN LOGIN").doesNotContain("STARTTLS");
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("530 5.7.0");
            assertThat(c.command("RCPT TO:<user@example.org>")).startsWith("503");
            assertThat(c.command("AUTH PLAIN " + plain("app", "wrong password"))).startsWith("535 5.7.8");
            assertThat(c.command("AUTH PLAIN " + plain("nobody", APP_PASSWORD))).startsWith("535 5.7.8");
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("530 5.7.0");
            assertThat(up.received).isEmpty();
            assertThat(c.command("AUTH PLAIN " + plain("app", APP_PASSWORD))).startsWith("235");
            assertThat(c.command("AUTH PLAIN " + plain("app", APP_PASSWORD))).startsWith("503 5.5.1");
            send(c, "app@example.com");
            Await.until(Duration.ofSeconds(10), "the message upstream", () -> up.received.size() == 1);
            // aligned with From already: the domain map keeps it (no rule matched app)
            assertThat(up.received.getFirst().reversePath()).isEqualTo("app@example.com");
            Await.until(Duration.ofSeconds(5), "the arrival line",
                    () -> mail.lines().stream().anyMatch(l -> l.contains("user=app")));
            assertThat(mail.lines()).anyMatch(l -> l.contains("auth: failed from 127.0.0.1 as app"));
            assertThat(String.join("\n", mail.lines())).doesNotContain(APP_PASSWORD).doesNotContain("wrong password");
        }
    }

    @Test
    void authLoginAndARuleOnAuthUser() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s3"), hocon("[]", "[\"127.0.0.0/8\"]"));
             ListenerTlsTest.Client c = tlsClient(relay)) {
            c.command("EHLO partner.test");
            assertThat(c.command("AUTH LOGIN")).startsWith("334 VXNlcm5hbWU6");
            assertThat(c.command(b64("partner"))).startsWith("334 UGFzc3dvcmQ6");
            assertThat(c.command(b64("not it"))).startsWith("535 5.7.8");
            assertThat(c.command("AUTH LOGIN " + b64("partner"))).startsWith("334 UGFzc3dvcmQ6");
            assertThat(c.command(b64(PARTNER_PASSWORD))).startsWith("235");
            send(c, "shop@example.com");
            Await.until(Duration.ofSeconds(10), "the message upstream", () -> up.received.size() == 1);
            assertThat(up.received.getFirst().reversePath()).isEqualTo("bounce-partner@example.com");
        }
    }

    @Test
    void anAllowedNetworkStillSendsWithoutAuthAndTheRuleDoesNotMatchIt() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s4"), hocon("[\"127.0.0.0/8\"]", "[]"));
             ListenerTlsTest.Client c = new ListenerTlsTest.Client(new Socket("127.0.0.1", relay.port()))) {
            c.reply();
            c.command("EHLO app.test");
            send(c, "shop@example.com");
            Await.until(Duration.ofSeconds(10), "the message upstream", () -> up.received.size() == 1);
            assertThat(up.received.getFirst().reversePath()).isEqualTo("shop@example.com"); // rule partner did not match
        }
    }

    @Test
    void aClientInNeitherListIsRefusedAtConnect() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s5"), hocon("[]", "[\"10.0.0.0/8\"]"));
             ListenerTlsTest.Client c = new ListenerTlsTest.Client(new Socket("127.0.0.1", relay.port()))) {
            assertThat(c.reply()).startsWith("554 5.7.1");
        }
    }

    // ------------------------------------------------------------ configuration errors

    private static ConfigException configError(String hocon) {
        try {
            ConfigLoader.parseString("returnpath { domains { \"example.com\" { return-path = \"b@example.com\" } } }\n"
                    + hocon, "returnpath.conf");
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("no error for: " + hocon);
    }

    @Test
    void aBadUsersFileLineIsNamedByFileAndLine() throws IOException {
        Path bad = dir.resolve("bad-users");
        Files.writeString(bad, "# ok\napp:" + PasswordHash.create("x".repeat(12).toCharArray(), PasswordHash.MIN_ITERATIONS).text()
                + "\nops:plaintext-password\n");
        ConfigException e = configError(hocon("[]", "[]").replace(users.toString(), bad.toString()));
        assertThat(e.file()).isEqualTo(bad.toString());
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.key()).isEqualTo("returnpath.listen.auth.users-file");
        assertThat(e.problem()).contains("user ops").contains("$pbkdf2-sha256$").doesNotContain("plaintext-password");
    }

    @Test
    void authNeedsTlsAndRequireForNeedsUsers() {
        ConfigException noTls = configError("returnpath.listen.auth.users-file = \"" + users + "\"");
        assertThat(noTls.key()).isEqualTo("returnpath.listen.auth.users-file");
        assertThat(noTls.problem()).contains("needs listen.tls");
        ConfigException noUsers = configError("returnpath.listen.auth.require-for = [\"10.0.0.0/8\"]");
        assertThat(noUsers.key()).isEqualTo("returnpath.listen.auth.require-for");
        assertThat(noUsers.line()).isEqualTo(2);
    }
}
