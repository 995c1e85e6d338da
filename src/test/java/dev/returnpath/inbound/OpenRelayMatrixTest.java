package dev.returnpath.inbound;

import dev.returnpath.auth.PasswordHash;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may relay what: client network × AUTH × the From domain, over real loopback sockets
 * bound to three source addresses. 127.0.0.1 is in {@code allowed-networks}, 127.0.0.2 in
 * {@code auth.require-for}, 127.0.0.3 in neither; every session that gets past the greeting
 * does STARTTLS first (the shared-network case). Nothing is relayed that should not be, and
 * every refusal carries an enhanced status code.
 */
class OpenRelayMatrixTest {
    static final String PASSWORD = "matrix password 1";

    @TempDir
    static Path dir;
    static TestPki pki;
    static Upstream up;
    static TestRelay relay;

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki(dir);
        TestPki.Pair pair = pki.issue("relay", "ec");
        Path users = dir.resolve("users");
        Files.writeString(users, "app:" + PasswordHash.create(PASSWORD.toCharArray(), PasswordHash.MIN_ITERATIONS).text() + "\n");
        up = new Upstream();
        relay = new TestRelay(up.port(), dir.resolve("spool"), """
                returnpath.listen {
                  allowed-networks = ["127.0.0.1/32"]
                  tls { cert-file = "%s", key-file = "%s" }
                  auth { users-file = "%s", require-for = ["127.0.0.2/32"] }
                  limits.auth-failures = 100
                }
                returnpath.rewrite.unknown-domain = reject
                """.formatted(pair.cert(), pair.key(), users));
    }

    @AfterAll
    static void stop() {
        relay.close();
        up.close();
    }

    static String plain(String password) {
        return Base64.getEncoder().encodeToString(("\0app\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** A reply that refuses: 4xx or 5xx with an enhanced status code of the same class (RFC 3463). */
    static void assertEnhanced(String reply) {
        assertThat(reply).matches("(?s)([45])\\d\\d \\1\\.\\d{1,3}\\.\\d{1,3} .*");
    }

    @ParameterizedTest(name = "from {0}, auth {1}, From @{2}: {3}")
    @CsvSource({
            // client     auth   From domain        outcome
            "127.0.0.1,  none,  example.com,       relayed",
            "127.0.0.1,  none,  elsewhere.example, 550 5.7.1",
            "127.0.0.1,  wrong, example.com,       relayed",      // AUTH failed, but the network may send
            "127.0.0.1,  wrong, elsewhere.example, 550 5.7.1",
            "127.0.0.1,  right, example.com,       relayed",
            "127.0.0.1,  right, elsewhere.example, 550 5.7.1",
            "127.0.0.2,  none,  example.com,       530 5.7.0",
            "127.0.0.2,  none,  elsewhere.example, 530 5.7.0",
            "127.0.0.2,  wrong, example.com,       530 5.7.0",
            "127.0.0.2,  wrong, elsewhere.example, 530 5.7.0",
            "127.0.0.2,  right, example.com,       relayed",
            "127.0.0.2,  right, elsewhere.example, 550 5.7.1",     // an authenticated user still sends only for the domains
            "127.0.0.3,  none,  example.com,       554 5.7.1",
            "127.0.0.3,  none,  elsewhere.example, 554 5.7.1",
    })
    void nothingIsRelayedThatShouldNotBe(String client, String auth, String fromDomain, String outcome) throws Exception {
        int before = up.received.size();
        List<String> replies = new ArrayList<>();
        Socket socket = new Socket(InetAddress.getByName("127.0.0.1"), relay.port(), InetAddress.getByName(client), 0);
        String last;
        try (ListenerTlsTest.Client c = new ListenerTlsTest.Client(socket)) {
            last = session(c, auth, fromDomain, replies);
        }
        if (outcome.equals("relayed")) {
            assertThat(last).startsWith("250");
            Await.until(Duration.ofSeconds(10), "the message upstream", () -> up.received.size() == before + 1);
            assertThat(up.received.getLast().reversePath()).isEqualTo("bounce@example.com");
        } else {
            assertThat(last).startsWith(outcome);
            Thread.sleep(200); // passthrough relays within DATA: nothing can still be on its way
            assertThat(up.received).hasSize(before);
        }
        for (String r : replies) {
            if (r.startsWith("4") || r.startsWith("5")) {
                assertEnhanced(r);
            }
        }
    }

    /** The session as far as the relay lets it go; the last reply. */
    private static String session(ListenerTlsTest.Client c, String auth, String fromDomain, List<String> replies)
            throws Exception {
        String greeting = c.reply();
        replies.add(greeting);
        if (!greeting.startsWith("220")) {
            return greeting;
        }
        c.command("EHLO app.test");
        c.startTls(pki.clientContext("TLS"));
        assertThat(c.command("EHLO app.test")).contains("AUTH PLAIN");
        if (!auth.equals("none")) {
            String r = c.command("AUTH PLAIN " + plain(auth.equals("right") ? PASSWORD : "not the password"));
            replies.add(r);
            assertThat(r).startsWith(auth.equals("right") ? "235" : "535 5.7.8");
        }
        for (String command : List.of("MAIL FROM:<apache@web01.internal>", "RCPT TO:<user@example.org>", "DATA",
                "From: Shop <noreply@" + fromDomain + ">\r\nTo: user@example.org\r\nSubject: matrix\r\n\r\nhello\r\n.")) {
            String r = c.command(command);
            replies.add(r);
            if (!r.startsWith("250") && !r.startsWith("354")) {
                return r;
            }
            if (command.endsWith(".")) {
                return r;
            }
        }
        throw new IllegalStateException("unreachable");
    }
}
