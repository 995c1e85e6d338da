package dev.returnpath.bounce;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.returnpath.config.BouncesSection.After;
import dev.returnpath.config.BouncesSection.Imap;
import dev.returnpath.config.BouncesSection.ImapTls;
import dev.returnpath.config.Endpoint;
import dev.returnpath.ops.Metrics;
import dev.returnpath.rewrite.ReturnPaths;
import dev.returnpath.testkit.LogCapture;
import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The poller against GreenMail over implicit TLS, its certificate from the test CA. */
class BounceIntakeTest {
    GreenMail imap;

    static Path resource(String name) throws Exception {
        return Path.of(BounceIntakeTest.class.getResource(name).toURI());
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
    }

    @AfterEach
    void stop() {
        imap.stop();
    }

    Imap config(After after, String ca) throws Exception {
        return new Imap(new Endpoint("localhost", imap.getImaps().getPort()), ImapTls.IMPLICIT, "bounce", "s3cret-imap",
                "INBOX", Duration.ofSeconds(1), after, "returnpath-processed", Optional.of(resource(ca)));
    }

    void deliver(byte[] raw) throws Exception {
        imap.getUserManager().getUser("bounce").deliver(new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(raw)));
    }

    void deliverSamples() throws Exception {
        String hashed = ReturnPaths.expand(AttributionTest.TEMPLATE, "apache@web01.internal", Optional.of(AttributionTest.KEY)).address();
        deliver(new String(ReportParserTest.sample("gmail-5.7.26.eml"), StandardCharsets.UTF_8)
                .replace("bounce+k3qz7d2m-apache=web01.internal@example.com", hashed).getBytes(StandardCharsets.UTF_8));
        deliver(ReportParserTest.sample("postfix-dsn.eml"));
        deliver(ReportParserTest.sample("arf-rfc5965.eml"));
        deliver(ReportParserTest.sample("not-a-report.eml"));
    }

    BounceIntake intake(Imap cfg, Metrics metrics) {
        return new BounceIntake(cfg, new Attribution(List.of(AttributionTest.TEMPLATE), Optional.of(AttributionTest.KEY)),
                metrics, e -> {});
    }

    /** Folder name → subjects, and the \Seen flags of INBOX. */
    List<String> subjects(String folder, boolean seenOnly) throws Exception {
        Properties p = new Properties();
        p.put("mail.imaps.ssl.socketFactory", dev.returnpath.tls.TrustedCas.socketFactory(resource("/tls/localhost.pem")));
        p.put("mail.imaps.ssl.checkserveridentity", "true");
        Store s = Session.getInstance(p).getStore("imaps");
        s.connect("localhost", imap.getImaps().getPort(), "bounce", "s3cret-imap");
        try {
            Folder f = s.getFolder(folder);
            if (!f.exists()) {
                return List.of();
            }
            f.open(Folder.READ_ONLY);
            List<String> out = new ArrayList<>();
            for (Message m : f.getMessages()) {
                if (!seenOnly || m.isSet(Flags.Flag.SEEN)) {
                    out.add(m.getSubject());
                }
            }
            f.close(false);
            return out;
        } finally {
            s.close();
        }
    }

    static String scrape(Metrics m) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        m.writeTo(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void readsAttributesMovesAndLeavesTheRestAlone() throws Exception {
        deliverSamples();
        Metrics metrics = new Metrics();
        BounceIntake.Poll p;
        List<String> lines;
        try (LogCapture logs = new LogCapture("returnpath.mail")) {
            p = intake(config(After.MOVE, "/tls/localhost.pem"), metrics).pollOnce();
            lines = logs.lines();
        }
        assertThat(p).isEqualTo(new BounceIntake.Poll(3, 3, 1));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("bounce: id=- original-from=<apache@web01.internal> "
                + "to=<x@gmail.com> action=failed status=5.7.26 reporting-mta=googlemail.com class=auth cause=unauthenticated fix=\""));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("bounce: id=18C2F3A4B5C6D original-from=<bounce@example.com> "
                + "to=<nobody@example.net> action=failed status=5.1.1 reporting-mta=mx.example.net class=mailbox cause=no-such-user"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("id=18C2F3A4B5C71").contains("action=complaint")
                .contains("class=spam").endsWith("attributed-by=received"));
        assertThat(lines).noneMatch(l -> l.contains("s3cret") || l.contains("Spam Spam"));
        String scraped = scrape(metrics);
        assertThat(scraped).contains("returnpath_bounces_total{class=\"auth\",domain=\"web01.internal\"} 1.0")
                .contains("returnpath_bounces_total{class=\"mailbox\",domain=\"example.com\"} 1.0")
                .contains("returnpath_bounces_total{class=\"spam\",domain=\"example.com\"} 1.0");
        assertThat(subjects("INBOX", false)).containsExactly("Re: your mail");
        assertThat(subjects("INBOX", true)).as("the non-report was read with PEEK").isEmpty();
        assertThat(subjects("returnpath-processed", false)).hasSize(3);

        // a restart: a new intake finds nothing to do
        assertThat(intake(config(After.MOVE, "/tls/localhost.pem"), metrics).pollOnce()).isEqualTo(new BounceIntake.Poll(0, 0, 1));
    }

    /**
     * GreenMail omits COPYUID on some MOVEs while another session expunges, so here only "never
     * twice" is asserted; scenario 25 runs two relays against Dovecot, which always sends it.
     */
    @Test
    void twoRelaysOnOneMailboxNeverLogAReportTwice() throws Exception {
        for (int i = 0; i < 5; i++) {
            deliver(ReportParserTest.sample("postfix-dsn.eml"));
            deliver(ReportParserTest.sample("exim-old.eml"));
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Callable<BounceIntake.Poll>> both = Collections.nCopies(2,
                    () -> intake(config(After.MOVE, "/tls/localhost.pem"), new Metrics()).pollOnce());
            int total = 0;
            for (Future<BounceIntake.Poll> f : pool.invokeAll(both)) {
                total += f.get().reports();
            }
            assertThat(total).isBetween(1, 10);
        } finally {
            pool.shutdown();
        }
        assertThat(subjects("INBOX", false)).isEmpty();
        assertThat(subjects("returnpath-processed", false)).hasSize(10);
    }

    @Test
    void seenModeFlagsAndSkips() throws Exception {
        deliverSamples();
        Metrics metrics = new Metrics();
        assertThat(intake(config(After.SEEN, "/tls/localhost.pem"), metrics).pollOnce().reports()).isEqualTo(3);
        assertThat(subjects("INBOX", true)).hasSize(3).doesNotContain("Re: your mail");
        assertThat(intake(config(After.SEEN, "/tls/localhost.pem"), metrics).pollOnce().reports()).isZero();
    }

    @Test
    void deleteModeExpunges() throws Exception {
        deliverSamples();
        assertThat(intake(config(After.DELETE, "/tls/localhost.pem"), new Metrics()).pollOnce().reports()).isEqualTo(3);
        assertThat(subjects("INBOX", false)).containsExactly("Re: your mail");
    }

    @Test
    void anUntrustedCertificateIsRefused() throws Exception {
        deliverSamples();
        assertThatThrownBy(() -> intake(config(After.MOVE, "/tls/other.pem"), new Metrics()).pollOnce())
                .isInstanceOf(MessagingException.class);
        assertThat(subjects("INBOX", false)).hasSize(4);
    }

    Imap every(Duration interval) throws Exception {
        return new Imap(new Endpoint("localhost", imap.getImaps().getPort()), ImapTls.IMPLICIT, "bounce", "s3cret-imap",
                "INBOX", interval, After.MOVE, "returnpath-processed", Optional.of(resource("/tls/localhost.pem")));
    }

    @Test
    void aReportDeliveredWhileIdlingIsReadWellBeforeTheIntervalAndCloseEndsTheIdleAtOnce() throws Exception {
        BounceIntake intake = intake(every(Duration.ofMinutes(10)), new Metrics());
        try (LogCapture logs = new LogCapture("returnpath.mail")) {
            intake.start();
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(10), "the first pass, then IDLE",
                    () -> intake.passes.get() >= 1 && intake.idling());
            Thread.sleep(200); // IDLE sent and acknowledged by GreenMail
            long t0 = System.nanoTime();
            deliver(ReportParserTest.sample("postfix-dsn.eml"));
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(10), "the report's line",
                    () -> logs.lines().stream().anyMatch(l -> l.startsWith("bounce: id=18C2F3A4B5C6D")));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(took).as("read on the server's notification, not after the 10-minute interval")
                    .isLessThan(Duration.ofSeconds(5));
            assertThat(intake.passes.get()).isGreaterThanOrEqualTo(2);
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(5), "IDLE again", intake::idling);
        } finally {
            long t1 = System.nanoTime();
            intake.close();
            assertThat(Duration.ofNanos(System.nanoTime() - t1)).as("close ends the IDLE promptly").isLessThan(Duration.ofSeconds(2));
        }
        assertThat(intake.idling()).isFalse();
        assertThat(subjects("returnpath-processed", false)).hasSize(1);
    }

    @Test
    void whileIdlingTheFolderIsStillReadEveryInterval() throws Exception {
        BounceIntake intake = intake(every(Duration.ofSeconds(1)), new Metrics());
        try {
            intake.start();
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(10), "the first pass", () -> intake.passes.get() >= 1);
            int first = intake.passes.get();
            Thread.sleep(3_500);
            // no news from the server: the safety net ended each IDLE after the interval
            assertThat(intake.passes.get() - first).isBetween(2, 5);
        } finally {
            intake.close();
        }
    }

    @Test
    void aWrongCaIsLoggedOnceWithWhatToCheck() throws Exception {
        Imap wrong = new Imap(new Endpoint("localhost", imap.getImaps().getPort()), ImapTls.IMPLICIT, "bounce", "s3cret-imap",
                "INBOX", Duration.ofSeconds(1), After.MOVE, "returnpath-processed", Optional.of(resource("/tls/other.pem")));
        BounceIntake intake = intake(wrong, new Metrics());
        List<String> lines;
        try (LogCapture logs = new LogCapture("returnpath.bounces")) {
            intake.start();
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(10), "the warning",
                    () -> logs.lines().stream().anyMatch(l -> l.contains("cannot read")));
            Thread.sleep(2_500); // two more attempts
            lines = logs.lines();
        } finally {
            intake.close();
        }
        List<String> warnings = lines.stream().filter(l -> l.contains("cannot read")).toList();
        assertThat(warnings).singleElement().satisfies(l -> assertThat(l)
                .startsWith("bounce intake: cannot read INBOX at localhost:" + imap.getImaps().getPort() + ": ")
                .endsWith("(the server's certificate does not verify against bounces.imap.ca-file "
                        + resource("/tls/other.pem") + ")")
                .doesNotContain("s3cret"));
    }

    @Test
    void anIdleConnectionLostToAServerRestartIsReadAgainAndSaysSo() throws Exception {
        int port = imap.getImaps().getPort();
        BounceIntake intake = intake(every(Duration.ofSeconds(1)), new Metrics());
        List<String> lines;
        try (LogCapture intakeLog = new LogCapture("returnpath.bounces"); LogCapture mail = new LogCapture("returnpath.mail")) {
            intake.start();
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(10), "IDLE", intake::idling);
            imap.stop();
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(10), "the warning",
                    () -> intakeLog.lines().stream().anyMatch(l -> l.contains("cannot read")));
            ServerSetup again = new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_IMAPS);
            again.setServerStartupTimeout(15_000);
            imap = new GreenMail(again);
            imap.start();
            imap.setUser("bounce@example.com", "bounce", "s3cret-imap");
            deliver(ReportParserTest.sample("postfix-dsn.eml"));
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(15), "the report after the restart",
                    () -> mail.lines().stream().anyMatch(l -> l.startsWith("bounce: id=18C2F3A4B5C6D")));
            // said after the pass that read it
            dev.returnpath.testkit.Await.until(Duration.ofSeconds(5), "reachable again",
                    () -> intakeLog.lines().stream().anyMatch(l -> l.contains("reachable again")));
            lines = intakeLog.lines();
        } finally {
            intake.close();
        }
        assertThat(lines).anySatisfy(l -> assertThat(l).isEqualTo("bounce intake: localhost:" + port + " reachable again"));
        assertThat(lines.stream().filter(l -> l.contains("cannot read")).count()).isEqualTo(1);
    }

    /** GreenMail's plain IMAP offers no STARTTLS: tls = starttls must refuse it, never log in in the clear. */
    @Test
    void starttlsIsRequiredNotOpportunistic() throws Exception {
        ServerSetup plainSetup = new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP);
        plainSetup.setServerStartupTimeout(15_000);
        GreenMail plain = new GreenMail(plainSetup);
        plain.start();
        try {
            plain.setUser("bounce@example.com", "bounce", "s3cret-imap");
            plain.getUserManager().getUser("bounce").deliver(new MimeMessage(Session.getInstance(new Properties()),
                    new ByteArrayInputStream(ReportParserTest.sample("postfix-dsn.eml"))));
            Imap starttls = new Imap(new Endpoint("localhost", plain.getImap().getPort()), ImapTls.STARTTLS, "bounce",
                    "s3cret-imap", "INBOX", Duration.ofSeconds(1), After.MOVE, "returnpath-processed",
                    Optional.of(resource("/tls/localhost.pem")));
            assertThatThrownBy(() -> intake(starttls, new Metrics()).pollOnce())
                    .isInstanceOf(MessagingException.class).hasMessageContaining("STARTTLS");
            assertThat(plain.getManagers().getImapHostManager().getInbox(plain.getUserManager().getUser("bounce"))
                    .getMessageCount()).as("the report is still there, unread").isEqualTo(1);
        } finally {
            plain.stop();
        }
    }
}
