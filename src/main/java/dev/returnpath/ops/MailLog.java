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
