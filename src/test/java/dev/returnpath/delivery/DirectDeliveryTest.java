package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Direct delivery against a DNS zone (src/test/resources/direct/mx.zone) whose MX records point
 * to real SMTP servers on loopback addresses: mx1 on 127.0.0.2, mx2 on 127.0.0.3, both on the
 * same port, which delivery.direct.port names.
 */
class DirectDeliveryTest {
    Upstream mx1;
    Upstream mx2;
    Upstream local;
    int port;
    DirectDelivery delivery;
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (delivery != null) {
            delivery.close();
        }
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    /** Starts mx1 and mx2 (and, with a keystore, a TLS server on 127.0.0.1) on one free port. */
    void servers(String localKeystore) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
                port = probe.getLocalPort();
            }
            try {
                mx1 = track(new Upstream(InetAddress.getByName("127.0.0.2"), port));
                mx2 = track(new Upstream(InetAddress.getByName("127.0.0.3"), port));
                if (localKeystore != null) {
                    local = track(new Upstream(InetAddress.getByName("127.0.0.1"), port, localKeystore, false, null, null));
                }
                return;
            } catch (RuntimeException taken) {
                for (AutoCloseable c : open) {
                    c.close();
                }
                open.clear();
                if (attempt > 5) {
                    throw taken;
                }
            }
        }
    }

    private Upstream track(Upstream u) {
        open.add(u);
        return u;
    }

    static RelayConfig config(int port, String tls) throws Exception {
        return ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.example.com"
                  delivery {
                    mode = direct
                    direct { port = %d, tls = %s }
                    connect-timeout = 2s
                    command-timeout = 3s
                  }
                }
                """.formatted(port, tls), "direct.conf");
    }

    DirectDelivery delivery(String tls) throws Exception {
        return delivery(tls, null, new Random());
    }

    DirectDelivery delivery(String tls, javax.net.ssl.SSLSocketFactory verified, Random random) throws Exception {
        delivery = new DirectDelivery(config(port, tls),
                DnsjavaDns.over(ZoneResolver.of("/direct/mx.zone"), Duration.ofSeconds(2)), verified, random);
        return delivery;
    }

    static final OutboundMessage MESSAGE = OutboundMessage.inMemory(
            "From: noreply@example.com\r\nSubject: direct\r\n\r\n.leading dot\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));

    DeliveryOutcome send(String... rcpts) {
        return delivery.deliver(new Envelope("ID1", "bounce@example.com", List.of(rcpts)), MESSAGE);
    }

    @Test
    void mxHostsAreTriedInPreferenceOrder() throws Exception {
        servers(null);
        delivery("none");
        DeliveryOutcome o = send("user@pref.test");
        assertThat(o.recipients()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.SENT);
            assertThat(r.relay()).isEqualTo("mx1.test[127.0.0.2]:" + port);
            assertThat(r.upstreamSaid()).isTrue();
        });
        assertThat(mx1.received).singleElement().satisfies(m -> {
            assertThat(m.reversePath()).isEqualTo("bounce@example.com");
            assertThat(m.forwardPaths()).containsExactly("user@pref.test");
            assertThat(m.text()).isEqualTo("From: noreply@example.com\r\nSubject: direct\r\n\r\n.leading dot\r\nbody\r\n");
        });
        assertThat(mx1.helos).containsExactly("relay.example.com");
        assertThat(mx2.rcptAttempts).isEmpty();
    }

    @Test
    void aRefusedConnectionMovesOnToTheNextMx() throws Exception {
        servers(null);
        delivery("none");
        assertThat(send("user@fallback.test").recipients()).singleElement()
                .satisfies(r -> assertThat(r.relay()).isEqualTo("mx2.test[127.0.0.3]:" + port));
        assertThat(mx2.received).hasSize(1);
    }

    @Test
    void aTemporaryRefusalOfTheSessionMovesOnToTheNextMx() throws Exception {
        servers(null);
        mx1.mailReply = "451 4.3.2 too busy, try another";
        delivery("none");
        assertThat(send("user@pref.test").recipients()).singleElement()
                .satisfies(r -> assertThat(r.status()).isEqualTo(Status.SENT));
        assertThat(mx1.received).isEmpty();
        assertThat(mx2.received).hasSize(1);
    }

    @Test
    void onlyTheRecipientsOneMxDeferredGoToTheNext() throws Exception {
        servers(null);
        mx1.rcptReply = r -> r.startsWith("later@") ? "451 4.2.1 mailbox busy" : null;
        delivery("none");
        DeliveryOutcome o = send("now@pref.test", "later@pref.test");
        assertThat(o.recipients()).extracting(RecipientOutcome::status).containsExactly(Status.SENT, Status.SENT);
        assertThat(mx1.received).singleElement().satisfies(m -> assertThat(m.forwardPaths()).containsExactly("now@pref.test"));
        assertThat(mx2.received).singleElement().satisfies(m -> assertThat(m.forwardPaths()).containsExactly("later@pref.test"));
    }

    @Test
    void aTemporaryFailureAtEveryMxIsDeferredWithTheLastReply() throws Exception {
        servers(null);
        mx1.mailReply = "451 4.3.2 mx1 busy";
        mx2.mailReply = "452 4.3.1 mx2 full";
        delivery("none");
        assertThat(send("user@pref.test").recipients()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.DEFERRED);
            assertThat(r.reply().toString()).isEqualTo("452 4.3.1 mx2 full");
            assertThat(r.relay()).isEqualTo("mx2.test[127.0.0.3]:" + port);
        });
    }

    @Test
    void aPermanentRecipientRefusalIsFinalAndNotTriedElsewhere() throws Exception {
        servers(null);
        mx1.rcptReply = r -> "550 5.1.1 no such user";
        delivery("none");
        assertThat(send("user@pref.test").recipients()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.BOUNCED);
            assertThat(r.reply().toString()).isEqualTo("550 5.1.1 no such user");
        });
        assertThat(mx2.rcptAttempts).isEmpty();
    }

    @Test
    void withoutMxTheDomainsOwnAddressIsUsed() throws Exception {
        servers(null);
        delivery("none");
        assertThat(send("user@amx.test").recipients()).singleElement()
                .satisfies(r -> assertThat(r.relay()).isEqualTo("amx.test[127.0.0.2]:" + port));
        assertThat(mx1.received).hasSize(1);
    }

    @Test
    void aNullMxFailsPermanentlyWith5110WithoutConnecting() throws Exception {
        servers(null);
        delivery("none");
        assertThat(send("user@nullmx.test").recipients()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.BOUNCED);
            assertThat(r.reply().code()).isEqualTo(550);
            assertThat(r.reply().enhanced()).isEqualTo("5.1.10");
            assertThat(r.reply().text()).contains("nullmx.test does not accept mail");
            assertThat(r.upstreamSaid()).isFalse();
        });
        assertThat(mx1.rcptAttempts).isEmpty();
        assertThat(mx2.rcptAttempts).isEmpty();
    }

    @Test
    void dnsAnswersDecideBetweenBounceAndRetry() throws Exception {
        servers(null);
        delivery("none");
        DeliveryOutcome o = send("a@nonexistent.test", "b@broken.test", "c@unresolvable.test");
        assertThat(o.recipients().get(0)).satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.BOUNCED);
            assertThat(r.reply().enhanced()).isEqualTo("5.1.2");
        });
        assertThat(o.recipients().get(1)).satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.DEFERRED);
            assertThat(r.reply().enhanced()).isEqualTo("4.4.3");
        });
        assertThat(o.recipients().get(2)).satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.BOUNCED);
            assertThat(r.reply().enhanced()).isEqualTo("5.4.4");
        });
    }

    @Test
    void recipientsAreGroupedByDomainAndEachDomainIsDeliveredOnItsOwn() throws Exception {
        servers(null);
        mx2.rcptReply = r -> "451 4.4.5 other.test is over quota for now";
        delivery("none");
        DeliveryOutcome o = send("a@pref.test", "x@other.test", "b@pref.test", "y@other.test");
        assertThat(o.recipients()).extracting(RecipientOutcome::recipient)
                .containsExactly("a@pref.test", "x@other.test", "b@pref.test", "y@other.test");
        assertThat(o.recipients()).extracting(RecipientOutcome::status)
                .containsExactly(Status.SENT, Status.DEFERRED, Status.SENT, Status.DEFERRED);
        // one transaction per domain, each with that domain's recipients only
        assertThat(mx1.received).singleElement()
                .satisfies(m -> assertThat(m.forwardPaths()).containsExactly("a@pref.test", "b@pref.test"));
        assertThat(mx2.rcptAttempts).containsExactly("x@other.test", "y@other.test");
    }

    @Test
    void equalPreferencesShareTheLoadAtRandom() throws Exception {
        servers(null);
        delivery("none", null, new Random(42));
        for (int i = 0; i < 20; i++) {
            assertThat(send("u" + i + "@equal.test").allSent()).isTrue();
        }
        assertThat(mx1.received.size() + mx2.received.size()).isEqualTo(20);
        assertThat(mx1.received).isNotEmpty();
        assertThat(mx2.received).isNotEmpty();
    }

    @Test
    void opportunisticTlsIsUsedWhenOfferedWhateverTheCertificate() throws Exception {
        servers("/tls/other.p12"); // a certificate for other.test, not for localhost
        delivery("opportunistic");
        assertThat(send("user@tls.test").allSent()).isTrue();
        assertThat(local.tlsUsed).containsExactly(true);
    }

    @Test
    void opportunisticTlsSendsInPlainTextWhenNotOffered() throws Exception {
        servers(null);
        delivery("opportunistic");
        assertThat(send("user@pref.test").allSent()).isTrue();
        assertThat(mx1.tlsUsed).containsExactly(false);
    }

    @Test
    void requiredTlsVerifiesTheCertificateAgainstTheMxName() throws Exception {
        servers("/tls/localhost.p12");
        delivery("required", SmarthostDelivery.trusting(resource("/tls/localhost.pem")), new Random());
        assertThat(send("user@tls.test").allSent()).isTrue();
        assertThat(local.tlsUsed).containsExactly(true);
    }

    @Test
    void requiredTlsRefusesACertificateForAnotherName() throws Exception {
        servers("/tls/other.p12");
        delivery("required", SmarthostDelivery.trusting(resource("/tls/other.pem")), new Random());
        assertThat(send("user@tls.test").recipients()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.DEFERRED);
            assertThat(r.reply().enhanced()).isEqualTo("4.7.5");
        });
        assertThat(local.received).isEmpty();
    }

    @Test
    void requiredTlsDefersWhenStartTlsIsNotOffered() throws Exception {
        servers(null);
        delivery("required");
        assertThat(send("user@pref.test").recipients()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.DEFERRED);
            assertThat(r.reply().enhanced()).isEqualTo("4.7.4");
            assertThat(r.reply().text()).contains("does not offer STARTTLS");
        });
        assertThat(mx1.received).isEmpty();
        assertThat(mx2.received).isEmpty();
    }

    @Test
    void anAddressLiteralIsDeliveredToThatAddress() throws Exception {
        servers(null);
        delivery("none");
        assertThat(send("postmaster@[127.0.0.3]").allSent()).isTrue();
        assertThat(mx2.received).hasSize(1);
    }

    @Test
    void aServerThatStopsReadingMidDataCannotHoldTheDeliveryPastTheCommandTimeout() throws Exception {
        // a raw server: greets, says yes to everything up to 354, then never reads again
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
            port = server.getLocalPort();
            Thread.ofVirtual().start(() -> {
                try (var s = server.accept()) {
                    var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                    var out = s.getOutputStream();
                    out.write("220 stall.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
                    String line;
                    while ((line = in.readLine()) != null) {
                        String reply = line.startsWith("EHLO") ? "250 stall.test" : line.equals("DATA") ? "354 go on" : "250 ok";
                        out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        if (line.equals("DATA")) {
                            Thread.sleep(20_000); // and read nothing more
                        }
                    }
                } catch (Exception ignored) {
                    // the client gave up: that is the point
                }
            });
            delivery("none");
            byte[] big = new byte[16 * 1024 * 1024];
            java.util.Arrays.fill(big, (byte) 'x');
            for (int i = 900; i < big.length; i += 1000) {
                big[i] = '\r';
                big[i + 1] = '\n';
            }
            long t0 = System.nanoTime();
            DeliveryOutcome o = delivery.deliver(new Envelope("ID2", "bounce@example.com", List.of("user@amx.test")),
                    OutboundMessage.inMemory(big));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(o.recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(Status.DEFERRED);
                assertThat(r.reply().code()).isEqualTo(451);
            });
            // command-timeout is 3s; the watchdog looks every 200ms
            assertThat(ms).isBetween(2_500L, 8_000L);
        }
    }

    @Test
    void anMxThatStreamsAnEndlessGreetingIsCutAndDeferred() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
            port = server.getLocalPort();
            Thread.ofVirtual().start(() -> {
                try (var s = server.accept()) {
                    byte[] line = "220-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".getBytes(StandardCharsets.US_ASCII);
                    while (true) {
                        s.getOutputStream().write(line);
                    }
                } catch (Exception ignored) {
                    // the client dropped us: that is the point
                }
            });
            delivery("none");
            assertThat(send("user@amx.test").recipients()).singleElement().satisfies(r -> {
                assertThat(r.status()).isEqualTo(Status.DEFERRED);
                assertThat(r.reply().toString()).isEqualTo("451 4.4.2 dropped the connection with amx.test[127.0.0.2]:"
                        + port + ": its reply was too long: over " + ReplyReader.MAX_LINES + " lines");
            });
        }
    }

    static Path resource(String name) throws Exception {
        return Path.of(DirectDeliveryTest.class.getResource(name).toURI());
    }
}
