package dev.returnpath.queue;

import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class QueueEntryTest {
    static final QueueEntry ENTRY = new QueueEntry("3F2A9C1B00001", Instant.parse("2025-03-01T10:00:00.123Z"), "127.0.0.1",
            "web01.internal", "apache@web01.internal", "bounce@example.com", 1834, 1,
            Instant.parse("2025-03-01T10:05:00.123Z"), false, List.of(
                    new Recipient("a@example.org", State.SENT, "mx.example.org[192.0.2.1]:25", "250 2.0.0 Ok"),
                    new Recipient("b@example.net", State.DEFERRED, "mx.example.net[192.0.2.2]:25", "451 4.7.1 greylisted"),
                    new Recipient("\"john doe\"@example.com", State.PENDING, "", "")));

    @Test
    void envelopeFileIsReadableTextThatRoundTrips() {
        String text = new String(ENTRY.toBytes(), StandardCharsets.UTF_8);
        assertThat(text).startsWith("returnpath-envelope 1\nid: 3F2A9C1B00001\narrival: 2025-03-01T10:00:00.123Z\n")
                .contains("\nreturn-path: bounce@example.com\n")
                .contains("\nrcpt: deferred\tb@example.net\tmx.example.net[192.0.2.2]:25\t451 4.7.1 greylisted\n")
                .contains("\nrcpt: pending\t\"john doe\"@example.com\t\t\n");
        assertThat(QueueEntry.parse(ENTRY.toBytes())).isEqualTo(ENTRY);
    }

    @Test
    void nullSenderAndControlCharactersSurviveTheRoundTrip() {
        QueueEntry e = new QueueEntry("X1", ENTRY.arrival(), "::1", "helo\twith tab\r\n", "", "", 1, 0, ENTRY.arrival(),
                true, List.of(new Recipient("zoë@bücher.test", State.BOUNCED, "", "550 5.1.1 100% gone")));
        QueueEntry back = QueueEntry.parse(e.toBytes());
        assertThat(back).isEqualTo(e);
        assertThat(new String(e.toBytes(), StandardCharsets.UTF_8)).contains("helo: helo%09with tab%0D%0A\n")
                .contains("100%25 gone");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            empty file                | ''
            wrong first line          | 'hello\\nid: X\\n'
            truncated before newline  | 'returnpath-envelope 1\\nid: X'
            no recipients             | 'returnpath-envelope 1\\nid: X\\narrival: 2025-03-01T10:00:00Z\\nreturn-path: \\nattempts: 0\\nnext-attempt: 2025-03-01T10:00:00Z\\n'
            bad state                 | 'returnpath-envelope 1\\nid: X\\narrival: 2025-03-01T10:00:00Z\\nreturn-path: \\nattempts: 0\\nnext-attempt: 2025-03-01T10:00:00Z\\nrcpt: lost\\ta@b.c\\t\\t\\n'
            bad time                  | 'returnpath-envelope 1\\nid: X\\narrival: yesterday\\nreturn-path: \\nattempts: 0\\nnext-attempt: 2025-03-01T10:00:00Z\\nrcpt: pending\\ta@b.c\\t\\t\\n'
            missing id                | 'returnpath-envelope 1\\narrival: 2025-03-01T10:00:00Z\\nreturn-path: \\nattempts: 0\\nnext-attempt: 2025-03-01T10:00:00Z\\nrcpt: pending\\ta@b.c\\t\\t\\n'
            """)
    void malformedEnvelopesAreRefusedWithAReason(String what, String text) {
        byte[] bytes = text.replace("\\n", "\n").replace("\\t", "\t").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> QueueEntry.parse(bytes)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("null");
    }

    @Test
    void unfinishedAndLastReplyLookAtTheRecipientsStillToDeliver() {
        assertThat(ENTRY.unfinished()).extracting(Recipient::address)
                .containsExactly("b@example.net", "\"john doe\"@example.com");
        assertThat(ENTRY.lastReply()).isEqualTo("451 4.7.1 greylisted");
        assertThat(ENTRY.isDone()).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "2026-12-02T20:00:00Z", "2026-12-02T20:00:00.123Z", "2026-12-02T20:00:00.000000001Z",
            "2026-12-02T20:00:00.123456789Z", "2024-02-29T23:59:59.5Z", "1970-01-01T00:00:00Z",
            "2100-12-31T00:00:00Z", "+12026-12-02T20:00:00Z", "1969-12-31T23:59:59Z",
            "2026-12-02T24:00:00Z", "2026-12-02T20:00:00.Z", // not the fast path's: Instant.parse decides
    })
    void theFastTimestampParserAgreesWithInstantParse(String text) {
        assertThat(QueueEntry.instant(text)).isEqualTo(Instant.parse(text));
        assertThat(QueueEntry.instant(Instant.parse(text).toString())).isEqualTo(Instant.parse(text));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"2026-02-30T20:00:00Z", "2026-13-02T20:00:00Z",
            "2026-12-02T20:00:0xZ", "2026-12-02 20:00:00Z", "2026-12-02T20:60:00Z"})
    void aTimestampInstantParseRefusesIsRefusedByTheFastParserToo(String text) {
        assertThatThrownBy(() -> QueueEntry.instant(text)).isInstanceOf(java.time.format.DateTimeParseException.class);
    }
}
