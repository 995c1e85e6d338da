package dev.returnpath.cleanup;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * The one {@code Received:} line the relay adds (RFC 5321 §4.4), built from what is known
 * without a reverse DNS lookup: the HELO name and the client's address literal.
 */
final class ReceivedHeader {
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH);

    private ReceivedHeader() {}

    static byte[] build(String helo, InetAddress client, String byHost, String id, String reversePath,
                        List<String> recipients, ZonedDateTime when) {
        StringBuilder b = new StringBuilder(200);
        b.append("Received: from ").append(helo == null || helo.isBlank() ? "unknown" : clean(helo))
                .append(" (").append(literal(client)).append(")\r\n")
                .append("\tby ").append(byHost).append(" (returnpath) with ").append(protocol(reversePath, recipients))
                .append(" id ").append(id);
        // Only a single recipient is named, as Postfix does: a list would disclose the Bcc.
        if (recipients.size() == 1) {
            b.append("\r\n\tfor <").append(clean(recipients.get(0))).append('>');
        }
        b.append("; ").append(DATE.format(when)).append("\r\n");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * RFC 6531 §3.7.3: UTF8SMTP for a transaction that needed SMTPUTF8. SubEtha does not pass the
     * MAIL parameter on, so the need is read from the addresses themselves.
     */
    static String protocol(String reversePath, List<String> recipients) {
        boolean utf8 = dev.returnpath.message.Addresses.needsUtf8(reversePath)
                || recipients.stream().anyMatch(dev.returnpath.message.Addresses::needsUtf8);
        return utf8 ? "UTF8SMTP" : "ESMTP";
    }

    static String literal(InetAddress a) {
        return a instanceof Inet6Address ? "[IPv6:" + a.getHostAddress().replaceFirst("%.*$", "") + "]"
                : "[" + a.getHostAddress() + "]";
    }

    private static String clean(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length() && b.length() < 255; i++) {
            char c = s.charAt(i);
            b.append(c > 0x20 && c != 0x7f && c != '(' && c != ')' && dev.returnpath.ops.MailLog.printable(String.valueOf(c)).charAt(0) == c ? c : '_');
        }
        return b.toString();
    }
}
