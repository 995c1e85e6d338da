package dev.returnpath.cli;

import dev.returnpath.queue.Spool;
import dev.returnpath.queue.SpoolTesting;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The queue command against the spool of a running relay (the same JVM, the same files). */
class QueueCommandTest {
    @TempDir
    Path dir;
    Path spoolDir;
    Path conf;
    Upstream upstream;
    TestRelay relay;
    final MutableClock clock = new MutableClock(Instant.now());

    @BeforeEach
    void start() throws Exception {
        spoolDir = dir.resolve("spool");
        upstream = new Upstream();
        upstream.rcptReply = r -> "451 4.7.1 greylisted, come back later";
        relay = new TestRelay(upstream.port(), spoolDir, "returnpath.queue.mode = spool", clock);
        conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, """
                returnpath {
                  domains { "example.com" { return-path = "bounce@example.com" } }
                  delivery.smarthost.host = "127.0.0.1"
                  queue { mode = spool, dir = "%s" }
                }
                """.formatted(spoolDir.toString()));
    }

    @AfterEach
    void stop() {
        relay.close();
        upstream.close();
    }

    String queue(String from, String to) throws Exception {
        String reply;
        try (SmtpClient c = relay.client()) {
            reply = c.send(from, List.of(to), ("From: noreply@example.com\r\nSubject: order 42\r\n\r\nthe body\r\n").getBytes());
        }
        assertThat(reply).startsWith("250 2.0.0 Ok: queued as ");
        assertThat(SpoolTesting.idle(relay.queue, Duration.ofSeconds(10))).isTrue();
        return reply.substring(reply.lastIndexOf(' ') + 1);
    }

    record Run(int exit, String out) {}

    Run run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int rc = Main.execute(args);
            return new Run(rc, buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
    }

    @Test
    void listShowsEachMessageWithAgeNextAttemptSenderRecipientsAndLastReply() throws Exception {
        String a = queue("apache@web01.internal", "one@gmail.test");
        String b = queue("www-data@web02.internal", "two@gmail.test");
        Run r = run("queue", "list", "--config", conf.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out())
                .contains(a + "  age ").contains(b + "  age ")
                .containsPattern("attempts 1  next in (4|5)m  from <apache@web01.internal>  return-path <bounce@example.com>")
                .contains("    deferred <one@gmail.test>  451 4.7.1 greylisted, come back later (127.0.0.1[127.0.0.1]:")
                .contains("from <www-data@web02.internal>")
                .endsWith("-- 2 message(s), 2 recipient(s) to deliver\n");
        assertThat(r.out().indexOf(a)).isLessThan(r.out().indexOf(b));
    }

    @Test
    void showPrintsTheEnvelopeAndTheHeaderAndWithBodyTheWholeMessage() throws Exception {
        String id = queue("apache@web01.internal", "one@gmail.test");
        Run r = run("queue", "show", id, "--config", conf.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).startsWith("id: " + id + "\n")
                .contains("sender: <apache@web01.internal>\nreturn-path: <bounce@example.com>\n")
                .contains("attempts: 1\n")
                .contains("recipient: <one@gmail.test> deferred: 451 4.7.1 greylisted")
                .contains("Subject: order 42\r\n")
                .doesNotContain("the body");
        assertThat(run("queue", "show", id, "--body", "--config", conf.toString()).out()).contains("\r\n\r\nthe body\r\n");
    }

    @Test
    void deleteRemovesAMessageWhileServeRunsAndServeForgetsIt() throws Exception {
        String id = queue("apache@web01.internal", "one@gmail.test");
        assertThat(relay.queue.size()).isEqualTo(1);
        Run r = run("queue", "delete", id, "--config", conf.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo(id + ": deleted\n");
        assertThat(relay.spool.ids()).isEmpty();

        upstream.rcptReply = x -> null;
        int attempts = upstream.rcptAttempts.size();
        clock.advance(Duration.ofMinutes(10));
        relay.queue.wake();
        Await.until(Duration.ofSeconds(5), "the runner to forget it", () -> relay.queue.size() == 0);
        assertThat(upstream.rcptAttempts).hasSize(attempts);
        assertThat(upstream.received).isEmpty();
    }

    @Test
    void deleteOfAnUnknownIdExits1() {
        Run r = run("queue", "delete", "0123456789ABC", "--config", conf.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void deleteOfAMessageBeingDeliveredWaitsThenGivesUp() throws Exception {
        String id = queue("apache@web01.internal", "one@gmail.test");
        try (Spool.EntryLock attempt = relay.spool.tryLock(id).orElseThrow()) {
            Run r = run("queue", "delete", id, "--wait", "300ms", "--config", conf.toString());
            assertThat(r.exit()).isEqualTo(1);
        }
        assertThat(relay.spool.ids()).containsExactly(id);
    }

    @Test
    void flushMakesARunningServeTryEverythingNow() throws Exception {
        queue("apache@web01.internal", "one@gmail.test");
        queue("apache@web01.internal", "two@gmail.test");
        upstream.rcptReply = x -> null;
        Run r = run("queue", "flush", "--config", conf.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("2 message(s) scheduled for delivery now\n");
        // the test clock has not moved: only the flush can make these go now
        Await.until(Duration.ofSeconds(10), "the flushed messages", () -> upstream.received.size() == 2);
        Await.until(Duration.ofSeconds(10), "an empty spool", () -> {
            try {
                return relay.spool.ids().isEmpty();
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    @Test
    void aFlushWhileServeIsStoppedIsDeliveredAtItsNextStartAndRewritesNoEnvelope() throws Exception {
        String a = queue("apache@web01.internal", "one@gmail.test");
        relay.close();
        Path env = spoolDir.resolve("queue").resolve(a + ".env");
        byte[] before = Files.readAllBytes(env);
        Run r = run("queue", "flush", "--config", conf.toString());
        assertThat(r.out()).isEqualTo("1 message(s) scheduled for delivery now\n"
                + "serve is not running on " + spoolDir + ": they are tried when it starts\n");
        assertThat(Files.readAllBytes(env)).isEqualTo(before); // its next attempt is still in 5 minutes
        upstream.rcptReply = x -> null;
        relay = new TestRelay(upstream.port(), spoolDir, "returnpath.queue.mode = spool", clock);
        // the test clock has not moved: only the flush file can make it go now
        Await.until(Duration.ofSeconds(10), "the flushed message", () -> upstream.received.size() == 1);
    }

    @Test
    void listOfASpoolThatWasNeverCreatedIsEmpty() throws Exception {
        Path other = dir.resolve("other.conf");
        Files.writeString(other, Files.readString(conf).replace(spoolDir.toString(), dir.resolve("nothing-here").toString()));
        Run r = run("queue", "list", "--config", other.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("the spool in " + dir.resolve("nothing-here").toAbsolutePath() + " is empty\n");
        assertThat(dir.resolve("nothing-here")).doesNotExist();
    }

    @Test
    void aBadConfigurationExits78() throws Exception {
        Path bad = dir.resolve("bad.conf");
        Files.writeString(bad, "returnpath.queue.mode = sometimes\n");
        assertThat(run("queue", "list", "--config", bad.toString()).exit()).isEqualTo(Main.EXIT_CONFIG);
    }

    @Test
    void showAndDeleteOfAPathInsteadOfAnIdTouchNothingOutsideTheSpool() throws Exception {
        String id = queue("apache@web01.internal", "one@gmail.test");
        // a victim beside the spool, shaped like an entry: queue/../../victim.{env,eml}
        Path env = dir.resolve("victim.env");
        Path eml = dir.resolve("victim.eml");
        Files.copy(spoolDir.resolve("queue").resolve(id + ".env"), env);
        Files.writeString(eml, "Subject: private\r\n\r\nsecret\r\n");
        for (String bad : List.of("../../victim", "../queue/" + id, "x/y", "", ".", "..")) {
            Run show = run("queue", "show", bad, "--body", "--config", conf.toString());
            assertThat(show.exit()).as("show %s", bad).isEqualTo(Main.EXIT_USAGE);
            assertThat(show.out()).doesNotContain("secret").doesNotContain("apache@web01.internal");
            assertThat(run("queue", "delete", bad, "--config", conf.toString()).exit()).as("delete %s", bad)
                    .isEqualTo(Main.EXIT_USAGE);
        }
        assertThat(env).exists();
        assertThat(eml).exists();
        assertThat(relay.spool.ids()).containsExactly(id);
    }

    @Test
    void queueWithoutASubcommandIsAUsageError() {
        assertThat(run("queue").exit()).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void aDamagedJournalIsCountedOnMetricsAndQueueListShowsWhatWasRecoveredAndWhatIsKept() throws Exception {
        relay.close();
        // three messages in the journal as a kill -9 during an outage leaves them, the second one's
        // envelope then damaged (a flipped byte in its sender)
        java.time.Instant t = clock.instant().minusSeconds(60);
        try (Spool s = Spool.open(spoolDir)) {
            for (String id : List.of("D1", "D2", "D3")) {
                s.commit(new dev.returnpath.queue.QueueEntry(id, t, "127.0.0.1", "web01", "apache@web01.internal",
                                "bounce@example.com", 20, 0, t, false, List.of(new dev.returnpath.queue.QueueEntry.Recipient(
                                id.toLowerCase() + "@gmail.test", dev.returnpath.queue.QueueEntry.State.PENDING, "", ""))),
                        dev.returnpath.delivery.OutboundMessage.inMemory("Subject: x\r\n\r\nbody\r\n".getBytes()));
            }
        }
        Path segment;
        try (var files = Files.list(spoolDir.resolve("journal"))) {
            segment = files.filter(f -> f.toString().endsWith(".log")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(segment);
        int at = new String(bytes, StandardCharsets.ISO_8859_1).indexOf("d2@gmail.test");
        assertThat(at).isPositive();
        bytes[at] ^= 0x01;
        Files.write(segment, bytes);

        relay = new TestRelay(upstream.port(), spoolDir, "returnpath.queue.mode = spool", clock);
        assertThat(SpoolTesting.idle(relay.queue, Duration.ofSeconds(10))).isTrue();
        try (dev.returnpath.ops.Management m = new dev.returnpath.ops.Management("127.0.0.1", 0, relay.metrics,
                new dev.returnpath.ops.Management.Readiness(), () -> true)) {
            java.net.http.HttpResponse<String> scrape = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + m.port() + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(scrape.body())
                    .contains("returnpath_spool_corrupt_files{kind=\"journal-segment\"} 1.0")
                    .contains("returnpath_spool_corrupt_files{kind=\"envelope\"} 0.0")
                    .contains("returnpath_spool_journal_records_lost_total 1.0");
        }
        Run r = run("queue", "list", "--config", conf.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("D1  age ", "<d1@gmail.test>", "D3  age ", "<d3@gmail.test>")
                .doesNotContain("D2  age ")
                .contains("-- kept in " + spoolDir.resolve("corrupt") + ": 1 damaged journal segment(s), "
                        + "0 message(s) with an unreadable envelope\n")
                .endsWith("-- 2 message(s), 2 recipient(s) to deliver\n");
    }
}
