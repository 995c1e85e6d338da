package dev.returnpath.message;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Syntax of envelope addresses (RFC 5321 §4.1.2 Mailbox) and domain names, with RFC 6531's
 * UTF-8 allowed in both parts. Pure functions; no DNS.
 */
public final class Addresses {
    private Addresses() {}

    // atext of RFC 5322 §3.2.3, plus any non-ASCII character (RFC 6531 UTF8-non-ascii)
    private static final String ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\x{80}-\\x{10FFFF}]";
    private static final Pattern DOT_ATOM = Pattern.compile(ATEXT + "+(\\." + ATEXT + "+)*");
    private static final Pattern QUOTED = Pattern.compile("\"([\\x20\\x21\\x23-\\x5b\\x5d-\\x7e\\x{80}-\\x{10FFFF}]|\\\\[\\x20-\\x7e])*\"");
    private static final Pattern LABEL = Pattern.compile("([A-Za-z0-9\\x{80}-\\x{10FFFF}]([A-Za-z0-9\\-\\x{80}-\\x{10FFFF}]*[A-Za-z0-9\\x{80}-\\x{10FFFF}])?)");
    private static final Pattern ADDRESS_LITERAL = Pattern.compile("\\[[^\\[\\]\\\\]+\\]");

    /** {@code local@domain}, the Mailbox of RFC 5321 (no angle brackets, no source route). */
    public static boolean isValidMailbox(String s) {
        if (s == null || s.isEmpty() || s.length() > 320) {
            return false;
        }
        int at = s.lastIndexOf('@');
        if (at <= 0 || at == s.length() - 1) {
            return false;
        }
        String local = s.substring(0, at);
        String domain = s.substring(at + 1);
        if (!(DOT_ATOM.matcher(local).matches() || QUOTED.matcher(local).matches())) {
            return false;
        }
        if (ADDRESS_LITERAL.matcher(domain).matches()) {
            return true;
        }
        return isValidDomain(domain);
    }

    /** A host name: labels of letters, digits and hyphens (or UTF-8), at most 63 octets each, 253 in all. */
    public static boolean isValidDomain(String d) {
        if (d == null || d.isEmpty() || d.length() > 253) {
            return false;
        }
        String t = d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
        if (t.isEmpty()) {
            return false;
        }
        for (String label : t.split("\\.", -1)) {
            if (label.isEmpty() || label.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 63
                    || !LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    /** True when the address needs SMTPUTF8 (RFC 6531) to be sent. */
    public static boolean needsUtf8(String address) {
        for (int i = 0; i < address.length(); i++) {
            if (address.charAt(i) >= 0x80) {
                return true;
            }
        }
        return false;
    }

    /** The domain of {@code local@domain}, lower-cased; empty for the null sender or no @. */
    public static Optional<String> domainOf(String address) {
        int at = address == null ? -1 : address.lastIndexOf('@');
        if (at < 0 || at == address.length() - 1) {
            return Optional.empty();
        }
        return Optional.of(address.substring(at + 1).toLowerCase(Locale.ROOT));
    }

    /** The local part of {@code local@domain}. */
    public static String localPartOf(String address) {
        int at = address.lastIndexOf('@');
        return at < 0 ? address : address.substring(0, at);
    }
}
