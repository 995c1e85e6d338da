package dev.returnpath.delivery;

import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Delivery status notifications (RFC 3464): a {@code multipart/report} with a human part, a
 * {@code message/delivery-status} part with one block per failed recipient, and the original
 * header block as {@code text/rfc822-headers} (RFC 6522), without the body.
 * Sent from the null sender to the (rewritten) envelope sender, so it can never loop.
 * This class only writes the bytes; {@code queue.Bounces} decides when a report is due and
 * announces it, for both modes.
 */
public final class Dsn {
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH);

    private Dsn() {}

    /** RFC 3464 §2.3.3: what happened to the recipients a report names. */
    public enum Action { FAILED, DELAYED }

    /**
     * One recipient in a report: the last reply, the server that said it ({@code host[ip]:port},
     * empty when the relay wrote the reply itself, e.g. a refused connection) and an optional
     * note for the human part, such as why a message expired.
     */
    public record Report(String recipient, Reply reply, String remoteMta, String note) {}

    /**
     * A failure notice ({@link Action#FAILED}) or a delay warning ({@link Action#DELAYED}, with
     * {@code willRetryUntil}, RFC 3464 §2.3.9).
     */
    public static byte[] build(String reportingMta, String queueId, String returnPath, Action action,
                               List<Report> recipients, byte[] originalHeaders, ZonedDateTime arrival,
                               ZonedDateTime now, Optional<ZonedDateTime> willRetryUntil) {
        boolean failed = action == Action.FAILED;
        String boundary = queueId + "/" + reportingMta;
        StringBuilder b = new StringBuilder(2048);
        b.append("From: Mail Delivery System <MAILER-DAEMON@").append(reportingMta).append(">\r\n");
        b.append("To: <").append(returnPath).append(">\r\n");
        b.append(failed ? "Subject: Undelivered Mail Returned to Sender\r\n"
                : "Subject: Delayed Mail (still being retried)\r\n");
        b.append("Date: ").append(DATE.format(now)).append("\r\n");
        b.append("Message-ID: <").append(queueId).append(failed ? ".dsn@" : ".delay@").append(reportingMta).append(">\r\n");
        b.append("Auto-Submitted: auto-replied\r\n");
        b.append("MIME-Version: 1.0\r\n");
        b.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"")
                .append(boundary).append("\"\r\n");
        b.append("\r\nThis is a MIME-encapsulated message.\r\n\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        b.append("This is the mail system at host ").append(reportingMta).append(".\r\n\r\n");
        if (failed) {
            b.append("Your message (queue ID ").append(queueId)
                    .append(") could not be delivered to one or more recipients.\r\n");
            b.append("The other recipients, if any, received it.\r\n\r\n");
        } else {
            b.append("Your message (queue ID ").append(queueId)
                    .append(") could not be delivered yet to the recipients below.\r\n");
            b.append("This is a warning only: delivery is still being tried");
            willRetryUntil.ifPresent(t -> b.append(" until ").append(DATE.format(t)));
            b.append(".\r\nYou do not need to send the message again.\r\n\r\n");
        }
        for (Report r : recipients) {
            b.append("<").append(ascii(r.recipient())).append(">: ");
            if (!r.note().isEmpty()) {
                b.append(ascii(r.note())).append("; last reply: ");
            }
            if (!r.remoteMta().isEmpty()) {
                b.append(r.remoteMta()).append(" said: ");
            }
            b.append(ascii(r.reply().toString())).append("\r\n");
        }
        b.append("\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n");
        b.append("Reporting-MTA: dns; ").append(reportingMta).append("\r\n");
        b.append("X-Returnpath-Queue-ID: ").append(queueId).append("\r\n");
        b.append("Arrival-Date: ").append(DATE.format(arrival)).append("\r\n");
        for (Report r : recipients) {
            b.append("\r\n");
            b.append("Final-Recipient: ").append(addressType(r.recipient())).append("; ")
                    .append(r.recipient()).append("\r\n");
            b.append("Action: ").append(failed ? "failed" : "delayed").append("\r\n");
            b.append("Status: ").append(statusOf(r.reply(), failed)).append("\r\n");
            if (!r.remoteMta().isEmpty()) {
                b.append("Remote-MTA: dns; ").append(r.remoteMta().replaceFirst("\\[.*$", "")).append("\r\n");
                b.append(fold("Diagnostic-Code: smtp; " + ascii(r.reply().toString()))).append("\r\n");
            } else {
                // the relay wrote this reply (no server said it): not an SMTP diagnostic
                b.append(fold("Diagnostic-Code: X-Returnpath; " + ascii(r.reply().toString()))).append("\r\n");
            }
            if (!failed && willRetryUntil.isPresent()) {
                b.append("Will-Retry-Until: ").append(DATE.format(willRetryUntil.get())).append("\r\n");
            }
        }
        b.append("\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n");
        byte[] head = b.toString().getBytes(StandardCharsets.UTF_8);
        String tail = "\r\n--" + boundary + "--\r\n";
        byte[] out = new byte[head.length + originalHeaders.length + tail.length()];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(originalHeaders, 0, out, head.length, originalHeaders.length);
        System.arraycopy(tail.getBytes(StandardCharsets.US_ASCII), 0, out, head.length + originalHeaders.length,
                tail.length());
        return out;
    }

    /** RFC 3464 §2.3.4: a status of the report's class (a delay is 4.x.x even if the reply was not). */
    private static String statusOf(Reply reply, boolean failed) {
        String s = reply.enhancedOrDefault();
        if (!failed && !s.startsWith("4.")) {
            return "4" + s.substring(1);
        }
        if (failed && s.startsWith("2.")) {
            return "5" + s.substring(1);
        }
        return s;
    }

    /** RFC 6533: utf-8 address type for internationalised recipients. */
    private static String addressType(String address) {
        for (int i = 0; i < address.length(); i++) {
            if (address.charAt(i) >= 0x80) {
                return "utf-8";
            }
        }
        return "rfc822";
    }

    private static String ascii(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }

    /** Folds a header line at spaces so that no line exceeds 78 characters (RFC 5322 §2.1.1). */
    static String fold(String line) {
        StringBuilder out = new StringBuilder(line.length() + 16);
        int lineLen = 0;
        for (String word : line.split(" ")) {
            if (lineLen > 0 && lineLen + 1 + word.length() > 76) {
                out.append("\r\n ");
                lineLen = 1;
            } else if (lineLen > 0) {
                out.append(' ');
                lineLen++;
            }
            out.append(word);
            lineLen += word.length();
        }
        return out.toString();
    }
}
