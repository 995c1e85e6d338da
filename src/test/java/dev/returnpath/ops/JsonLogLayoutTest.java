package dev.returnpath.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class JsonLogLayoutTest {
    static String layout(String message, Object... args) {
        LoggerContext ctx = new LoggerContext();
        LoggingEvent e = new LoggingEvent("x", ctx.getLogger("returnpath.mail"), Level.INFO, message, null, args);
        e.setTimeStamp(0);
        return new JsonLogLayout().doLayout(e);
    }

    @Test
    void mailLogLineBecomesAnObjectWithTheSameKeys() {
        String json = layout("{}: {}", "0195F3A2B4C01", "to=<user@gmail.com> relay=smtp.example.net[198.51.100.7]:587 delay=0.42 "
                + "dsn=5.7.26 status=bounced (550 5.7.26 This mail is (really) unauthenticated) cause=unauthenticated fix=\"publish SPF\"");
        assertThat(json).isEqualTo("{\"time\":\"1970-01-01T00:00:00Z\",\"level\":\"INFO\",\"logger\":\"returnpath.mail\","
                + "\"id\":\"0195F3A2B4C01\",\"to\":\"<user@gmail.com>\",\"relay\":\"smtp.example.net[198.51.100.7]:587\","
                + "\"delay\":\"0.42\",\"dsn\":\"5.7.26\",\"status\":\"bounced\","
                + "\"reply\":\"550 5.7.26 This mail is (really) unauthenticated\",\"cause\":\"unauthenticated\","
                + "\"fix\":\"publish SPF\"}\n");
    }

    @Test
    void otherLinesKeepTheirText() {
        assertThat(layout("returnpath listening on {}", "127.0.0.1:2525"))
                .contains("\"message\":\"returnpath listening on 127.0.0.1:2525\"").endsWith("}\n");
    }
}
