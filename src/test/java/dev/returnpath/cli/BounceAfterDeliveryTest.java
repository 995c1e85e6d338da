package dev.returnpath.cli;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.returnpath.dns.UdpZoneServer;
import dev.returnpath.dns.ZoneAnswers;
import dev.returnpath.ops.AuthBounces;
import dev.returnpath.queue.BounceHistory;
import dev.returnpath.queue.SpoolTesting;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A message relayed in spool mode, delivered, gone from the spool; then a Gmail DSN for it
 * arrives in the Return-Path mailbox (GreenMail, implicit TLS): {@code queue show ID} shows the
 * report, and {@code doctor} WARNs about the authentication bounce once, then PASSes.
 */
class BounceAfterDeliveryTest {
    @TempDir
    Path dir;
    GreenMail imap;
    Upstream upstream;
    UdpZoneServer dns;
    TestRelay relay;
    Path spoolDir;
    Path conf;

    static Path resource(String name) throws Exception {
        return Path.of(BounceAfterDeliveryTest.class.getResource(name).toURI());
    }

    @BeforeAll
    static void keystore() throws Exception {
        System.setProperty("greenmail.tls.keystore.file", resource("/tls/localhost.p12").toString());
        System.setProperty("greenmail.tls.keystore.password", "changeit");
        System.setProperty("greenmail.tls.key.password", "changeit");
    }

    @BeforeEach
    void start() throws Exception {
        ServerSetup setup = new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAPS);
        setup.setServerStartupTimeout(15_000); // 2 s by default: too short on a busy 2-core machine
        imap = new GreenMail(setup);
        imap.start();
        imap.setUser("bounce@example.com", "bounce", "s3cret-imap");
        upstream = new Upstream();
        dns = UdpZoneServer.start(List.of(ZoneAnswers.rootZone("/doctor/doctor.zone")), 0);
        spoolDir = dir.resolve("spool");
        String extra = """
                returnpath.queue.mode = spool
                returnpath.rewrite.hash-key = "bounce-after-delivery-0123456789"
                returnpath.domains."example.com".return-path = "bounce+{hash}-{local}={domain}@example.com"
                returnpath.dns { servers = ["%s"], timeout = 2s }
                returnpath.bounces.imap {
                  host = "localhost", port = %d, tls = implicit, username = "bounce", password = "s3cret-imap"
                  ca-file = "%s", interval = 1s, after = move
                }
                """.formatted(dns.address(), imap.getImaps().getPort(), resource("/tls/localhost.pem"));
        relay = new TestRelay(upstream.port(), spoolDir, extra);
        conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, TestRelay.baseHocon(upstream.port(), spoolDir) + "\n" + extra);
    }

    @AfterEach
    void stop() {
        relay.close();
        upstream.close();
        dns.close();
        imap.stop();
    }

    record Run(int exit, String out) {}

    static Run run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            return new Run(Main.execute(args), buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
    }

    /** The Gmail sample with the relayed message's own header block as the returned message. */
    byte[] dsnFor(String returnPath, String relayedHeaders) throws Exception {
        String sample = Files.readString(resource("/bounces/gmail-5.7.26.eml"))
                .replace("bounce+k3qz7d2m-apache=web01.internal@example.com", returnPath);
        int part = sample.indexOf("Content-Type: message/rfc822\n\n") + "Content-Type: message/rfc822\n\n".length();
        int body = sample.indexOf("\n\n", part);
        return (sample.substring(0, part) + relayedHeaders + sample.substring(body)).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aBounceAfterDeliveryShowsInQueueShowAndTheDoctorWarnsOnce() throws Exception {
        String reply;
        try (SmtpClient c = relay.client()) {
            reply = c.send("apache@web01.internal", List.of("x@gmail.com"),
                    "From: Contact form <contact@example.com>\r\nSubject: New contact form message\r\n\r\nA visitor wrote.\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
        }
        assertThat(reply).startsWith("250 2.0.0 Ok: queued as ");
        String id = reply.substring(reply.lastIndexOf(' ') + 1);
        assertThat(SpoolTesting.idle(relay.queue, Duration.ofSeconds(10))).isTrue();
        assertThat(upstream.received).hasSize(1);
        assertThat(relay.spool.contains(id)).as("delivered: the entry left the spool").isFalse();
        Run before = run("queue", "show", id, "--config", conf.toString());
        assertThat(before.exit()).isEqualTo(1);

        String sent = upstream.received.get(0).text().replace("\r\n", "\n");
        String headers = sent.substring(0, sent.indexOf("\n\n"));
        assertThat(headers).contains("(returnpath) with ESMTP id " + id);
        imap.getUserManager().getUser("bounce").deliver(new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(dsnFor(upstream.received.get(0).reversePath(), headers))));

        Await.until(Duration.ofSeconds(15), "the report in the history", () -> {
            try {
                return !BounceHistory.read(spoolDir, id).isEmpty();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Path file = spoolDir.resolve(BounceHistory.DIRECTORY).resolve(id);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        Run show = run("queue", "show", id, "--config", conf.toString());
        assertThat(show.exit()).isZero();
        assertThat(show.out()).startsWith("id: " + id + "\nin-spool: no (delivered, returned or deleted)\n")
                .containsPattern("report: \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z bounce: id=" + id
                        + " original-from=<apache@web01.internal> to=<x@gmail.com> action=failed status=5.7.26 "
                        + "reporting-mta=googlemail.com class=auth cause=unauthenticated fix=\"the message passed neither SPF");

        Await.until(Duration.ofSeconds(5), "the auth bounce counted", () -> AuthBounces.read(spoolDir).total() == 1);
        Run first = run("doctor", "--config", conf.toString());
        assertThat(first.out()).containsPattern("WARN  bounces.auth +bounce intake: 1 authentication bounce\\(s\\) recorded: "
                        + "domain web01.internal, status 5.7.26")
                .contains("fix: the message passed neither SPF nor DKIM");
        assertThat(AuthBounces.lastRun(spoolDir)).hasValueSatisfying(l -> assertThat(l.total()).isEqualTo(1));
        Run second = run("doctor", "--config", conf.toString());
        assertThat(second.out()).containsPattern("PASS  bounces.auth +bounce intake: no authentication bounce since the "
                + "doctor's last run \\(");
    }
}
