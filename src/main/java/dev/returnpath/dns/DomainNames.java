package dev.returnpath.dns;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * Turns the literal domain-name text of {@link Dns#lookup} into a dnsjava {@link Name}.
 *
 * <p>Every character except {@code .} is taken literally (non-ASCII as its UTF-8 bytes), because
 * names built by SPF macro expansion may hold {@code \}, {@code %}, spaces or {@code /}, and
 * dnsjava's own parser would read a backslash as an escape. One trailing dot is allowed. A name
 * is refused when a label is empty or longer than 63 octets, or the name is longer than 255
 * octets on the wire (RFC 1035 §2.3.4).
 */
public final class DomainNames {
    private DomainNames() {}

    /** The absolute name for {@code text}, or empty when it cannot be a DNS name. */
    public static Optional<Name> toName(String text) {
        if (text == null || text.isEmpty() || text.equals(".")) {
            return text != null && text.equals(".") ? Optional.of(Name.root) : Optional.empty();
        }
        String body = text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
        StringBuilder escaped = new StringBuilder(body.length() + 16);
        int labelLength = 0;
        for (byte b : body.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c == '.') {
                if (labelLength == 0) {
                    return Optional.empty();
                }
                labelLength = 0;
                escaped.append('.');
                continue;
            }
            labelLength++;
            if (labelLength > 63) {
                return Optional.empty();
            }
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
                escaped.append((char) c);
            } else {
                escaped.append('\\').append(String.format("%03d", c));
            }
        }
        if (labelLength == 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(Name.fromString(escaped.append('.').toString()));
        } catch (TextParseException e) {
            return Optional.empty(); // longer than 255 octets
        }
    }

    /** True when {@link #toName} would accept {@code text}. */
    public static boolean isValid(String text) {
        return toName(text).isPresent();
    }
}
