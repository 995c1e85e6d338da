package dev.returnpath.ops;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mail log: one line per message on arrival and one per recipient outcome, {@code key=value}
 * in the spirit of Postfix's maillog, each starting with the queue ID so that {@code grep ID}
 * tells the whole story. Values come from the envelope and the upstream's replies; no body and
 * no secret ever reach this log.
 */
public final class MailLog {
    private static final Logger log = LoggerFactory.getLogger("returnpath.mail");

    private MailLog() {}

    /**
     * Logs one event: its text line is the message; the event itself travels with the logging
     * event (key {@code mail}) for the JSON writer.
     */
    public static void log(MailEvent e) {
        String line = e.id() + ": " + text(e);
        (e.warning() ? log.atWarn() : log.atInfo()).addKeyValue("mail", e).log(line);
    }

    /** The text line of {@code e}, without the queue ID. */
    public static String text(MailEvent e) {
        TextWriter w = new TextWriter();
        e.render(w);
        return w.b.toString();
    }

    /** {@code key=value key=<addr> key="text" (comment) words}, separated by one space. */
    private static final class TextWriter implements MailEvent.Fields {
        final StringBuilder b = new StringBuilder(160);

        private StringBuilder next() {
            return b.isEmpty() ? b : b.append(' ');
        }

        @Override
        public MailEvent.Fields field(String key, String value) {
            next().append(key).append('=').append(printable(value));
            return this;
        }

        @Override
        public MailEvent.Fields address(String key, String address) {
            next().append(key).append('=').append(angle(address));
            return this;
        }

        @Override
        public MailEvent.Fields quoted(String key, String text) {
            next().append(key).append("=\"").append(printable(text)).append('"');
            return this;
        }

        @Override
        public MailEvent.Fields comment(String text) {
            next().append('(').append(printable(text)).append(')');
            return this;
        }

        @Override
        public MailEvent.Fields words(String key, String text) {
            next().append(printable(text));
            return this;
        }
    }

    public static void info(String id, String line) {
        log.info("{}: {}", id, line);
    }

    public static void warn(String id, String line) {
        log.warn("{}: {}", id, line);
    }

    /** {@code <address>}, with the null sender as {@code <>}; anything unprintable becomes {@code ?}. */
    public static String angle(String address) {
        return "<" + printable(address) + ">";
    }

    public static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return b.toString();
    }
}
