package dev.returnpath.spf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An RFC 7208 §7.1 macro-string, parsed once and expanded per evaluation.
 *
 * <pre>
 * macro-string = *( macro-expand / macro-literal )
 * macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
 * macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
 * transformers = *DIGIT [ "r" ]
 * delimiter    = "." / "-" / "+" / "," / "/" / "_" / "="
 * macro-literal = %x21-24 / %x26-7E      ; visible ASCII but "%"
 * </pre>
 *
 * <p>Three contexts differ: a {@link Context#DOMAIN_SPEC} must also end in a macro or in
 * {@code "." toplabel ["."]} (§7.1 {@code domain-end}); an {@link Context#EXPLANATION} may contain
 * spaces (§6.2 {@code explain-string}) and is the only place where {@code c}, {@code r} and
 * {@code t} are allowed (§7.3); an {@link Context#MODIFIER_VALUE} (unknown modifier) is only
 * checked, never expanded.
 */
final class MacroString {
    enum Context { DOMAIN_SPEC, EXPLANATION, MODIFIER_VALUE }

    /** Supplies the value of a (lower-case) macro letter; may need DNS for {@code p}. */
    interface Values {
        String value(char letter) throws CheckHostError;
    }

    private sealed interface Token permits Literal, Expand {}

    private record Literal(String text) implements Token {}

    /** {@code %{letter digits r delimiters}}; {@code digits == 0} means "all parts". */
    private record Expand(char letter, boolean urlEscape, int digits, boolean reverse, String delimiters)
            implements Token {}

    // §7.1: toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
    private static final Pattern DOMAIN_END = Pattern.compile(
            ".*\\.(?:[0-9A-Za-z]*[A-Za-z][0-9A-Za-z]*|[0-9A-Za-z]+-[0-9A-Za-z-]*[0-9A-Za-z])\\.?");

    private final String source;
    private final List<Token> tokens;

    private MacroString(String source, List<Token> tokens) {
        this.source = source;
        this.tokens = tokens;
    }

    String source() {
        return source;
    }

    /** Parses {@code text}; a syntax error is a permerror (§4.6, §7.1). */
    static MacroString parse(String text, Context context) throws CheckHostError {
        List<Token> tokens = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int lastMacroEnd = 0; // where the literal tail after the last macro-expand begins
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c != '%') {
                boolean allowed = (c >= 0x21 && c <= 0x7e) || (c == ' ' && context == Context.EXPLANATION);
                if (!allowed) {
                    throw CheckHostError.permerror("invalid character in \"" + text + "\"");
                }
                literal.append(c);
                i++;
                continue;
            }
            if (i + 1 >= text.length()) {
                throw CheckHostError.permerror("\"%\" at the end of \"" + text + "\" (RFC 7208 §7.1)");
            }
            char next = text.charAt(i + 1);
            switch (next) {
                case '%' -> literal.append('%');
                case '_' -> literal.append(' ');
                case '-' -> literal.append("%20");
                case '{' -> {
                    int close = text.indexOf('}', i + 2);
                    if (close < 0) {
                        throw CheckHostError.permerror("unterminated macro in \"" + text + "\"");
                    }
                    Expand expand = parseExpand(text.substring(i + 2, close), text, context);
                    if (!literal.isEmpty()) {
                        tokens.add(new Literal(literal.toString()));
                        literal.setLength(0);
                    }
                    tokens.add(expand);
                    i = close + 1;
                    lastMacroEnd = i;
                    continue;
                }
                default -> throw CheckHostError.permerror(
                        "\"%" + next + "\" in \"" + text + "\": \"%\" must be followed by {, %, _ or - (RFC 7208 §7.1)");
            }
            i += 2;
            lastMacroEnd = i;
        }
        if (!literal.isEmpty()) {
            tokens.add(new Literal(literal.toString()));
        }
        if (context == Context.DOMAIN_SPEC) {
            if (text.isEmpty()) {
                throw CheckHostError.permerror("empty domain-spec");
            }
            boolean endsInMacro = lastMacroEnd == text.length();
            if (!endsInMacro && !DOMAIN_END.matcher(text.substring(lastMacroEnd)).matches()) {
                throw CheckHostError.permerror(
                        "\"" + text + "\" does not end in a macro or a valid top-level label (RFC 7208 §7.1)");
            }
        }
        return new MacroString(text, List.copyOf(tokens));
    }

    private static Expand parseExpand(String body, String text, Context context) throws CheckHostError {
        if (body.isEmpty()) {
            throw CheckHostError.permerror("empty macro in \"" + text + "\"");
        }
        char letter = body.charAt(0);
        char lower = Character.toLowerCase(letter);
        boolean known = "slodiphv".indexOf(lower) >= 0 || "crt".indexOf(lower) >= 0;
        if (!known || letter > 0x7e) {
            throw CheckHostError.permerror("unknown macro letter \"" + letter + "\" in \"" + text + "\"");
        }
        if ("crt".indexOf(lower) >= 0 && context != Context.EXPLANATION) {
            throw CheckHostError.permerror(
                    "macro %{" + letter + "} is allowed only in explanation text (RFC 7208 §7.3)");
        }
        int i = 1;
        long digits = 0;
        boolean hasDigits = false;
        while (i < body.length() && body.charAt(i) >= '0' && body.charAt(i) <= '9') {
            hasDigits = true;
            digits = Math.min(digits * 10 + (body.charAt(i) - '0'), Integer.MAX_VALUE);
            i++;
        }
        if (hasDigits && digits == 0) {
            throw CheckHostError.permerror("macro transformer 0 in \"" + text + "\" (RFC 7208 §7.3: must be nonzero)");
        }
        boolean reverse = false;
        if (i < body.length() && (body.charAt(i) == 'r' || body.charAt(i) == 'R')) {
            reverse = true;
            i++;
        }
        String delimiters = body.substring(i);
        for (int j = 0; j < delimiters.length(); j++) {
            if (".-+,/_=".indexOf(delimiters.charAt(j)) < 0) {
                throw CheckHostError.permerror("invalid macro delimiter in \"" + text + "\"");
            }
        }
        return new Expand(lower, Character.isUpperCase(letter), (int) digits, reverse, delimiters);
    }

    /** Expands every macro (§7.3); literals are copied as they are. */
    String expand(Values values) throws CheckHostError {
        StringBuilder out = new StringBuilder();
        for (Token token : tokens) {
            switch (token) {
                case Literal literal -> out.append(literal.text());
                case Expand expand -> out.append(expandOne(expand, values.value(expand.letter())));
            }
        }
        return out.toString();
    }

    private static String expandOne(Expand e, String value) {
        String result = value;
        if (e.digits() > 0 || e.reverse() || !e.delimiters().isEmpty()) {
            // §7.3: split on the delimiters (default "."), reverse if asked, keep the right-hand
            // parts, and rejoin with "." whatever the delimiters were.
            String delimiters = e.delimiters().isEmpty() ? "." : e.delimiters();
            List<String> parts = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < value.length(); i++) {
                if (delimiters.indexOf(value.charAt(i)) >= 0) {
                    parts.add(value.substring(start, i));
                    start = i + 1;
                }
            }
            parts.add(value.substring(start));
            if (e.reverse()) {
                Collections.reverse(parts);
            }
            if (e.digits() > 0 && e.digits() < parts.size()) {
                parts = parts.subList(parts.size() - e.digits(), parts.size());
            }
            result = String.join(".", parts);
        }
        return e.urlEscape() ? urlEscape(result) : result;
    }

    /** §7.3: upper-case macros are URL-escaped: every octet outside RFC 3986 "unreserved" becomes %XX. */
    static String urlEscape(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return source;
    }
}
