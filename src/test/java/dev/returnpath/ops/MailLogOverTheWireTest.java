package dev.returnpath.ops;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The audit's log-forging probes over a real relay and a real upstream on loopback: each mail
 * log event the relay wrote goes through the JSON layout and a JSON parser that rejects a
 * repeated key, and its text line through the reader of the text grammar.
 */
class MailLogOverTheWireTest {
    static final String FORGED = MailLogSafetyTest.FORGED;

    @TempDir
    Path spool;
    Upstream upstream;
    TestRelay relay;
    final ListAppender<ILoggingEvent> events = new ListAppender<>();

    /** The events so far, copied under the appender's lock (logback appends under it). */
    private List<ILoggingEvent> snapshot() {
        synchronized (events) {
            return List.copyOf(events.list);
        }
    }
    final Logger mailLogger = (Logger) LoggerFactory.getLogger("returnpath.mail");

    @BeforeEach
    void start() throws Exception {
        upstream = new Upstream();
        // the upstream echoes the recipient in its rejection, as many do
        upstream.rcptReply = r -> r.contains("forged") ? "550 5.1.1 <" + r + ">: Recipient address rejected" : null;
        relay = new TestRelay(upstream.port(), spool, "");
        events.start();
        mailLogger.addAppender(events);
    }

    @AfterEach
    void stop() {
        mailLogger.detachAppender(events);
        relay.close();
        upstream.close();
    }

    /** One line the relay logged: its text after the queue ID, and its JSON object parsed strictly. */
    record Line(String text, JsonNode json) {}

    List<Line> lines(String id) throws Exception {
        JsonLogLayout layout = new JsonLogLayout();
        List<Line> out = new ArrayList<>();
        for (ILoggingEvent e : snapshot()) {
            if (e.getFormattedMessage().startsWith(id + ": ")) {
                out.add(new Line(e.getFormattedMessage().substring(id.length() + 2),
                        MailLogWritersTest.STRICT.readTree(layout.doLayout(e))));
            }
        }
        return out;
    }

    @Test
    void aForgedRecipientEchoedByTheUpstreamAndAQuoteInEhloForgeNoKey() throws Exception {
        String reply;
        try (SmtpClient c = new SmtpClient(relay.port())) {
            c.greeting();
            assertThat(c.command("EHLO \"x")).startsWith("250");
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
            assertThat(c.command("RCPT TO:<" + FORGED + ">")).startsWith("250");
            assertThat(c.command("DATA")).startsWith("354");
            c.send("From: noreply@example.com\r\nSubject: x\r\n\r\nx\r\n.\r\n");
            reply = c.reply();
        }
        assertThat(reply).startsWith("550 5.1.1 ");
        assertThat(upstream.rcptAttempts).containsExactly(FORGED);
        String id = queueIdOfTheOnlyMessage();
        List<Line> lines = lines(id);
        List<JsonNode> objects = lines.stream().map(Line::json).toList();
        assertThat(objects).hasSize(2);
        JsonNode arrival = objects.stream().filter(o -> o.has("client")).findFirst().orElseThrow();
        assertThat(arrival.get("helo").asText()).isEqualTo("\"x");
        assertThat(arrival.get("from").asText()).isEqualTo("<apache@web01.internal>");
        assertThat(arrival.get("return-path").asText()).isEqualTo("<bounce@example.com>");

        JsonNode recipient = objects.stream().filter(o -> o.has("to")).findFirst().orElseThrow();
        assertThat(recipient.get("to").asText()).isEqualTo("<" + FORGED + ">");
        assertThat(recipient.get("status").asText()).isEqualTo("bounced");
        assertThat(recipient.get("relay").asText()).isEqualTo("127.0.0.1[127.0.0.1]:" + upstream.port());
        assertThat(recipient.get("reply").asText()).contains("<" + FORGED + ">: Recipient address rejected");

        // the text lines say the same, read by the documented grammar
        for (Line line : lines) {
            List<Map.Entry<String, String>> fromJson = new ArrayList<>();
            line.json().properties().forEach(p -> fromJson.add(Map.entry(p.getKey(), p.getValue().asText())));
            assertThat(MailLogSafetyTest.TextLine.parse(line.text())).as(line.text())
                    .isEqualTo(fromJson.subList(4, fromJson.size()));
        }
    }

    /** The queue ID the relay's lines start with: the one ID whose line names the forged recipient. */
    private String queueIdOfTheOnlyMessage() {
        return snapshot().stream().map(ILoggingEvent::getFormattedMessage).filter(l -> l.contains(": to=<"))
                .map(l -> l.substring(0, l.indexOf(':'))).findFirst().orElseThrow();
    }
}
