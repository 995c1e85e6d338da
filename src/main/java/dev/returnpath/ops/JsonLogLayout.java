package dev.returnpath.ops;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.LayoutBase;

import org.slf4j.event.KeyValuePair;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code log.format = json}: one JSON object per line, with {@code time}, {@code level} and
 * {@code logger} first. A mail log line is written from its {@link MailEvent} (the key-value
 * pair {@code mail} that {@link MailLog#log} attaches), never from its text: {@code id} (absent
 * for a relay-wide event such as a reload), then one key per field of the event, in the order of
 * the text line, with the same names. A line without an ID prefix whose event has an
 * {@code id=} field of its own (a {@code bounce:} line: the queue ID the report was tied to, or
 * {@code -}) writes that field as {@code id}, so that a JSON query by {@code id} finds it with the
 * message's other lines:
 * <ul>
 * <li>{@code key=value} and {@code key="text"} become {@code "key":"value"};</li>
 * <li>{@code key=<address>} becomes {@code "key":"<address>"}, brackets included, so that the
 *     null sender is {@code "<>"};</li>
 * <li>the text in parentheses after {@code status=} becomes {@code reply}; another comment is
 *     named by its event ({@code note}, {@code problem}, {@code advice});</li>
 * <li>words without a key in the text line get the key their event names: {@code removed} is
 *     {@code "event":"removed"}, a DSN notice {@code "notification"} and {@code "dsn-id"}, a
 *     reload {@code "event":"config reloaded"}, {@code "file"} and {@code "changes"}.</li>
 * </ul>
 * Values pass through {@link MailLog#printable} as in the text line, then {@link Json#quote}.
 * Each key appears once: a value can hold anything, it stays one JSON string. Other lines keep
 * their text in {@code message}; a throwable adds {@code error}.
 */
public final class JsonLogLayout extends LayoutBase<ILoggingEvent> {

    @Override
    public String doLayout(ILoggingEvent e) {
        StringBuilder b = new StringBuilder(256);
        b.append("{\"time\":").append(Json.quote(Instant.ofEpochMilli(e.getTimeStamp()).toString()))
                .append(",\"level\":").append(Json.quote(e.getLevel().toString()))
                .append(",\"logger\":").append(Json.quote(e.getLoggerName()));
        MailEvent mail = mailEvent(e.getKeyValuePairs());
        if (mail != null) {
            boolean prefixed = !mail.id().isEmpty();
            if (prefixed) {
                b.append(",\"id\":").append(Json.quote(mail.id()));
            }
            mail.render(new JsonFields(b, prefixed));
        } else {
            b.append(",\"message\":").append(Json.quote(e.getFormattedMessage()));
        }
        if (e.getThrowableProxy() != null) {
            b.append(",\"error\":").append(Json.quote(e.getThrowableProxy().getClassName() + ": " + e.getThrowableProxy().getMessage()));
        }
        return b.append("}\n").toString();
    }

    private static MailEvent mailEvent(List<KeyValuePair> pairs) {
        if (pairs != null) {
            for (KeyValuePair p : pairs) {
                if ("mail".equals(p.key) && p.value instanceof MailEvent m) {
                    return m;
                }
            }
        }
        return null;
    }

    /** The JSON writer of a mail event: {@code ,"key":"value"} per field. */
    private static final class JsonFields implements MailEvent.Fields {
        private final StringBuilder b;
        // the layout's own keys come first; a key an event repeated by mistake gets a suffix
        private final Set<String> keys = new HashSet<>(Set.of("time", "level", "logger", "message", "error"));

        /** @param idWritten the layout wrote {@code id} from the line's prefix; else an {@code id=} field is it */
        JsonFields(StringBuilder b, boolean idWritten) {
            this.b = b;
            if (idWritten) {
                keys.add("id");
            }
        }

        private MailEvent.Fields put(String key, String value) {
            String k = key;
            for (int n = 2; !keys.add(k); n++) {
                k = key + "-" + n;
            }
            b.append(',').append(Json.quote(k)).append(':').append(Json.quote(value));
            return this;
        }

        @Override
        public MailEvent.Fields field(String key, String value) {
            return put(key, MailLog.printable(value));
        }

        @Override
        public MailEvent.Fields address(String key, String address) {
            return put(key, "<" + MailLog.printable(address) + ">");
        }

        @Override
        public MailEvent.Fields quoted(String key, String text) {
            return put(key, MailLog.printable(text));
        }

        @Override
        public MailEvent.Fields comment(String key, String text) {
            return put(key, MailLog.printable(text));
        }

        @Override
        public MailEvent.Fields words(String key, String text) {
            return put(key, MailLog.printable(text));
        }

        @Override
        public MailEvent.Fields label(String key, String text) {
            return put(key, MailLog.printable(text));
        }

        @Override
        public MailEvent.Fields phrase(String text) {
            return this;
        }
    }

    /** Switches the console appender of logback's root logger to this layout. */
    public static void install() {
        if (!(org.slf4j.LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx)) {
            return;
        }
        var root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var appender = root.getAppender("CONSOLE");
        if (!(appender instanceof ch.qos.logback.core.OutputStreamAppender<ILoggingEvent> out)) {
            return;
        }
        JsonLogLayout layout = new JsonLogLayout();
        layout.setContext(ctx);
        layout.start();
        var encoder = new ch.qos.logback.core.encoder.LayoutWrappingEncoder<ILoggingEvent>();
        encoder.setContext(ctx);
        encoder.setLayout(layout);
        encoder.start();
        out.stop();
        out.setEncoder(encoder);
        out.start();
    }
}
