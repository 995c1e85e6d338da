package dev.returnpath.ops;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mail log: one line per message on arrival and one per recipient outcome, {@code key=value}
 * in the spirit of Postfix's maillog, each starting with the queue ID so that {@code grep ID}
 * tells the whole story. Values come from the envelope and the upstream's replies; no body and
 * no secret ever reach this log.
 *
 * <p>A line is a {@link MailEvent}; {@link #log} writes it. This class is the text writer; the
 * JSON writer is {@link JsonLogLayout}, which reads the event itself, never the text.
 *
 * <p>The text writer keeps a line unambiguous whatever a client or an upstream chose to send,
 * and leaves an ordinary value as it is:
 * <ul>
 * <li>{@code key=value}: a value that holds a space (any Unicode space), {@code =}, {@code <},
 *     {@code >}, {@code "}, {@code (} or {@code )} is written {@code key="..."}, with {@code "}
 *     and {@code \} inside escaped by a backslash. {@code helo=web01} stays as it is;
 *     {@code EHLO "x} becomes {@code helo="\"x"}.</li>
 * <li>{@code key=<address>}: {@code <}, {@code >} and {@code \} inside the brackets are escaped
 *     by a backslash, so the first unescaped {@code >} ends the address.</li>
 * <li>{@code key="text"}: {@code "} and {@code \} escaped by a backslash.</li>
 * <li>{@code (comment)}: a comment in the sense of RFC 5322 §3.2.2, nested parentheses
 *     included: {@code \} is escaped, and when the parentheses of the text do not balance,
 *     every {@code (} and {@code )} is, so that an upstream that echoes
 *     {@code "a) status=sent"@example.org} cannot end the comment early.</li>
 * </ul>
 * Before that, {@link #printable} replaces what a terminal or a log shipper would take as a line
 * break or a direction change.
 */
public final class MailLog {
    private static final Logger log = LoggerFactory.getLogger("returnpath.mail");
    private static final Logger config = LoggerFactory.getLogger("returnpath.config");

    private MailLog() {}

    /**
     * Logs one event: its text line is the message; the event itself travels with the logging
     * event (key {@code mail}) for the JSON writer. A {@link MailEvent.Reload} goes to the
     * {@code returnpath.config} logger, every other event to {@code returnpath.mail}.
     */
    public static void log(MailEvent e) {
        Logger to = e instanceof MailEvent.Reload ? config : log;
        if (e.warning() ? !to.isWarnEnabled() : !to.isInfoEnabled()) {
            return;
        }
        String text = text(e);
        String line = e.id().isEmpty() ? text : e.id() + ": " + text;
        // a message without arguments is not formatted, so a "{}" from the wire stays as it is
        (e.warning() ? to.atWarn() : to.atInfo()).addKeyValue("mail", e).log(line);
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
            String v = printable(value);
            next().append(key).append('=');
            if (bare(v)) {
                b.append(v);
            } else {
                quote(b, v);
            }
            return this;
        }

        @Override
        public MailEvent.Fields address(String key, String address) {
            next().append(key).append('=').append(angle(address));
            return this;
        }

        @Override
        public MailEvent.Fields quoted(String key, String text) {
            quote(next().append(key).append('='), printable(text));
            return this;
        }

        @Override
        public MailEvent.Fields comment(String key, String text) {
            next().append('(').append(commentText(printable(text))).append(')');
            return this;
        }

        @Override
        public MailEvent.Fields words(String key, String text) {
            next().append(printable(text));
            return this;
        }

        @Override
        public MailEvent.Fields label(String key, String text) {
            next().append(printable(text)).append(':');
            return this;
        }

        @Override
        public MailEvent.Fields phrase(String text) {
            next().append(text);
            return this;
        }
    }

    /** Whether {@code v} can follow {@code key=} as it is: nothing in it ends it or starts another key. */
    static boolean bare(String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case ' ', '=', '<', '>', '"', '(', ')' -> {
                    return false;
                }
                default -> {
                    // U+00A0, U+3000 and the like: some log tools split words on them
                    if (Character.isSpaceChar(c)) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    private static void quote(StringBuilder b, String v) {
        b.append('"');
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        b.append('"');
    }

    /** RFC 5322 §3.2.2 ccontent: quoted-pairs for {@code \}, and for every parenthesis unless they balance. */
    static String commentText(String t) {
        int depth = 0;
        boolean balanced = true;
        boolean backslash = false;
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')' && --depth < 0) {
                balanced = false;
            } else if (c == '\\') {
                backslash = true;
            }
        }
        balanced &= depth == 0;
        if (balanced && !backslash) {
            return t;
        }
        StringBuilder b = new StringBuilder(t.length() + 8);
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\\' || (!balanced && (c == '(' || c == ')'))) {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /**
     * {@code <address>}, with the null sender as {@code <>}; {@code <}, {@code >} and {@code \}
     * inside are escaped by a backslash, anything unprintable becomes {@code ?}.
     */
    public static String angle(String address) {
        String a = printable(address);
        StringBuilder b = new StringBuilder(a.length() + 2).append('<');
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            if (c == '<' || c == '>' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.append('>').toString();
    }

    /**
     * {@code s} with each character that could break a line or reorder it on a screen replaced by
     * {@code ?}: C0 controls (tab, CR and LF included), DEL, C1 controls (U+0080 to U+009F,
     * U+0085 NEL included), the line and paragraph separators U+2028 and U+2029, the bidi
     * controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), and a lone
     * surrogate. Everything else, other scripts included, is kept. {@code null} is the empty
     * string.
     */
    public static String printable(String s) {
        if (s == null) {
            return "";
        }
        int i = 0;
        while (i < s.length() && !replaced(s, i)) {
            i++;
        }
        if (i == s.length()) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length()).append(s, 0, i);
        for (; i < s.length(); i++) {
            b.append(replaced(s, i) ? '?' : s.charAt(i));
        }
        return b.toString();
    }

    private static boolean replaced(String s, int i) {
        char c = s.charAt(i);
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
            return true;
        }
        if (c < 0x61c) {
            return false;
        }
        if (Character.isHighSurrogate(c)) {
            return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
        }
        if (Character.isLowSurrogate(c)) {
            return i == 0 || !Character.isHighSurrogate(s.charAt(i - 1));
        }
        return c == 0x061c || c == 0x200e || c == 0x200f || c == 0x2028 || c == 0x2029
                || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
    }
}
