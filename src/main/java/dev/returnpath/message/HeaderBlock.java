package dev.returnpath.message;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The header block of a message (RFC 5322 §2.2), kept as the raw bytes of each field so that
 * a field nobody edits goes out exactly as it came in: folding, trailing spaces, 8-bit and even
 * invalid UTF-8 bytes survive. Only the header block is ever parsed; the body is not looked at.
 */
public final class HeaderBlock {

    /** One field: its name and its raw bytes, including folded lines and the final CRLF. */
    public record Field(String name, byte[] raw) {
        /** The raw bytes after the colon, folding and final CRLF included. */
        public byte[] rawValue() {
            for (int i = 0; i < raw.length; i++) {
                if (raw[i] == ':') {
                    return java.util.Arrays.copyOfRange(raw, i + 1, raw.length);
                }
            }
            return new byte[0];
        }

        /** A line break that folds (continued by white space): what {@link #unfold} removes. */
        static final Pattern FOLD = Pattern.compile("\r?\n(?=[ \t])");
        private static final Pattern FINAL_LINE_END = Pattern.compile("[\r\n]+$");

        /** The unfolded value, decoded as UTF-8 (RFC 6532), for reading only. */
        public String value() {
            String s = new String(raw, StandardCharsets.UTF_8);
            int colon = s.indexOf(':');
            String v = colon < 0 ? "" : s.substring(colon + 1);
            String unfolded = unfold(v);
            // trim() takes every CR and LF off the end already; the pattern only differs from it
            // when a Unicode line separator (which "$" also stops before) ends the value
            return hasUnicodeLineEnd(unfolded) ? FINAL_LINE_END.matcher(unfolded).replaceAll("").trim() : unfolded.trim();
        }

        /** {@code v} without each line break that is followed by a space or a tab: FOLD's replaceAll, by hand. */
        static String unfold(String v) {
            int lf = v.indexOf('\n');
            if (lf < 0) {
                return v;
            }
            StringBuilder b = null;
            int copied = 0;
            for (int i = lf; i >= 0; i = v.indexOf('\n', i + 1)) {
                if (i + 1 < v.length() && (v.charAt(i + 1) == ' ' || v.charAt(i + 1) == '\t')) {
                    int cut = i > 0 && v.charAt(i - 1) == '\r' ? i - 1 : i;
                    if (b == null) {
                        b = new StringBuilder(v.length());
                    }
                    b.append(v, copied, Math.max(copied, cut));
                    copied = i + 1;
                }
            }
            return b == null ? v : b.append(v, copied, v.length()).toString();
        }

        private static boolean hasUnicodeLineEnd(String v) {
            for (int i = 0; i < v.length(); i++) {
                char c = v.charAt(i);
                if (c == '\u0085' || c == '\u2028' || c == '\u2029') {
                    return true;
                }
            }
            return false;
        }

        public boolean is(String other) {
            return name.equalsIgnoreCase(other);
        }
    }

    private final List<Field> fields;
    /** The block this one is a changed copy of (null for a parsed one): {@link FromHeader#of} reuses its answer. */
    private final HeaderBlock parent;
    /** {@link FromHeader#of} this block, once asked (a pure function of the From fields, set at most racily twice). */
    volatile FromHeader from;

    private HeaderBlock(List<Field> fields, HeaderBlock parent) {
        this.fields = Collections.unmodifiableList(fields);
        this.parent = parent;
    }

    HeaderBlock parent() {
        return parent;
    }

    /**
     * Splits {@code raw} (the bytes before the empty line that ends the header section, CRLF line
     * ends) into fields. A line that is neither a field nor a continuation is kept as a field with
     * an empty name, so that nothing is dropped.
     */
    public static HeaderBlock parse(byte[] raw) {
        List<Field> out = new ArrayList<>(Math.min(64, raw.length / 16 + 1));
        int i = 0;
        int n = raw.length;
        while (i < n) {
            int start = i;
            int end = lineEnd(raw, i);
            // absorb continuation lines (RFC 5322 §2.2.3: folding starts with WSP)
            while (end < n && (raw[end] == ' ' || raw[end] == '\t')) {
                end = lineEnd(raw, end);
            }
            byte[] field = java.util.Arrays.copyOfRange(raw, start, end);
            out.add(new Field(nameOf(field), field));
            i = end;
        }
        return new HeaderBlock(out, null);
    }

    private static int lineEnd(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == '\n') {
                return i + 1;
            }
        }
        return b.length;
    }

    private static String nameOf(byte[] field) {
        for (int i = 0; i < field.length; i++) {
            byte c = field[i];
            if (c == ':') {
                return i == 0 ? "" : new String(field, 0, i, StandardCharsets.US_ASCII).trim();
            }
            // RFC 5322 §3.6.8: field names are printable US-ASCII except colon
            if (c < 33 || c > 126) {
                return "";
            }
        }
        return "";
    }

    public List<Field> fields() {
        return fields;
    }

    public List<Field> all(String name) {
        return fields.stream().filter(f -> f.is(name)).toList();
    }

    public Optional<Field> first(String name) {
        return fields.stream().filter(f -> f.is(name)).findFirst();
    }

    /** A copy without the fields {@code drop} matches. */
    public HeaderBlock without(Predicate<Field> drop) {
        return new HeaderBlock(new ArrayList<>(fields.stream().filter(drop.negate()).toList()), this);
    }

    /** A copy with {@code field} replacing every field of that name, at the place of the first. */
    public HeaderBlock replacing(String name, byte[] raw) {
        List<Field> out = new ArrayList<>();
        boolean placed = false;
        for (Field f : fields) {
            if (f.is(name)) {
                if (!placed) {
                    out.add(new Field(name, raw));
                    placed = true;
                }
            } else {
                out.add(f);
            }
        }
        if (!placed) {
            out.add(new Field(name, raw));
        }
        return new HeaderBlock(out, this);
    }

    /**
     * A copy where the fields named {@code name} are replaced by {@code replacement} (any number
     * of fields), placed where the first of them was; at the end when there was none.
     */
    public HeaderBlock replacingAll(String name, List<Field> replacement) {
        List<Field> out = new ArrayList<>();
        boolean placed = false;
        for (Field f : fields) {
            if (f.is(name)) {
                if (!placed) {
                    out.addAll(replacement);
                    placed = true;
                }
            } else {
                out.add(f);
            }
        }
        if (!placed) {
            out.addAll(replacement);
        }
        return new HeaderBlock(out, this);
    }

    /** A copy with {@code raw} added at the end of the block. */
    public HeaderBlock adding(String name, byte[] raw) {
        List<Field> out = new ArrayList<>(fields);
        out.add(new Field(name, raw));
        return new HeaderBlock(out, this);
    }

    /** The bytes of every field, in order: {@link #length} of them, in one array of that size. */
    public byte[] toBytes() {
        byte[] out = new byte[Math.toIntExact(length())];
        int at = 0;
        for (Field f : fields) {
            System.arraycopy(f.raw(), 0, out, at, f.raw().length);
            at += f.raw().length;
        }
        return out;
    }

    /** How many bytes {@link #toBytes} and {@link #writeTo} give. */
    public long length() {
        long n = 0;
        for (Field f : fields) {
            n += f.raw().length;
        }
        return n;
    }

    /**
     * Writes the fields to {@code out} without a copy of the whole block: the header is what the
     * relay holds in memory per message, so it is not duplicated on its way out.
     */
    public void writeTo(java.io.OutputStream out) throws java.io.IOException {
        for (Field f : fields) {
            out.write(f.raw());
        }
    }

    public static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
