package dev.returnpath.message;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code from-header = align}: the header From becomes the sending domain's own address, so that
 * DMARC can pass, and the author's address moves to {@code Reply-To}, so that a reply still
 * reaches them (a contact form that writes the visitor's Gmail address into From).
 *
 * <p>The edit is made on raw bytes. The display name of a single From mailbox is kept exactly as
 * it was written: encoded words (RFC 2047), UTF-8 (RFC 6532), quoted strings and comments are
 * copied, not decoded and encoded again. {@code Reply-To} gets the From field's value itself,
 * byte for byte, which is always a valid address list. Every other field keeps its bytes and its
 * place; the new From takes the place of the first old one, and Reply-To follows it.
 */
public final class FromAlignment {
    private FromAlignment() {}

    /**
     * @param headers      the header block after the edit
     * @param from         the new From field's value, for logs and {@code rewrite-test}
     * @param replyTo      the Reply-To value added, if one was
     * @param replyToKept  true when the message already had a Reply-To, which is left alone
     */
    public record Result(HeaderBlock headers, String from, Optional<String> replyTo, boolean replyToKept) {}

    /** Rewrites From to {@code address}, keeping a single mailbox's display name. */
    public static Result align(HeaderBlock headers, String address) {
        List<HeaderBlock.Field> old = headers.all("From");
        byte[] display = old.size() == 1 ? displayName(old.get(0)) : new byte[0];

        ByteArrayOutputStream from = new ByteArrayOutputStream();
        from.writeBytes("From: ".getBytes(StandardCharsets.US_ASCII));
        byte[] addr = address.getBytes(StandardCharsets.UTF_8);
        if (display.length > 0) {
            from.writeBytes(display);
            // RFC 5322 §2.1.1: lines SHOULD stay within 78 characters; fold before the address
            // rather than make a long line longer
            boolean fold = lastLineLength(display) + 6 + addr.length + 3 > 78;
            from.writeBytes((fold ? "\r\n <" : " <").getBytes(StandardCharsets.US_ASCII));
            from.writeBytes(addr);
            from.write('>');
        } else {
            from.writeBytes(addr);
        }
        from.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        HeaderBlock.Field newFrom = new HeaderBlock.Field("From", from.toByteArray());

        List<HeaderBlock.Field> replacement = new ArrayList<>();
        replacement.add(newFrom);
        boolean hasReplyTo = headers.first("Reply-To").isPresent();
        Optional<String> replyTo = Optional.empty();
        if (!hasReplyTo) {
            Optional<byte[]> value = replyToValue(old);
            if (value.isPresent()) {
                ByteArrayOutputStream rt = new ByteArrayOutputStream();
                rt.writeBytes("Reply-To:".getBytes(StandardCharsets.US_ASCII));
                rt.writeBytes(value.get());
                HeaderBlock.Field f = new HeaderBlock.Field("Reply-To", rt.toByteArray());
                replacement.add(f);
                replyTo = Optional.of(f.value());
            }
        }
        return new Result(headers.replacingAll("From", replacement), newFrom.value(), replyTo, hasReplyTo);
    }

    /**
     * The raw value for Reply-To: the old From fields' values, when every address in them is a
     * valid mailbox (an address that cannot be replied to is not worth moving). Several From
     * fields are joined into one list.
     */
    private static Optional<byte[]> replyToValue(List<HeaderBlock.Field> old) {
        List<byte[]> values = new ArrayList<>();
        List<String> all = new ArrayList<>();
        boolean copyable = true;
        for (HeaderBlock.Field f : old) {
            Optional<List<String>> addresses = FromHeader.addressesOf(f.value());
            if (addresses.isEmpty() || addresses.get().isEmpty()
                    || !addresses.get().stream().allMatch(Addresses::isValidMailbox)) {
                return Optional.empty();
            }
            all.addAll(addresses.get());
            // the lenient parser finds zoe@gmail.com in "unterminated <zoe@gmail.com>, whose bytes
            // would make an invalid Reply-To: such a value is not copied, its addresses are
            copyable &= wellFormed(f.rawValue());
            values.add(f.rawValue());
        }
        if (!copyable) {
            return Optional.of((" " + String.join(",\r\n ", all) + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        if (values.isEmpty()) {
            return Optional.empty();
        }
        if (values.size() == 1) {
            byte[] v = endWithCrlf(values.get(0));
            if (v[0] == ' ' || v[0] == '\t') {
                return Optional.of(v);
            }
            byte[] spaced = new byte[v.length + 1];
            spaced[0] = ' ';
            System.arraycopy(v, 0, spaced, 1, v.length);
            return Optional.of(spaced);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < values.size(); i++) {
            out.writeBytes((i == 0 ? " " : ",\r\n ").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(trim(values.get(i)));
        }
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        return Optional.of(out.toByteArray());
    }

    /**
     * The display name of a From field holding one {@code name-addr}: the raw bytes before its
     * {@code <}, trimmed; empty for a bare address, a group or several mailboxes. The scan skips
     * quoted strings and comments, so that a {@code <} or {@code ,} inside them does not count.
     * It works on bytes: structure characters are ASCII, and UTF-8 bytes are all above 0x7F.
     */
    static byte[] displayName(HeaderBlock.Field field) {
        Optional<List<String>> addresses = FromHeader.addressesOf(field.value());
        if (addresses.isEmpty() || addresses.get().size() != 1) {
            return new byte[0];
        }
        byte[] v = field.rawValue();
        if (!wellFormed(v)) {
            return new byte[0]; // a display name cut from a broken field could break the new one
        }
        boolean quoted = false;
        int comment = 0;
        for (int i = 0; i < v.length; i++) {
            byte c = v[i];
            if (c == '\\' && (quoted || comment > 0)) {
                i++; // quoted-pair
                continue;
            }
            if (quoted) {
                quoted = c != '"';
                continue;
            }
            if (c == '(') {
                comment++;
            } else if (c == ')' && comment > 0) {
                comment--;
            } else if (comment > 0) {
                continue;
            } else if (c == '"') {
                quoted = true;
            } else if (c == ':' || c == ',' || c == ';') {
                return new byte[0]; // a group, or a list
            } else if (c == '<') {
                return trim(java.util.Arrays.copyOfRange(v, 0, i));
            }
        }
        return new byte[0];
    }

    /**
     * True when {@code v} closes what it opens: quoted strings, comments (nested), and angle
     * brackets (not nested, none stray), and has no bare CR or LF outside a fold (CRLF WSP) but
     * its final CRLF. Enough for a copy of it to be a field of the same structure.
     */
    static boolean wellFormed(byte[] v) {
        boolean quoted = false;
        int comment = 0;
        boolean angle = false;
        int end = v.length;
        if (end >= 2 && v[end - 2] == '\r' && v[end - 1] == '\n') {
            end -= 2;
        }
        for (int i = 0; i < end; i++) {
            byte c = v[i];
            if (c == '\r' || c == '\n') {
                boolean fold = c == '\r' && i + 2 < end && v[i + 1] == '\n' && (v[i + 2] == ' ' || v[i + 2] == '\t');
                if (!fold) {
                    return false;
                }
                i++;
                continue;
            }
            if (c == '\\' && (quoted || comment > 0)) {
                if (i + 1 >= end) {
                    return false;
                }
                i++;
                continue;
            }
            if (quoted) {
                quoted = c != '"';
            } else if (c == '(') {
                comment++;
            } else if (c == ')') {
                if (comment == 0) {
                    return false;
                }
                comment--;
            } else if (comment > 0) {
                continue;
            } else if (c == '"') {
                quoted = true;
            } else if (c == '<') {
                if (angle) {
                    return false;
                }
                angle = true;
            } else if (c == '>') {
                if (!angle) {
                    return false;
                }
                angle = false;
            }
        }
        return !quoted && comment == 0 && !angle;
    }

    private static byte[] trim(byte[] b) {
        int start = 0;
        int end = b.length;
        while (start < end && isSpace(b[start])) {
            start++;
        }
        while (end > start && isSpace(b[end - 1])) {
            end--;
        }
        return java.util.Arrays.copyOfRange(b, start, end);
    }

    private static byte[] endWithCrlf(byte[] v) {
        byte[] t = trimEnd(v);
        byte[] out = java.util.Arrays.copyOf(t, t.length + 2);
        out[t.length] = '\r';
        out[t.length + 1] = '\n';
        return out;
    }

    private static byte[] trimEnd(byte[] b) {
        int end = b.length;
        while (end > 0 && isSpace(b[end - 1])) {
            end--;
        }
        return java.util.Arrays.copyOf(b, end);
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }

    private static int lastLineLength(byte[] b) {
        int n = 0;
        for (byte c : b) {
            n = c == '\n' ? 0 : n + 1;
        }
        return n;
    }
}
