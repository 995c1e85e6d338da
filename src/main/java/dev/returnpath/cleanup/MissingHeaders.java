package dev.returnpath.cleanup;

import dev.returnpath.message.HeaderBlock;

import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The fields RFC 5322 §3.6 wants and apps that speak SMTP themselves leave out: {@code Date:}
 * (required) and {@code Message-ID:} (Gmail refuses mail without one: "550-5.7.1 Messages
 * missing a valid messageId header are not accepted"). As Postfix's cleanup does for local
 * submissions, each is added at the end of the header block when absent, before signing so
 * that it is signed; a field that is present is left exactly as it is, even when malformed.
 */
final class MissingHeaders {
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH);

    /** The header block with what was added, and the names of the added fields, lower case. */
    record Completed(HeaderBlock headers, List<String> added) {}

    private MissingHeaders() {}

    /** {@code id} (unique per relay, as Postfix's queue IDs) and {@code hostname} make the Message-ID. */
    static Completed complete(HeaderBlock headers, String id, String hostname, ZonedDateTime now) {
        HeaderBlock out = headers;
        List<String> added = new ArrayList<>(2);
        if (headers.first("Date").isEmpty()) {
            out = out.adding("Date", ("Date: " + DATE.format(now) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            added.add("date");
        }
        if (headers.first("Message-ID").isEmpty()) {
            out = out.adding("Message-ID", ("Message-ID: <" + id + "@" + hostname + ">\r\n").getBytes(StandardCharsets.UTF_8));
            added.add("message-id");
        }
        return new Completed(out, List.copyOf(added));
    }
}
