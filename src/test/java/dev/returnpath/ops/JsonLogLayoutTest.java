package dev.returnpath.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxy;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class JsonLogLayoutTest {
    /** The JSON line of {@code e} as {@link MailLog#log} hands it to logback, at time 0. */
    static String layout(MailEvent e) {
        LoggerContext ctx = new LoggerContext();
        String logger = e instanceof MailEvent.Reload ? "returnpath.config" : "returnpath.mail";
        String line = e.id().isEmpty() ? MailLog.text(e) : e.id() + ": " + MailLog.text(e);
        LoggingEvent le = new LoggingEvent("x", ctx.getLogger(logger), e.warning() ? Level.WARN : Level.INFO, line, null,
                null);
        le.addKeyValuePair(new KeyValuePair("mail", e));
        le.setTimeStamp(0);
        return new JsonLogLayout().doLayout(le);
    }

    static String layout(String message, Object... args) {
        LoggerContext ctx = new LoggerContext();
        LoggingEvent e = new LoggingEvent("x", ctx.getLogger("returnpath.mail"), Level.INFO, message, null, args);
        e.setTimeStamp(0);
        return new JsonLogLayout().doLayout(e);
    }

    @Test
    void mailEventBecomesAnObjectWithTheKeysOfItsTextLine() {
        MailEvent e = new MailEvent.Recipient("0195F3A2B4C01", "user@gmail.com", Optional.empty(),
                "smtp.example.net[198.51.100.7]:587", 0.42, "5.7.26", MailEvent.Status.BOUNCED,
                "550 5.7.26 This mail is (really) unauthenticated",
                Optional.of(new RejectionHints.Hint("unauthenticated", "publish SPF")));
        assertThat(layout(e)).isEqualTo("{\"time\":\"1970-01-01T00:00:00Z\",\"level\":\"WARN\",\"logger\":\"returnpath.mail\","
                + "\"id\":\"0195F3A2B4C01\",\"to\":\"<user@gmail.com>\",\"relay\":\"smtp.example.net[198.51.100.7]:587\","
                + "\"delay\":\"0.42\",\"dsn\":\"5.7.26\",\"status\":\"bounced\","
                + "\"reply\":\"550 5.7.26 This mail is (really) unauthenticated\",\"cause\":\"unauthenticated\","
                + "\"fix\":\"publish SPF\"}\n");
    }

    @Test
    void aBounceLineKeysItsQueueIdAsIdSoThatItJoinsTheMessagesOtherLines() {
        MailEvent e = new MailEvent.Bounce("18C2F3A4B5C6D", "apache@web01.internal", "x@gmail.com", "failed", "5.7.26",
                "googlemail.com", "auth", "unauthenticated", "publish SPF", "received");
        String json = layout(e);
        assertThat(json).isEqualTo("{\"time\":\"1970-01-01T00:00:00Z\",\"level\":\"WARN\",\"logger\":\"returnpath.mail\","
                + "\"event\":\"bounce\",\"id\":\"18C2F3A4B5C6D\",\"original-from\":\"<apache@web01.internal>\","
                + "\"to\":\"<x@gmail.com>\",\"action\":\"failed\",\"status\":\"5.7.26\",\"reporting-mta\":\"googlemail.com\","
                + "\"class\":\"auth\",\"cause\":\"unauthenticated\",\"fix\":\"publish SPF\",\"attributed-by\":\"received\"}\n");
        assertThat(json).doesNotContain("id-2");
    }

    @Test
    void aLineThatOnlyLooksLikeAMailLineIsNotParsed() {
        // the text of a hand-built line is never read for keys: only an event has them
        assertThat(layout("{}: {}", "0195F3A2B4C01", "to=<user@gmail.com> status=sent (250 ok)"))
                .isEqualTo("{\"time\":\"1970-01-01T00:00:00Z\",\"level\":\"INFO\",\"logger\":\"returnpath.mail\","
                        + "\"message\":\"0195F3A2B4C01: to=<user@gmail.com> status=sent (250 ok)\"}\n");
    }

    @Test
    void otherLinesKeepTheirText() {
        assertThat(layout("returnpath listening on {}", "127.0.0.1:2525"))
                .contains("\"message\":\"returnpath listening on 127.0.0.1:2525\"").endsWith("}\n");
    }

    @Test
    void aThrowableAddsError() {
        LoggerContext ctx = new LoggerContext();
        LoggingEvent e = new LoggingEvent("x", ctx.getLogger("returnpath.config"), Level.ERROR, "config reload: unexpected error",
                null, null);
        e.setThrowableProxy(new ThrowableProxy(new IllegalStateException("boom")));
        e.setTimeStamp(0);
        assertThat(new JsonLogLayout().doLayout(e)).endsWith(
                ",\"message\":\"config reload: unexpected error\",\"error\":\"java.lang.IllegalStateException: boom\"}\n");
    }
}
