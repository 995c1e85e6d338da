package dev.returnpath.delivery;

import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;

import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * Delivery status notifications (RFC 3464): a {@code multipart/report} with a human part, a
 * {@code message/delivery-status} part with one block per failed recipient, and the original
 * header block as {@code text/rfc822-headers} (RFC 6522), without the body.
 * Sent from the null sender to the (rewritten) envelope sender, so it can never loop.
 */
public final class Dsn {
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH);

    private Dsn() {}

    public static byte[] build(String reportingMta, String queueId, String returnPath, String relay,
                               List<RecipientOutcome> failed, byte[] originalHeaders,
                               ZonedDateTime arrival, ZonedDateTime now) {
        String boundary = queueId + "/" + reportingMta;
        StringBuilder b = new StringBuilder(2048);
        b.append("From: Mail Delivery System <MAILER-DAEMON@").append(reportingMta).append(">\r\n");
        b.append("To: <").append(returnPath).append(">\r\n");
        b.append("Subject: Undelivered Mail Returned to Sender\r\n");
        b.append("Date: ").append(DATE.format(now)).append("\r\n");
        b.append("Message-ID: <").append(queueId).append(".dsn@").append(reportingMta).append(">\r\n");
        b.append("Auto-Submitted: auto-replied\r\n");
        b.append("MIME-Version: 1.0\r\n");
        b.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"")
                .append(boundary).append("\"\r\n");
        b.append("\r\nThis is a MIME-encapsulated message.\r\n\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        b.append("This is the mail system at host ").append(reportingMta).append(".\r\n\r\n");
        b.append("Your message (queue ID ").append(queueId)
                .append(") could not be delivered to one or more recipients.\r\n");
        b.append("The other recipients, if any, received it.\r\n\r\n");
        for (RecipientOutcome r : failed) {
            b.append("<").append(ascii(r.recipient())).append(">: ").append(relay).append(" said: ")
                    .append(ascii(r.reply().toString())).append("\r\n");
        }
        b.append("\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n");
        b.append("Reporting-MTA: dns; ").append(reportingMta).append("\r\n");
        b.append("X-Returnpath-Queue-ID: ").append(queueId).append("\r\n");
        b.append("Arrival-Date: ").append(DATE.format(arrival)).append("\r\n");
        for (RecipientOutcome r : failed) {
            b.append("\r\n");
            b.append("Final-Recipient: ").append(addressType(r.recipient())).append("; ")
                    .append(r.recipient()).append("\r\n");
            b.append("Action: failed\r\n");
            b.append("Status: ").append(r.reply().enhancedOrDefault()).append("\r\n");
            String host = relay.replaceFirst("\\[.*$", "");
            b.append("Remote-MTA: dns; ").append(host).append("\r\n");
            b.append(fold("Diagnostic-Code: smtp; " + ascii(r.reply().toString()))).append("\r\n");
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
