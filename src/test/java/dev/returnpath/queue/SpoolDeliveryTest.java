package dev.returnpath.queue;

import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.MutableClock;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import jakarta.mail.BodyPart;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetHeaders;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/** Spool mode end to end over loopback: a raw client, the relay with its queue, a real SMTP upstream. */
class SpoolDeliveryTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    Upstream upstream;
    TestRelay relay;
    final MutableClock clock = new MutableClock(Instant.parse("2025-03-01T10:00:00Z"));

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    void start(String extra) throws Exception {
        upstream = upstream == null ? new Upstream() : upstream;
        relay = new TestRelay(upstream.port(), dir, "returnpath.queue.mode = spool\n" + extra, clock);
    }

    static String mail(String body) {
        return "From: noreply@example.com\r\nTo: user@gmail.test\r\nSubject: hi\r\nMessage-ID: <m1@web01.internal>\r\n"
                + "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\n"
                + body + "\r\n";
    }

    String send(String from, List<String> to) throws Exception {
        try (SmtpClient c = relay.client()) {
            return c.send(from, to, mail("hello").getBytes());
        }
    }

    static String idOf(String reply) {
        return reply.substring(reply.lastIndexOf(' ') + 1);
    }

    QueueEntry entry(String id) throws Exception {
        return relay.spool.read(id).orElseThrow(() -> new AssertionError(id + " is not in the spool"));
    }

    /** Moves the test clock and lets the queue act on it. */
    void advance(Duration d) throws Exception {
        clock.advance(d);
        relay.queue.wake();
        assertThat(SpoolTesting.idle(relay.queue, WAIT)).isTrue();
    }

    void settle() throws Exception {
        assertThat(SpoolTesting.idle(relay.queue, WAIT)).isTrue();
    }

    @Test
    void messageIsAnswered250QueuedThenDeliveredInTheBackgroundAndRemoved() throws Exception {
        start("");
        String reply = send("apache@web01.internal", List.of("user@gmail.test"));
        assertThat(reply).matches("250 2\\.0\\.0 Ok: queued as [0-9A-F]{13}");
        Await.until(WAIT, "delivery", () -> upstream.received.size() == 1);
        Upstream.Received got = upstream.received.get(0);
        assertThat(got.reversePath()).isEqualTo("bounce@example.com");
        assertThat(got.forwardPaths()).containsExactly("user@gmail.test");
        assertThat(got.text()).startsWith("Received: from web01.internal ([127.0.0.1])\r\n\tby relay.test (returnpath) with ESMTP id "
                + idOf(reply)).contains("Message-ID: <m1@web01.internal>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nhello\r\n");
        settle();
        assertThat(relay.spool.ids()).isEmpty();
        assertThat(relay.queue.size()).isZero();
    }

    @Test
    void spooledEntryIsOnDiskBeforeThe250() throws Exception {
        upstream = new Upstream();
        upstream.dataReply = "451 4.7.0 greylisted, try again later";
        start("");
        String id = idOf(send("apache@web01.internal", List.of("user@gmail.test", "other@gmail.test")));
        QueueEntry e = entry(id);
        assertThat(e.sender()).isEqualTo("apache@web01.internal");
        assertThat(e.returnPath()).isEqualTo("bounce@example.com");
        assertThat(e.client()).isEqualTo("127.0.0.1");
        assertThat(e.recipients()).extracting(QueueEntry.Recipient::address)
                .containsExactly("user@gmail.test", "other@gmail.test");
        byte[] spooled;
        try (var in = relay.spool.openMessage(id)) {
            spooled = in.readAllBytes();
        }
        assertThat(new String(spooled, java.nio.charset.StandardCharsets.US_ASCII)).contains("Subject: hi\r\n");
        assertThat((long) spooled.length).isEqualTo(e.size());
    }

    @Test
    void upstream451IsRetriedAfterFirstRetryThenDelivered() throws Exception {
        upstream = new Upstream();
        upstream.dataReply = "451 4.7.0 greylisted, try again later";
        start("");
        String id = idOf(send("apache@web01.internal", List.of("user@gmail.test")));
        Await.until(WAIT, "first attempt", () -> upstream.rcptAttempts.size() == 1);
        settle();
        QueueEntry e = entry(id);
        assertThat(e.attempts()).isEqualTo(1);
        assertThat(e.nextAttempt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(5)));
        assertThat(e.recipients()).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(QueueEntry.State.DEFERRED);
            assertThat(r.reply()).isEqualTo("451 4.7.0 greylisted, try again later");
            assertThat(r.relay()).isEqualTo("127.0.0.1[127.0.0.1]:" + upstream.port());
        });
        assertThat(e.lastReply()).contains("greylisted");

        advance(Duration.ofMinutes(4));
        assertThat(upstream.rcptAttempts).hasSize(1); // not before its time

        upstream.dataReply = null;
        advance(Duration.ofMinutes(1));
        assertThat(upstream.received).singleElement()
                .satisfies(m -> assertThat(m.forwardPaths()).containsExactly("user@gmail.test"));
        assertThat(relay.spool.ids()).isEmpty();
    }

    @Test
    void retriesDoubleUpToTheMaximumInterval() throws Exception {
        upstream = new Upstream();
        upstream.dataReply = "451 4.3.0 still down";
        start("returnpath.queue { first-retry = 5m, max-retry-interval = 30m }");
        String id = idOf(send("apache@web01.internal", List.of("user@gmail.test")));
        settle();
        List<Duration> gaps = new ArrayList<>();
        Instant last = clock.instant();
        for (int i = 0; i < 5; i++) {
            Instant next = entry(id).nextAttempt();
            gaps.add(Duration.between(last, next));
            last = next;
            advance(Duration.between(clock.instant(), next));
        }
        assertThat(gaps).containsExactly(Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ofMinutes(20),
                Duration.ofMinutes(30), Duration.ofMinutes(30));
        assertThat(entry(id).attempts()).isEqualTo(5 + 1);
    }

    @Test
    void permanent550GivesADsnToTheReturnPathWhoseDeliveryStatusParses() throws Exception {
        upstream = new Upstream();
        upstream.rcptReply = r -> r.equals("user@gmail.test") ? "550 5.7.26 This mail is unauthenticated" : null;
        start("");
        String id = idOf(send("apache@web01.internal", List.of("user@gmail.test")));
        Await.until(WAIT, "the DSN", () -> upstream.received.size() == 1);
        settle();
        Upstream.Received dsn = upstream.received.get(0);
        assertThat(dsn.reversePath()).isEmpty();
        assertThat(dsn.forwardPaths()).containsExactly("bounce@example.com");
        DeliveryStatus status = DeliveryStatus.parse(dsn.data());
        assertThat(status.message().getHeader("Reporting-MTA", null)).isEqualTo("dns; relay.test");
        assertThat(status.message().getHeader("X-Returnpath-Queue-ID", null)).isEqualTo(id);
        assertThat(status.recipients()).singleElement().satisfies(r -> {
            assertThat(r.getHeader("Final-Recipient", null)).isEqualTo("rfc822; user@gmail.test");
            assertThat(r.getHeader("Action", null)).isEqualTo("failed");
            assertThat(r.getHeader("Status", null)).isEqualTo("5.7.26");
            assertThat(r.getHeader("Remote-MTA", null)).isEqualTo("dns; 127.0.0.1");
            assertThat(r.getHeader("Diagnostic-Code", null)).isEqualTo("smtp; 550 5.7.26 This mail is unauthenticated");
        });
        assertThat(status.originalHeaders()).contains("Message-ID: <m1@web01.internal>");
        assertThat(relay.spool.ids()).isEmpty();
    }

    @Test
    void theQueueLogsTheSameRecipientLinesAsPassthroughWithTheCauseAndTheFix() throws Exception {
        upstream = new Upstream();
        upstream.rcptReply = r -> r.equals("user@gmail.test") ? "550 5.7.26 This mail is unauthenticated" : null;
        start("");
        List<String> lines;
        String id;
        try (LogCapture mail = new LogCapture("returnpath.mail")) {
            id = idOf(send("apache@web01.internal", List.of("user@gmail.test")));
            Await.until(WAIT, "the DSN", () -> upstream.received.size() == 1);
            settle();
            lines = mail.lines();
        }
        String server = "127.0.0.1[127.0.0.1]:" + upstream.port();
        String dsnId = lines.stream().filter(l -> l.startsWith(id + ": sender non-delivery notification: "))
                .map(SpoolDeliveryTest::idOf).findFirst().orElseThrow();
        assertThat(lines).filteredOn(l -> l.startsWith(id + ": ")).last().isEqualTo(id + ": removed");
        assertThat(lines).filteredOn(l -> l.startsWith(id + ": ") && !l.contains("client=")).containsExactly(
                id + ": status=queued nrcpt=1",
                id + ": to=<user@gmail.test> relay=" + server + " delay=0.00 dsn=5.7.26 status=bounced"
                        + " (550 5.7.26 This mail is unauthenticated) cause=unauthenticated fix=\"the message passed"
                        + " neither SPF nor DKIM: publish the outbound IP in the SPF record of the Return-Path domain"
                        + " (returnpath doctor shows the mechanism), and sign with DKIM\"",
                id + ": sender non-delivery notification: " + dsnId,
                id + ": removed");
        assertThat(lines).filteredOn(l -> l.startsWith(dsnId + ": ")).containsExactly(
                dsnId + ": client=local from=<> return-path=<> size=" + upstream.received.get(0).data().length
                        + " nrcpt=1 (sender non-delivery notification for " + id + ")",
                dsnId + ": to=<bounce@example.com> relay=" + server + " delay=0.00 dsn=2.0.0 status=sent"
                        + " (250 2.0.0 Ok: queued as UP1)",
                dsnId + ": removed");
        var scrape = new java.io.ByteArrayOutputStream();
        relay.metrics.writeTo(scrape);
        assertThat(scrape.toString(java.nio.charset.StandardCharsets.UTF_8))
                .contains("returnpath_upstream_replies_total{cause=\"unauthenticated\",class=\"5xx\"} 1");
    }

    @Test
    void messageOlderThanMaxAgeBouncesWithTheLastTemporaryReply() throws Exception {
        upstream = new Upstream();
        upstream.rcptReply = r -> r.equals("user@gmail.test") ? "451 4.4.1 mailbox server unreachable" : null;
        start("");
        LogCapture mail = new LogCapture("returnpath.mail");
        String id = idOf(send("apache@web01.internal", List.of("user@gmail.test")));
        settle();
        assertThat(entry(id).attempts()).isEqualTo(1);
        advance(Duration.ofDays(4));
        assertThat(upstream.received).isEmpty(); // still retried, not bounced, at 4 days
        assertThat(entry(id).recipients().get(0).state()).isEqualTo(QueueEntry.State.DEFERRED);

        advance(Duration.ofDays(1));
        Await.until(WAIT, "the DSN", () -> upstream.received.size() == 1);
        settle();
        Upstream.Received dsn = upstream.received.get(0);
        assertThat(dsn.forwardPaths()).containsExactly("bounce@example.com");
        assertThat(dsn.text()).contains("message expired after 5d in the queue");
        mail.close();
        assertThat(mail.lines()).contains(id + ": to=<user@gmail.test> delay=432000.00 dsn=4.4.1 status=expired"
                + " (message expired after 5d in the queue)");
        DeliveryStatus status = DeliveryStatus.parse(dsn.data());
        assertThat(status.recipients()).singleElement().satisfies(r -> {
            assertThat(r.getHeader("Action", null)).isEqualTo("failed");
            assertThat(r.getHeader("Status", null)).isEqualTo("4.4.1");
        });
        assertThat(relay.spool.ids()).isEmpty();
    }

    @Test
    void partialFailureRetriesOnlyTheFailedRecipients() throws Exception {
        upstream = new Upstream();
        AtomicBoolean greylist = new AtomicBoolean(true);
        upstream.rcptReply = r -> r.equals("bad@gmail.test") && greylist.get() ? "451 4.7.1 greylisted" : null;
        start("");
        String id = idOf(send("apache@web01.internal", List.of("good@gmail.test", "bad@gmail.test")));
        Await.until(WAIT, "first delivery", () -> upstream.received.size() == 1);
        settle();
        assertThat(upstream.received.get(0).forwardPaths()).containsExactly("good@gmail.test");
        assertThat(entry(id).recipients()).extracting(QueueEntry.Recipient::state)
                .containsExactly(QueueEntry.State.SENT, QueueEntry.State.DEFERRED);

        greylist.set(false);
        advance(Duration.ofMinutes(5));
        assertThat(upstream.received).hasSize(2);
        assertThat(upstream.received.get(1).forwardPaths()).containsExactly("bad@gmail.test");
        assertThat(upstream.rcptAttempts.stream().filter("good@gmail.test"::equals)).hasSize(1);
        assertThat(relay.spool.ids()).isEmpty();
    }

    @Test
    void undeliverableNullSenderMessageIsDroppedWithoutADsn() throws Exception {
        upstream = new Upstream();
        upstream.rcptReply = r -> "550 5.1.1 no such user";
        start("");
        String reply;
        try (LogCapture mail = new LogCapture("returnpath.mail")) {
            reply = send("", List.of("user@gmail.test"));
            assertThat(reply).startsWith("250 2.0.0 Ok: queued as ");
            Await.until(WAIT, "the attempt", () -> upstream.rcptAttempts.size() == 1);
            settle();
            String id = idOf(reply);
            assertThat(mail.lines()).filteredOn(l -> l.startsWith(id + ": to=")).containsExactly(
                    id + ": to=<user@gmail.test> relay=127.0.0.1[127.0.0.1]:" + upstream.port()
                            + " delay=0.00 dsn=5.1.1 status=bounced (550 5.1.1 no such user)",
                    id + ": to=<user@gmail.test> status=dropped (undeliverable message from the null sender:"
                            + " no DSN is sent for a bounce)");
        }
        assertThat(relay.spool.ids()).isEmpty();
        assertThat(upstream.received).isEmpty();
        assertThat(upstream.rcptAttempts).containsExactly("user@gmail.test"); // no DSN was tried
    }

    @Test
    void delayWarningIsSentOnceAfterTheConfiguredDelay() throws Exception {
        upstream = new Upstream();
        upstream.rcptReply = r -> r.equals("user@gmail.test") ? "451 4.2.2 mailbox full" : null;
        start("returnpath.queue.delay-warning = 1h");
        String id = idOf(send("apache@web01.internal", List.of("user@gmail.test")));
        settle();
        advance(Duration.ofMinutes(50));
        assertThat(upstream.received).isEmpty();
        advance(Duration.ofMinutes(30));
        Await.until(WAIT, "the delay warning", () -> upstream.received.size() == 1);
        settle();
        Upstream.Received warning = upstream.received.get(0);
        assertThat(warning.reversePath()).isEmpty();
        assertThat(warning.text()).contains("Subject: Delayed Mail (still being retried)");
        DeliveryStatus status = DeliveryStatus.parse(warning.data());
        assertThat(status.recipients()).singleElement().satisfies(r -> {
            assertThat(r.getHeader("Action", null)).isEqualTo("delayed");
            assertThat(r.getHeader("Status", null)).isEqualTo("4.2.2");
            assertThat(r.getHeader("Will-Retry-Until", null)).isNotBlank();
        });
        assertThat(entry(id).warned()).isTrue();
        advance(Duration.ofHours(2));
        assertThat(upstream.received).hasSize(1); // once only
        assertThat(entry(id).recipients().get(0).state()).isEqualTo(QueueEntry.State.DEFERRED);
    }

    @Test
    void spoolThatCannotBeWrittenGives452AndNever250() throws Exception {
        start("");
        // root ignores permission bits, so make the spool unwritable another way: its journal
        // directory becomes a regular file, and the first commit cannot create its segment
        Path queueDir = dir.resolve("journal");
        Path aside = dir.resolve("journal.aside");
        Files.move(queueDir, aside);
        Files.writeString(queueDir, "not a directory");
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("user@gmail.test"), mail("x").getBytes());
            assertThat(r).isEqualTo("452 4.3.1 Insufficient system storage");
            // the transaction was reset: the client may try again on the same connection
            Files.delete(queueDir);
            Files.move(aside, queueDir);
            assertThat(c.send("apache@web01.internal", List.of("user@gmail.test"), mail("y").getBytes()))
                    .startsWith("250 2.0.0 Ok: queued as ");
        }
        Await.until(WAIT, "delivery of the second message", () -> upstream.received.size() == 1);
        assertThat(upstream.received.get(0).text()).contains("\r\n\r\ny\r\n");
        relay.close(); // DATA went into reused scratch files, deleted when the relay stops
        try (var files = Files.list(dir.resolve("incoming"))) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void incomingDirectoryThatCannotBeWrittenGives452() throws Exception {
        start("");
        Path incoming = dir.resolve("incoming");
        Files.delete(incoming);
        Files.writeString(incoming, "not a directory");
        String r = send("apache@web01.internal", List.of("user@gmail.test"));
        assertThat(r).isEqualTo("452 4.3.1 Insufficient system storage");
        assertThat(relay.spool.ids()).isEmpty();
    }

    @Test
    void restartResumesWhatTheSpoolHolds() throws Exception {
        int port;
        try (Upstream down = new Upstream()) {
            port = down.port();
        }
        relay = new TestRelay(port, dir, "returnpath.queue.mode = spool", clock);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(idOf(send("apache@web01.internal", List.of("u" + i + "@gmail.test"))));
        }
        settle();
        assertThat(relay.spool.ids()).containsExactlyElementsOf(ids);
        assertThat(entry(ids.get(0)).recipients().get(0).reply()).startsWith("451 4.4.1 connect to 127.0.0.1:" + port);
        relay.close();

        upstream = new Upstream(InetAddress.getLoopbackAddress(), port);
        clock.advance(Duration.ofMinutes(5));
        relay = new TestRelay(port, dir, "returnpath.queue.mode = spool", clock);
        Await.until(WAIT, "resumed deliveries", () -> upstream.received.size() == 3);
        settle();
        assertThat(upstream.received).extracting(m -> m.forwardPaths().get(0))
                .containsExactlyInAnyOrder("u0@gmail.test", "u1@gmail.test", "u2@gmail.test");
        assertThat(relay.spool.ids()).isEmpty();
    }

    @Test
    void aSecondRelayOnTheSameSpoolIsRefused() throws Exception {
        start("");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Spool.open(dir))
                .isInstanceOf(Spool.BusyException.class).hasMessageContaining("in use by another returnpath");
    }

    /** The parts of a multipart/report (RFC 6522) with its message/delivery-status (RFC 3464) parsed. */
    record DeliveryStatus(InternetHeaders message, List<InternetHeaders> recipients, String originalHeaders) {
        static DeliveryStatus parse(byte[] raw) throws Exception {
            MimeMessage m = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(raw));
            assertThat(m.getContentType()).startsWith("multipart/report").contains("report-type=delivery-status");
            MimeMultipart mp = (MimeMultipart) m.getContent();
            assertThat(mp.getCount()).isEqualTo(3);
            BodyPart ds = mp.getBodyPart(1);
            assertThat(ds.getContentType()).isEqualTo("message/delivery-status");
            InternetHeaders perMessage;
            List<InternetHeaders> perRecipient = new ArrayList<>();
            try (InputStream in = ds.getInputStream()) {
                perMessage = new InternetHeaders(in);
                while (true) {
                    InternetHeaders h = new InternetHeaders(in);
                    if (!h.getAllHeaders().hasMoreElements()) {
                        break;
                    }
                    perRecipient.add(h);
                }
            }
            for (InternetHeaders r : perRecipient) {
                assertThat(r.getHeader("Status", null)).matches("[245]\\.\\d{1,3}\\.\\d{1,3}");
                assertThat(r.getHeader("Final-Recipient", null)).isNotNull();
            }
            BodyPart headers = mp.getBodyPart(2);
            assertThat(headers.getContentType()).isEqualTo("text/rfc822-headers");
            String original;
            try (InputStream in = headers.getInputStream()) {
                original = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
            return new DeliveryStatus(perMessage, perRecipient, original);
        }
    }

    @Test
    void aSmarthostThatRefusesIsMarkedDeadAndTheNextMessageWaitsWithoutAConnectionUntilAProbeFindsItBack()
            throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort(); // closed again: connections to it are refused
        }
        try (LogCapture queueLog = new LogCapture("returnpath.queue")) {
            relay = new TestRelay(port, dir, "returnpath.queue.mode = spool\n", clock);
            String first = idOf(send("apache@web01.internal", List.of("user@gmail.test")));
            settle();
            assertThat(entry(first).recipients().get(0).reply()).contains("4.4.1", "connect to");
            assertThat(queueLog.lines()).anyMatch(l -> l.contains("is down") && l.contains("one probe in 10s"));

            String second = idOf(send("apache@web01.internal", List.of("other@gmail.test")));
            settle();
            // deferred on its first attempt without a connection: the relay's own note, not a connect failure
            assertThat(entry(second).recipients().get(0).reply()).contains("4.4.1", "is down since", "not tried");
            assertThat(entry(second).attempts()).isEqualTo(1);

            upstream = new Upstream(InetAddress.getLoopbackAddress(), port);
            // both are due after first-retry (5m): one is the probe, the other waits for it and
            // is tried as soon as the probe finds the hop back, not at its next retry
            advance(Duration.ofMinutes(5));
            Await.until(WAIT, "both delivered", () -> upstream.received.size() == 2);
            assertThat(queueLog.lines()).anyMatch(l -> l.contains("is up again"));
            settle();
            assertThat(relay.spool.ids()).isEmpty();
        }
    }

    @Test
    void aFlushTriesEveryMessageEvenWhileItsHopIsMarkedDown() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        relay = new TestRelay(port, dir, "returnpath.queue.mode = spool\n", clock);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(idOf(send("apache@web01.internal", List.of("user" + i + "@gmail.test"))));
        }
        settle();
        assertThat(ids).allSatisfy(id -> assertThat(entry(id).recipients().get(0).reply()).contains("4.4.1"));
        upstream = new Upstream(InetAddress.getLoopbackAddress(), port);
        // the operator's flush, with no time passing: not one probe and four more deferrals
        relay.spool.requestFlush();
        relay.queue.wake();
        Await.until(WAIT, "all five delivered", () -> upstream.received.size() == 5);
        settle();
        assertThat(relay.spool.ids()).isEmpty();
    }
}
