package dev.returnpath.delivery;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An SMTP reply: the three-digit code, the enhanced status code (RFC 3463) when there is one,
 * and the text on one line. Multi-line upstream replies are joined with spaces, because a reply
 * relayed to the app has to fit one line.
 */
public record Reply(int code, String enhanced, String text) {

    private static final Pattern ENHANCED = Pattern.compile("^([245])\\.(\\d{1,3})\\.(\\d{1,3})(\\s+|$)");
    private static final Pattern LINE = Pattern.compile("^(\\d{3})([ -]?)(.*)$");

    /** Parses a reply, multi-line included, e.g. {@code "550-5.7.26 first\n550 5.7.26 second"}. */
    public static Reply parse(int fallbackCode, String raw) {
        if (raw == null) {
            raw = "";
        }
        int code = fallbackCode;
        String enhanced = "";
        StringBuilder text = new StringBuilder();
        // lines split on LF by hand (a CR before it is stripped with the other white space):
        // String.split("\r?\n") compiled its pattern anew for every reply read
        for (int start = 0, end; start < raw.length(); start = end + 1) {
            end = raw.indexOf('\n', start);
            if (end < 0) {
                end = raw.length();
            }
            String l = raw.substring(start, end).strip();
            if (l.isEmpty()) {
                continue;
            }
            Matcher m = LINE.matcher(l);
            if (m.matches() && (m.group(2).length() == 1 || m.group(3).isEmpty())) {
                code = Integer.parseInt(m.group(1));
                l = m.group(3).strip();
            }
            Matcher e = ENHANCED.matcher(l);
            if (e.find()) {
                if (enhanced.isEmpty()) {
                    enhanced = l.substring(0, e.end()).strip();
                }
                l = l.substring(e.end()).strip();
            }
            if (!l.isEmpty()) {
                if (!text.isEmpty()) {
                    text.append(' ');
                }
                text.append(l);
            }
        }
        return new Reply(code, enhanced, oneLine(text.toString()));
    }

    public static Reply of(int code, String enhanced, String text) {
        return new Reply(code, enhanced, oneLine(text));
    }

    /** Printable ASCII on one line, at most 400 characters, so that it fits an SMTP reply (RFC 5321 §4.5.3.1.5). */
    static String oneLine(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 400));
        for (int i = 0; i < s.length() && b.length() < 400; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : ' ');
        }
        return b.toString().strip();
    }

    public boolean isPositive() {
        return code >= 200 && code < 300;
    }

    public boolean isTransient() {
        return code >= 400 && code < 500;
    }

    public boolean isPermanent() {
        return code >= 500;
    }

    /** The enhanced code, or a default of the right class: 2.0.0, 4.0.0 or 5.0.0. */
    public String enhancedOrDefault() {
        if (!enhanced.isEmpty()) {
            return enhanced;
        }
        return (code / 100) + ".0.0";
    }

    @Override
    public String toString() {
        return code + (enhanced.isEmpty() ? "" : " " + enhanced) + (text.isEmpty() ? "" : " " + text);
    }
}
