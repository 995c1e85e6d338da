package dev.returnpath.inbound;

import dev.returnpath.auth.PasswordHash;
import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.TestPki;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code listen.limits} over real loopback sockets. */
class ListenerLimitsTest {
    @TempDir
    Path dir;

    static ListenerTlsTest.Client connect(TestRelay relay) throws IOException {
        return new ListenerTlsTest.Client(new Socket("127.0.0.1", relay.port()));
    }

    @Test
    void connectionsPerClientThen421() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "returnpath.listen.limits.connections-per-client = 2")) {
            List<ListenerTlsTest.Client> open = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    ListenerTlsTest.Client c = connect(relay);
                    assertThat(c.reply()).startsWith("220");
                    open.add(c);
                }
                try (ListenerTlsTest.Client third = connect(relay)) {
                    assertThat(third.reply()).startsWith("421 4.7.0").contains("127.0.0.1");
                }
                open.removeFirst().command("QUIT");
                Await.until(Duration.ofSeconds(5), "a connection again", () -> {
                    try (ListenerTlsTest.Client c = connect(relay)) {
                        return c.reply().startsWith("220");
                    } catch (IOException e) {
                        return false;
                    }
                });
            } finally {
                for (ListenerTlsTest.Client c : open) {
                    c.close();
                }
            }
        }
    }

    @Test
    void messagesPerMinutePerClientIpThen451() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "returnpath.listen.limits.messages-per-minute = 2");
             ListenerTlsTest.Client c = connect(relay)) {
            c.reply();
            c.command("EHLO app.test");
            for (int i = 0; i < 2; i++) {
                assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
                assertThat(c.command("RSET")).startsWith("250");
            }
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("451 4.7.1");
            // another connection from the same IP shares the count
            try (ListenerTlsTest.Client other = connect(relay)) {
                other.reply();
                other.command("EHLO app.test");
                assertThat(other.command("MAIL FROM:<app@example.com>")).startsWith("451 4.7.1");
            }
        }
    }

    @Test
    void messagesPerMinuteCountPerAuthenticatedUserNotPerClientIp() throws Exception {
        TestPki pki = new TestPki(dir);
        TestPki.Pair pair = pki.issue("relay", "ec");
        Path users = dir.resolve("users");
        Files.writeString(users, "app:" + PasswordHash.create("app password 12".toCharArray(), PasswordHash.MIN_ITERATIONS).text()
                + "\npartner:" + PasswordHash.create("partner password".toCharArray(), PasswordHash.MIN_ITERATIONS).text() + "\n");
        String hocon = """
                returnpath.listen {
                  tls { cert-file = "%s", key-file = "%s" }
                  auth { users-file = "%s" }
                  limits.messages-per-minute = 2
                }
                """.formatted(pair.cert(), pair.key(), users);
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), hocon);
             ListenerTlsTest.Client app = ListenerAuthTestAccess.tls(relay, pki);
             ListenerTlsTest.Client partner = ListenerAuthTestAccess.tls(relay, pki);
             ListenerTlsTest.Client anonymous = connect(relay)) {
            assertThat(app.command("AUTH PLAIN " + plain("app", "app password 12"))).startsWith("235");
            assertThat(partner.command("AUTH PLAIN " + plain("partner", "partner password"))).startsWith("235");
            anonymous.reply();
            anonymous.command("EHLO app.test");
            for (int i = 0; i < 2; i++) {
                assertThat(app.command("MAIL FROM:<app@example.com>")).startsWith("250");
                assertThat(app.command("RSET")).startsWith("250");
            }
            assertThat(app.command("MAIL FROM:<app@example.com>")).startsWith("451 4.7.1").contains("this user");
            // the same IP, another user: a count of its own; and one without AUTH counts by IP
            for (int i = 0; i < 2; i++) {
                assertThat(partner.command("MAIL FROM:<partner@example.com>")).startsWith("250");
                assertThat(partner.command("RSET")).startsWith("250");
                assertThat(anonymous.command("MAIL FROM:<web@example.com>")).startsWith("250");
                assertThat(anonymous.command("RSET")).startsWith("250");
            }
            assertThat(partner.command("MAIL FROM:<partner@example.com>")).startsWith("451 4.7.1").contains("this user");
            assertThat(anonymous.command("MAIL FROM:<web@example.com>")).startsWith("451 4.7.1").contains("this client");
            // the user's count follows it to a new session
            try (ListenerTlsTest.Client again = ListenerAuthTestAccess.tls(relay, pki)) {
                assertThat(again.command("AUTH PLAIN " + plain("app", "app password 12"))).startsWith("235");
                assertThat(again.command("MAIL FROM:<app@example.com>")).startsWith("451 4.7.1");
            }
        }
    }

    static String plain(String user, String password) {
        return java.util.Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void loopbackClientsAreNotHeldToTheDefaultConnectionsPerClient() throws Exception {
        // a sidecar: the app's 30 workers all connect from 127.0.0.1, the key is not set
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "")) {
            List<ListenerTlsTest.Client> open = new ArrayList<>();
            try {
                for (int i = 0; i < 30; i++) {
                    ListenerTlsTest.Client c = connect(relay);
                    open.add(c);
                    assertThat(c.reply()).as("connection %d", i + 1).startsWith("220");
                }
                assertThat(open.getLast().command("MAIL FROM:<app@example.com>")).startsWith("250");
            } finally {
                for (ListenerTlsTest.Client c : open) {
                    c.close();
                }
            }
        }
    }

    @Test
    void connectionsPerClientDefaultsTo20FromTheNetworkAndHoldsForLoopbackOnceSet() throws Exception {
        var unset = ConfigLoader.parseString(
                "returnpath { domains { \"example.com\" { return-path = \"b@example.com\" } } }", "returnpath.conf")
                .listen().limits();
        assertThat(unset.connectionsPerClient(InetAddress.getByName("10.1.2.3"))).isEqualTo(20);
        assertThat(unset.connectionsPerClient(InetAddress.getByName("2001:db8::1"))).isEqualTo(20);
        assertThat(unset.connectionsPerClient(InetAddress.getByName("127.0.0.1"))).isEqualTo(Integer.MAX_VALUE);
        assertThat(unset.connectionsPerClient(InetAddress.getByName("::1"))).isEqualTo(Integer.MAX_VALUE);
        var set = ConfigLoader.parseString(
                "returnpath { domains { \"example.com\" { return-path = \"b@example.com\" } }\n"
                        + "  listen.limits.connections-per-client = 20 }", "returnpath.conf").listen().limits();
        assertThat(set.connectionsPerClient(InetAddress.getByName("127.0.0.1"))).isEqualTo(20);
        assertThat(set.connectionsPerClient(InetAddress.getByName("10.1.2.3"))).isEqualTo(20);
    }

    @Test
    void authFailuresThen421AndThePauseHoldsForNewConnections() throws Exception {
        TestPki pki = new TestPki(dir);
        TestPki.Pair pair = pki.issue("relay", "ec");
        Path users = dir.resolve("users");
        Files.writeString(users, "app:" + PasswordHash.create("right password 1".toCharArray(), PasswordHash.MIN_ITERATIONS).text() + "\n");
        String hocon = """
                returnpath.listen {
                  tls { cert-file = "%s", key-file = "%s" }
                  auth { users-file = "%s" }
                  limits.auth-failures = 2
                }
                """.formatted(pair.cert(), pair.key(), users);
        String wrong = java.util.Base64.getEncoder().encodeToString("\0app\0guess".getBytes(StandardCharsets.UTF_8));
        String right = java.util.Base64.getEncoder().encodeToString("\0app\0right password 1".getBytes(StandardCharsets.UTF_8));
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), hocon)) {
            try (ListenerTlsTest.Client c = ListenerAuthTestAccess.tls(relay, pki)) {
                assertThat(c.command("AUTH PLAIN " + wrong)).startsWith("535 5.7.8");
                String second = c.command("AUTH PLAIN " + wrong);
                assertThat(second).startsWith("535 5.7.8");
                assertThat(c.reply()).startsWith("421 4.7.0");
                assertThatThrownBy(c::reply).isInstanceOf(IOException.class); // closed
            }
            try (ListenerTlsTest.Client c = ListenerAuthTestAccess.tls(relay, pki)) {
                // even the right password: the pause holds for this IP
                assertThat(c.command("AUTH PLAIN " + right)).startsWith("421 4.7.0");
            }
        }
    }

    @Test
    void theSessionDeadlineHoldsWhateverTricklesIn() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "returnpath.listen.limits.session-timeout = 2s");
             ListenerTlsTest.Client c = connect(relay)) {
            c.reply();
            long start = System.nanoTime();
            String last = "";
            while (System.nanoTime() - start < Duration.ofSeconds(8).toNanos()) {
                try {
                    last = c.command("NOOP");
                } catch (IOException e) {
                    break;
                }
                if (last.startsWith("421")) {
                    break;
                }
                Thread.sleep(300);
            }
            assertThat(last).startsWith("421 4.4.2");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(6));
        }
    }

    @Test
    void theDataDeadlineComesFromTheConfiguration() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), dir.resolve("s"), "returnpath.listen.limits.data-timeout = 1s");
             ListenerTlsTest.Client c = connect(relay)) {
            c.reply();
            c.command("EHLO app.test");
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
            assertThat(c.command("RCPT TO:<user@example.org>")).startsWith("250");
            assertThat(c.command("DATA")).startsWith("354");
            String reply = null;
            for (int i = 0; i < 40 && reply == null; i++) {
                c.out.write("x".getBytes(StandardCharsets.US_ASCII));
                c.out.flush();
                Thread.sleep(100);
                if (c.socket.getInputStream().available() > 0) {
                    reply = c.reply();
                }
            }
            assertThat(reply).startsWith("421 4.4.2");
            assertThat(up.received).isEmpty();
        }
    }

    @Test
    void aBadLimitIsAConfigError() {
        assertThatThrownBy(() -> ConfigLoader.parseString(
                "returnpath { domains { \"example.com\" { return-path = \"b@example.com\" } }\n"
                        + "  listen.limits.connections-per-client = 0 }", "returnpath.conf"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo("returnpath.listen.limits.connections-per-client");
                    assertThat(e.line()).isEqualTo(2);
                });
    }
}
