package dev.returnpath.spf;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One parsed {@code v=spf1} record (RFC 7208 §4.5, §4.6, §5, §6).
 *
 * <p>{@link #parse} reads the whole record before anything is evaluated, because "if there are
 * any syntax errors anywhere in the record, check_host() returns immediately with the result
 * permerror, without further interpretation or evaluation" (§4.6).
 *
 * @param directives the mechanisms with their qualifiers, in order (§4.6.2)
 * @param redirect the {@code redirect=} domain-spec, if any (§6.1)
 * @param exp the {@code exp=} domain-spec, if any (§6.2)
 */
record SpfRecord(List<Directive> directives, Optional<MacroString> redirect, Optional<MacroString> exp) {

    /** A qualifier (§4.6.2: "+" pass, "-" fail, "~" softfail, "?" neutral; default "+") and a mechanism. */
    record Directive(SpfResult qualifier, Mechanism mechanism, String text) {}

    /** The eight mechanisms of §5. A missing domain-spec means the current {@code <domain>}. */
    sealed interface Mechanism {
        record All() implements Mechanism {}

        record Include(MacroString domain) implements Mechanism {}

        record A(Optional<MacroString> domain, int cidr4, int cidr6) implements Mechanism {}

        record Mx(Optional<MacroString> domain, int cidr4, int cidr6) implements Mechanism {}

        record Ptr(Optional<MacroString> domain) implements Mechanism {}

        record Ip4(byte[] network, int cidr) implements Mechanism {}

        record Ip6(byte[] network, int cidr) implements Mechanism {}

        record Exists(MacroString domain) implements Mechanism {}
    }

    // §4.6.1: modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    private static final Pattern MODIFIER = Pattern.compile("([A-Za-z][A-Za-z0-9._-]*)=(.*)", Pattern.DOTALL);
    // §5.3, §5.4: dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]; no leading zeros
    private static final Pattern CIDR6_SUFFIX = Pattern.compile("(.*)//(0|[1-9][0-9]*)", Pattern.DOTALL);
    private static final Pattern CIDR4_SUFFIX = Pattern.compile("(.*)/(0|[1-9][0-9]*)", Pattern.DOTALL);
    private static final Pattern CIDR_VALUE = Pattern.compile("0|[1-9][0-9]{0,2}");

    /** True when {@code text} is an SPF version 1 record: "v=spf1" (any case), then a space or the end (§4.5). */
    static boolean isSpf1(String text) {
        return text.regionMatches(true, 0, "v=spf1", 0, 6) && (text.length() == 6 || text.charAt(6) == ' ');
    }

    /** Parses a record already selected by {@link #isSpf1}. */
    static SpfRecord parse(String text) throws CheckHostError {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                // §3.1 / §4.6.1: records are 7-bit ASCII, terms are separated by spaces only
                throw CheckHostError.permerror(String.format(
                        "character 0x%02x at offset %d: SPF records are printable ASCII (RFC 7208 §3.1)", (int) c, i));
            }
        }
        if (!isSpf1(text)) {
            throw CheckHostError.permerror("not a v=spf1 record");
        }
        List<Directive> directives = new ArrayList<>();
        MacroString redirect = null;
        MacroString exp = null;
        for (String term : text.substring(6).split(" ")) {
            if (term.isEmpty()) {
                continue; // terms = *( 1*SP ( directive / modifier ) ): any number of spaces
            }
            Matcher modifier = MODIFIER.matcher(term);
            if (modifier.matches()) {
                String name = modifier.group(1).toLowerCase(Locale.ROOT);
                String value = modifier.group(2);
                switch (name) {
                    case "redirect" -> {
                        if (redirect != null) {
                            throw CheckHostError.permerror("redirect= appears twice (RFC 7208 §6)");
                        }
                        redirect = MacroString.parse(value, MacroString.Context.DOMAIN_SPEC);
                    }
                    case "exp" -> {
                        if (exp != null) {
                            throw CheckHostError.permerror("exp= appears twice (RFC 7208 §6)");
                        }
                        exp = MacroString.parse(value, MacroString.Context.DOMAIN_SPEC);
                    }
                    // §6: unknown modifiers are ignored, but their value must still be a macro-string
                    default -> MacroString.parse(value, MacroString.Context.MODIFIER_VALUE);
                }
                continue;
            }
            directives.add(parseDirective(term));
        }
        return new SpfRecord(List.copyOf(directives), Optional.ofNullable(redirect), Optional.ofNullable(exp));
    }

    private static Directive parseDirective(String term) throws CheckHostError {
        SpfResult qualifier = switch (term.charAt(0)) {
            case '+' -> SpfResult.PASS;
            case '-' -> SpfResult.FAIL;
            case '~' -> SpfResult.SOFTFAIL;
            case '?' -> SpfResult.NEUTRAL;
            default -> null;
        };
        String rest = qualifier == null ? term : term.substring(1);
        if (qualifier == null) {
            qualifier = SpfResult.PASS;
        }
        int end = 0;
        while (end < rest.length() && rest.charAt(end) != ':' && rest.charAt(end) != '/') {
            end++;
        }
        String name = rest.substring(0, end).toLowerCase(Locale.ROOT);
        String args = rest.substring(end);
        Mechanism mechanism = switch (name) {
            case "all" -> {
                if (!args.isEmpty()) {
                    throw syntax(term, "\"all\" takes no argument (RFC 7208 §5.1)");
                }
                yield new Mechanism.All();
            }
            case "include" -> new Mechanism.Include(requiredDomain(term, args));
            case "exists" -> new Mechanism.Exists(requiredDomain(term, args));
            case "a", "mx" -> {
                int cidr6 = 128;
                int cidr4 = 32;
                Matcher m6 = CIDR6_SUFFIX.matcher(args);
                if (m6.matches()) {
                    cidr6 = cidr(term, m6.group(2), 128);
                    args = m6.group(1);
                }
                Matcher m4 = CIDR4_SUFFIX.matcher(args);
                if (m4.matches()) {
                    cidr4 = cidr(term, m4.group(2), 32);
                    args = m4.group(1);
                }
                Optional<MacroString> domain = optionalDomain(term, args);
                yield name.equals("a")
                        ? new Mechanism.A(domain, cidr4, cidr6)
                        : new Mechanism.Mx(domain, cidr4, cidr6);
            }
            case "ptr" -> new Mechanism.Ptr(optionalDomain(term, args));
            case "ip4", "ip6" -> {
                if (!args.startsWith(":")) {
                    throw syntax(term, name + " needs \":\" and a network (RFC 7208 §5.6)");
                }
                String network = args.substring(1);
                int max = name.equals("ip4") ? 32 : 128;
                int length = max;
                int slash = network.indexOf('/');
                if (slash >= 0) {
                    length = cidr(term, network.substring(slash + 1), max);
                    network = network.substring(0, slash);
                }
                String text = network;
                byte[] bytes = (name.equals("ip4") ? IpLiterals.parseIp4(text) : IpLiterals.parseIp6(text))
                        .orElseThrow(() -> syntax(term, "\"" + text + "\" is not an " + name + " network"));
                yield name.equals("ip4") ? new Mechanism.Ip4(bytes, length) : new Mechanism.Ip6(bytes, length);
            }
            default -> throw syntax(term, "unknown mechanism (RFC 7208 §5)");
        };
        return new Directive(qualifier, mechanism, term);
    }

    private static MacroString requiredDomain(String term, String args) throws CheckHostError {
        if (!args.startsWith(":") || args.length() == 1) {
            throw syntax(term, "needs \":\" and a domain-spec");
        }
        return domainSpec(term, args.substring(1));
    }

    private static Optional<MacroString> optionalDomain(String term, String args) throws CheckHostError {
        if (args.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(requiredDomain(term, args));
    }

    private static MacroString domainSpec(String term, String spec) throws CheckHostError {
        try {
            return MacroString.parse(spec, MacroString.Context.DOMAIN_SPEC);
        } catch (CheckHostError e) {
            throw syntax(term, e.getMessage());
        }
    }

    private static int cidr(String term, String text, int max) throws CheckHostError {
        if (!CIDR_VALUE.matcher(text).matches() || Integer.parseInt(text) > max) {
            throw syntax(term, "prefix length \"" + text + "\" must be 0-" + max + " without leading zeros (RFC 7208 §5.6)");
        }
        return Integer.parseInt(text);
    }

    private static CheckHostError syntax(String term, String why) {
        return CheckHostError.permerror("\"" + term + "\": " + why);
    }
}
