package dev.returnpath.config;

import dev.returnpath.message.Addresses;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A {@code return-path} as configured: a plain address ({@code bounce@example.com}) or a
 * template whose local part uses {@code {local}} and {@code {domain}} (of the original envelope
 * sender) and {@code {hash}} (a short keyed hash of it), e.g.
 * {@code bounce+{hash}-{local}={domain}@example.com}. Placeholders are allowed in the local
 * part only: the domain is what SPF is checked at, so it is fixed by the operator.
 *
 * <p>{@code fallback} is the plain address used when an expansion is not a valid address or its
 * local part is over 64 octets (RFC 5321 §4.5.3.1.1): the {@code fallback} key when the
 * operator set one, else the local part up to the first placeholder, without the separator
 * characters ({@code + - = . _}) that end it, at the same domain
 * ({@code bounce+{hash}-{local}={domain}@example.com} falls back to {@code bounce@example.com}).
 */
public record ReturnPathTemplate(String text, List<Part> localPart, String domain, String fallback) {

    /** The longest local part RFC 5321 §4.5.3.1.1 allows, in octets. */
    public static final int MAX_LOCAL_OCTETS = 64;

    /** The length of {@code {hash}} once expanded. */
    public static final int HASH_LENGTH = 8;

    public sealed interface Part {
        record Literal(String text) implements Part {}

        record Placeholder(Kind kind) implements Part {}
    }

    public enum Kind {
        LOCAL, DOMAIN, HASH;

        public String token() {
            return "{" + name().toLowerCase(java.util.Locale.ROOT) + "}";
        }
    }

    public boolean isPlain() {
        return localPart.stream().allMatch(p -> p instanceof Part.Literal);
    }

    public boolean usesHash() {
        return localPart.stream().anyMatch(p -> p instanceof Part.Placeholder ph && ph.kind() == Kind.HASH);
    }

    /**
     * Parses and checks {@code text}; {@code fallback} is the operator's explicit fallback, if
     * any. Throws {@link IllegalArgumentException} with a message fit for a configuration error.
     */
    public static ReturnPathTemplate parse(String text, Optional<String> fallback) {
        String t = text.trim();
        int at = t.lastIndexOf('@');
        if (at <= 0 || at == t.length() - 1) {
            throw new IllegalArgumentException("\"" + text + "\" is not a valid address (local@domain)");
        }
        String local = t.substring(0, at);
        String domain = t.substring(at + 1);
        if (domain.indexOf('{') >= 0 || domain.indexOf('}') >= 0) {
            throw new IllegalArgumentException("\"" + text + "\": placeholders are allowed in the local part only "
                    + "(the domain is where SPF is checked)");
        }
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < local.length(); i++) {
            char c = local.charAt(i);
            if (c == '}') {
                throw new IllegalArgumentException("\"" + text + "\": \"}\" without \"{\"");
            }
            if (c != '{') {
                literal.append(c);
                continue;
            }
            int close = local.indexOf('}', i);
            if (close < 0) {
                throw new IllegalArgumentException("\"" + text + "\": \"{\" without \"}\"");
            }
            String name = local.substring(i + 1, close);
            Kind kind = null;
            for (Kind k : Kind.values()) {
                if (k.token().equals("{" + name + "}")) {
                    kind = k;
                }
            }
            if (kind == null) {
                throw new IllegalArgumentException("\"" + text + "\": unknown placeholder {" + name
                        + "} (use {local}, {domain} or {hash})");
            }
            if (!literal.isEmpty()) {
                parts.add(new Part.Literal(literal.toString()));
                literal.setLength(0);
            }
            parts.add(new Part.Placeholder(kind));
            i = close;
        }
        if (!literal.isEmpty()) {
            parts.add(new Part.Literal(literal.toString()));
        }

        // The shortest expansion must already be a valid address that fits: a template that can
        // never produce one is a configuration error, not a fallback at every message.
        StringBuilder sample = new StringBuilder();
        for (Part p : parts) {
            sample.append(switch (p) {
                case Part.Literal l -> l.text();
                case Part.Placeholder ph -> switch (ph.kind()) {
                    case LOCAL -> "a";
                    case DOMAIN -> "b.c";
                    case HASH -> "a".repeat(HASH_LENGTH);
                };
            });
        }
        // the length first: isValidMailbox refuses a long local part too, with a vaguer message
        int octets = sample.toString().getBytes(StandardCharsets.UTF_8).length;
        if (octets > MAX_LOCAL_OCTETS) {
            throw new IllegalArgumentException("\"" + text + "\": the local part is over " + MAX_LOCAL_OCTETS
                    + " octets even with the shortest values");
        }
        if (!Addresses.isValidMailbox(sample + "@" + domain)) {
            throw new IllegalArgumentException("\"" + text + "\" is not a valid address (local@domain)"
                    + (parts.size() > 1 || !(parts.get(0) instanceof Part.Literal) ? " once expanded" : ""));
        }

        String fb;
        if (fallback.isPresent()) {
            fb = fallback.get().trim();
            if (fb.indexOf('{') >= 0 || fb.indexOf('}') >= 0 || !Addresses.isValidMailbox(fb)
                    || Addresses.localPartOf(fb).getBytes(StandardCharsets.UTF_8).length > MAX_LOCAL_OCTETS) {
                throw new IllegalArgumentException("fallback \"" + fallback.get() + "\" must be a plain address such as bounce@"
                        + domain);
            }
        } else if (parts.stream().allMatch(p -> p instanceof Part.Literal)) {
            fb = t;
        } else {
            String prefix = parts.get(0) instanceof Part.Literal l ? l.text() : "";
            prefix = prefix.replaceAll("[+\\-=._]+$", "");
            if (prefix.isEmpty() || !Addresses.isValidMailbox(prefix + "@" + domain)) {
                throw new IllegalArgumentException("\"" + text + "\" starts with a placeholder: set fallback "
                        + "(a plain address such as bounce@" + domain + ") for the messages it cannot serve");
            }
            fb = prefix + "@" + domain;
        }
        return new ReturnPathTemplate(t, List.copyOf(parts), domain, fb);
    }

    @Override
    public String toString() {
        return text;
    }
}
