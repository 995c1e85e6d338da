package dev.returnpath.queue;

import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Reply;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The reports both modes write: what they contain, where they go, and the lines that announce them. */
class BouncesTest {
    static final ZonedDateTime ARRIVAL = ZonedDateTime.of(2025, 3, 1, 10, 0, 0, 0, ZoneOffset.UTC);
    static final ZonedDateTime NOW = ARRIVAL.plusMinutes(3);
    static final byte[] HEADERS = "From: noreply@example.com\r\nMessage-ID: <m1@web01.internal>\r\n"
            .getBytes(StandardCharsets.US_ASCII);
    static final Bounces.Original ORIGINAL = new Bounces.Original("3F2A9C1B00001", "bounce@example.com", ARRIVAL, HEADERS);
    static final String RELAY = "mx.example.org[192.0.2.1]:25";

    final AtomicInteger idsTaken = new AtomicInteger();
    final Supplier<String> ids = () -> "1A21F85C0EC0" + idsTaken.incrementAndGet();

    static List<String> text(List<MailEvent> lines) {
        return lines.stream().map(e -> e.id() + ": " + MailLog.text(e)).toList();
    }

    @Test
    void aFailureNoticeGoesFromTheNullSenderToTheReturnPathAndIsAnnouncedOnBothIds() throws Exception {
        List<Dsn.Report> failed = List.of(new Dsn.Report("user@example.org", Reply.parse(550, "550 5.1.1 no such user"),
                RELAY, ""));

        Bounces.Notice notice = Bounces.nonDelivery("relay.test", ORIGINAL, failed, NOW, ids);

        assertThat(notice).isInstanceOf(Bounces.Notice.Send.class);
        Bounces.Notice.Send dsn = (Bounces.Notice.Send) notice;
        assertThat(dsn.id()).isEqualTo("1A21F85C0EC01");
        assertThat(dsn.envelope().reversePath()).isEmpty();
        assertThat(dsn.envelope().forwardPaths()).containsExactly("bounce@example.com");
        assertThat(text(dsn.lines())).containsExactly(
                "3F2A9C1B00001: sender non-delivery notification: 1A21F85C0EC01",
                "1A21F85C0EC01: client=local from=<> return-path=<> size=" + dsn.message().length
                        + " nrcpt=1 (sender non-delivery notification for 3F2A9C1B00001)");
        SpoolDeliveryTest.DeliveryStatus status = SpoolDeliveryTest.DeliveryStatus.parse(dsn.message());
        assertThat(status.message().getHeader("X-Returnpath-Queue-ID", null)).isEqualTo("3F2A9C1B00001");
        assertThat(status.recipients()).singleElement().satisfies(r -> {
            assertThat(r.getHeader("Final-Recipient", null)).isEqualTo("rfc822; user@example.org");
            assertThat(r.getHeader("Action", null)).isEqualTo("failed");
            assertThat(r.getHeader("Status", null)).isEqualTo("5.1.1");
            assertThat(r.getHeader("Remote-MTA", null)).isEqualTo("dns; mx.example.org");
        });
        assertThat(status.originalHeaders()).contains("Message-ID: <m1@web01.internal>");
    }

    @Test
    void aNullSenderMessageGetsNoNoticeButADroppedLinePerRecipientAndUsesNoQueueId() {
        Bounces.Original bounce = new Bounces.Original("3F2A9C1B00001", "", ARRIVAL, new byte[0]);
        List<Dsn.Report> failed = List.of(
                new Dsn.Report("a@example.org", Reply.parse(550, "550 5.1.1 no such user"), RELAY, ""),
                new Dsn.Report("b@example.org", Reply.parse(451, "451 4.4.1 timeout"), "", "message expired after 5d in the queue"));

        Bounces.Notice notice = Bounces.nonDelivery("relay.test", bounce, failed, NOW, ids);

        assertThat(notice).isInstanceOf(Bounces.Notice.None.class);
        assertThat(text(notice.lines())).containsExactly(
                "3F2A9C1B00001: to=<a@example.org> status=dropped (undeliverable message from the null sender: no DSN is sent for a bounce)",
                "3F2A9C1B00001: to=<b@example.org> status=dropped (undeliverable message from the null sender: no DSN is sent for a bounce)");
        assertThat(notice.lines()).allMatch(MailEvent::warning);
        assertThat(idsTaken).hasValue(0);
    }

