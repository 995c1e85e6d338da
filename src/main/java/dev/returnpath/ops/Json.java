package dev.returnpath.ops;

import java.util.List;
import java.util.Map;

/**
 * The one JSON writer (RFC 8259) for the commands' {@code --json} output and the JSON log:
 * objects as ordered maps, lists, strings, numbers, booleans and null. Every character outside
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
