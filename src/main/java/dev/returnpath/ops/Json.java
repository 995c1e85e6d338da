package dev.returnpath.ops;

import java.util.List;
import java.util.Map;

/**
 * The one JSON writer (RFC 8259) for the commands' {@code --json} output and the JSON log:
 * objects as ordered maps, lists, strings, numbers, booleans and null; and the one reader
 * ({@link #parse}), for the little JSON the relay takes in (OAuth token responses, a Google
 * service account key file). Every character outside
 * printable ASCII is written as a backslash-u escape of four hex digits, so that the output is the same bytes
 * whatever the platform's stdout encoding is, and a UTF-8 display name cannot be mangled.
 */
public final class Json {
    private Json() {}

    /** A JSON string literal, on one line. */
    public static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(s.length() + 2);
        string(b, s);
        return b.toString();
    }

    /** {@code value} (a Map, List, String, Boolean, Integer, Long or null), indented by two spaces. */
    public static String write(Object value) {
        StringBuilder b = new StringBuilder();
        write(b, value, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, int depth) {
        switch (v) {
            case null -> b.append("null");
            case String s -> string(b, s);
            case Boolean bool -> b.append(bool);
            case Integer i -> b.append(i);
            case Long l -> b.append(l);
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    b.append("{}");
                    return;
                }
                b.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    b.append(first ? "\n" : ",\n");
                    first = false;
                    indent(b, depth + 1);
                    string(b, String.valueOf(e.getKey()));
                    b.append(": ");
                    write(b, e.getValue(), depth + 1);
                }
                b.append('\n');
                indent(b, depth);
                b.append('}');
            }
            case List<?> l -> {
                if (l.isEmpty()) {
                    b.append("[]");
                    return;
                }
                b.append('[');
                boolean first = true;
                for (Object o : l) {
                    b.append(first ? "\n" : ",\n");
                    first = false;
                    indent(b, depth + 1);
                    write(b, o, depth + 1);
                }
                b.append('\n');
                indent(b, depth);
                b.append(']');
            }
            default -> throw new IllegalArgumentException("no JSON form for " + v.getClass().getName());
        }
    }

    /** How deep {@link #parse} nests objects and lists before it refuses. */
    static final int MAX_DEPTH = 32;

    /**
     * {@code text} as a value: a {@code Map<String, Object>} (in order), a {@code List<Object>},
     * a String, a Long (an integer that fits) or Double (any other number), a Boolean, or null.
     * Strict RFC 8259: one value, nothing after it but white space, no comments, no trailing
     * commas, nesting at most {@link #MAX_DEPTH}. Bad input is an {@link IllegalArgumentException}
     * saying where (never quoting the input, which may hold a secret). The caller bounds the size.
     */
    public static Object parse(String text) {
        Reader r = new Reader(text);
        r.space();
        Object v = r.value(0);
        r.space();
        if (r.i != text.length()) {
            throw r.bad("text after the value");
        }
        return v;
    }

    private static final class Reader {
        private final String s;
        private int i;

        Reader(String s) {
            this.s = s;
        }

        IllegalArgumentException bad(String what) {
            return new IllegalArgumentException("not JSON: " + what + " at offset " + i);
        }

        void space() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n' || s.charAt(i) == '\r')) {
                i++;
            }
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) {
                throw bad("nested deeper than " + MAX_DEPTH);
            }
            if (i >= s.length()) {
                throw bad("unexpected end");
            }
            char c = s.charAt(i);
            switch (c) {
                case '{' -> {
                    i++;
                    Map<String, Object> m = new java.util.LinkedHashMap<>();
                    space();
                    if (peek('}')) {
                        return m;
                    }
                    while (true) {
                        space();
                        if (i >= s.length() || s.charAt(i) != '"') {
                            throw bad("expected a member name");
                        }
                        String k = string();
                        space();
                        expect(':');
                        space();
                        m.put(k, value(depth + 1));
                        space();
                        if (peek('}')) {
                            return m;
                        }
                        expect(',');
                    }
                }
                case '[' -> {
                    i++;
                    List<Object> l = new java.util.ArrayList<>();
                    space();
                    if (peek(']')) {
                        return l;
                    }
                    while (true) {
                        space();
                        l.add(value(depth + 1));
                        space();
                        if (peek(']')) {
                            return l;
                        }
                        expect(',');
                    }
                }
                case '"' -> {
                    return string();
                }
                case 't' -> {
                    word("true");
                    return Boolean.TRUE;
                }
                case 'f' -> {
                    word("false");
                    return Boolean.FALSE;
                }
                case 'n' -> {
                    word("null");
                    return null;
                }
                default -> {
                    return number();
                }
            }
        }

        private boolean peek(char c) {
            if (i < s.length() && s.charAt(i) == c) {
                i++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw bad("expected '" + c + "'");
            }
        }

        private void word(String w) {
            if (!s.startsWith(w, i)) {
                throw bad("unexpected character");
            }
            i += w.length();
        }

        private Object number() {
            int start = i;
            peek('-');
            if (peek('0')) {
                // RFC 8259 §6: no leading zeros
            } else if (!digits()) {
                throw bad("unexpected character");
            }
            boolean integral = true;
            if (peek('.')) {
                integral = false;
                if (!digits()) {
                    throw bad("expected a digit");
                }
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                integral = false;
                i++;
                if (!peek('+')) {
                    peek('-');
                }
                if (!digits()) {
                    throw bad("expected a digit");
                }
            }
            String n = s.substring(start, i);
            if (integral && n.length() <= 18) {
                return Long.parseLong(n);
            }
            return Double.parseDouble(n);
        }

        private boolean digits() {
            int start = i;
            while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
            }
            return i > start;
        }

        private String string() {
            i++; // the opening quote
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw bad("unterminated string");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c < 0x20) {
                    throw bad("control character in a string");
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (i >= s.length()) {
                    throw bad("unterminated string");
                }
                char e = s.charAt(i++);
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            throw bad("short \\u escape");
                        }
                        int cp = 0;
                        for (int k = 0; k < 4; k++) {
                            int d = Character.digit(s.charAt(i++), 16);
                            if (d < 0) {
                                throw bad("bad \\u escape");
                            }
                            cp = cp * 16 + d;
                        }
                        b.append((char) cp);
                    }
                    default -> throw bad("bad escape");
                }
            }
        }
    }

    private static void indent(StringBuilder b, int depth) {
        b.append("  ".repeat(depth));
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c >= 0x7f) {
                        // a surrogate pair comes out as two escapes, as RFC 8259 §7 says
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