    @Test
    void aDelayWarningSaysUntilWhenItIsRetried() throws Exception {
        List<Dsn.Report> delayed = List.of(new Dsn.Report("user@example.org", Reply.parse(451, "451 4.2.2 mailbox full"),
                RELAY, ""));

        Bounces.Notice notice = Bounces.delayWarning("relay.test", ORIGINAL, delayed, NOW, ARRIVAL.plusDays(5), ids);

        Bounces.Notice.Send dsn = (Bounces.Notice.Send) notice;
        assertThat(new String(dsn.message(), StandardCharsets.US_ASCII)).contains("Subject: Delayed Mail (still being retried)");
        assertThat(text(dsn.lines())).first().isEqualTo("3F2A9C1B00001: sender delay notification: 1A21F85C0EC01");
        assertThat(SpoolDeliveryTest.DeliveryStatus.parse(dsn.message()).recipients()).singleElement().satisfies(r -> {
            assertThat(r.getHeader("Action", null)).isEqualTo("delayed");
            assertThat(r.getHeader("Status", null)).isEqualTo("4.2.2");
            assertThat(r.getHeader("Will-Retry-Until", null)).isEqualTo("Thu, 6 Mar 2025 10:00:00 +0000");
        });
    }

    @Test
    void aNullSenderMessageGetsNoDelayWarningAndNoLine() {
        Bounces.Original bounce = new Bounces.Original("3F2A9C1B00001", "", ARRIVAL, new byte[0]);
        Bounces.Notice notice = Bounces.delayWarning("relay.test", bounce,
                List.of(new Dsn.Report("a@example.org", Reply.parse(451, "451 4.2.2 full"), RELAY, "")), NOW,
                ARRIVAL.plusDays(5), ids);
        assertThat(notice).isEqualTo(new Bounces.Notice.None(List.of()));
        assertThat(idsTaken).hasValue(0);
    }

    /** A passthrough recipient in the DSN: a server's reply is an SMTP diagnostic, the relay's own is not. */
    @ParameterizedTest(name = "upstream said it: {0}")
    @CsvSource(delimiter = '|', textBlock = """
            true  | Remote-MTA: dns; mx2.test | Diagnostic-Code: smtp; 451 4.7.1 greylisted
            false |                           | Diagnostic-Code: X-Returnpath; 451 4.7.1 greylisted
            """)
    void aPassthroughFailureNamesTheServerOnlyWhenItSaidTheReply(boolean upstreamSaid, String remoteMta,
                                                                  String diagnostic) {
        RecipientOutcome r = new RecipientOutcome("b@other.test", DeliveryOutcome.Status.DEFERRED,
                Reply.parse(451, "451 4.7.1 greylisted"), upstreamSaid, "mx2.test[127.0.0.3]:25");
        DeliveryOutcome outcome = new DeliveryOutcome("none", List.of(r), 0.1);

        Dsn.Report report = Bounces.failure(outcome, r);

        Bounces.Notice.Send dsn = (Bounces.Notice.Send) Bounces.nonDelivery("relay.test", ORIGINAL, List.of(report), NOW, ids);
        String text = new String(dsn.message(), StandardCharsets.US_ASCII);
        assertThat(text).contains(diagnostic);
        if (remoteMta == null) {
            assertThat(text).doesNotContain("Remote-MTA:");
        } else {
            assertThat(text).contains(remoteMta);
        }
    }

    @Test
    void theHeaderBlockEndsBeforeTheEmptyLine() {
        byte[] message = "Subject: hi\r\nTo: a@example.org\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        assertThat(new String(Bounces.headerBlock(message), StandardCharsets.US_ASCII))
                .isEqualTo("Subject: hi\r\nTo: a@example.org\r\n");
        byte[] cut = "Subject: hi\r\nTo: a@exa".getBytes(StandardCharsets.US_ASCII);
        assertThat(Bounces.headerBlock(cut)).isEqualTo(cut);
    }
}
