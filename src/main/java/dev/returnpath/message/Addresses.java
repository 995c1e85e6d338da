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
    private static final Pattern SNUM = Pattern.compile("25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]");
    private static final Pattern HEX16 = Pattern.compile("[0-9A-Fa-f]{1,4}");
    private static final Pattern SIZE_PARAMETER = Pattern.compile("(?i)(?:^|[ \t])SIZE=([^ \t]*)");

    /** RFC 5321 §4.5.3.1.1: a local part is at most 64 octets. */
    public static final int MAX_LOCAL_PART_OCTETS = 64;

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
        if (local.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_LOCAL_PART_OCTETS) {
            return false;
        }
        if (!(DOT_ATOM.matcher(local).matches() || QUOTED.matcher(local).matches())) {
            return false;
        }
        if (domain.startsWith("[")) {
            return isAddressLiteral(domain);
        }
        return isValidDomain(domain);
    }

    /**
     * RFC 5321 §4.1.3: {@code [IPv4]} or {@code [IPv6:addr]}, nothing else inside the brackets
     * (no spaces, no trailing text). General address literals ({@code [tag:content]}) name no
     * address the relay could reach, and are refused.
     */
    public static boolean isAddressLiteral(String d) {
        if (d.length() < 3 || d.charAt(0) != '[' || d.charAt(d.length() - 1) != ']') {
            return false;
        }
        String inner = d.substring(1, d.length() - 1);
        if (inner.regionMatches(true, 0, "IPv6:", 0, 5)) {
            return isIpv6(inner.substring(5));
        }
        return isIpv4(inner);
    }

    private static boolean isIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (!SNUM.matcher(p).matches()) {
                return false;
            }
        }
        return true;
    }

    /** IPv6-full, IPv6-comp, IPv6v4-full and IPv6v4-comp of RFC 5321 §4.1.3. */
    private static boolean isIpv6(String s) {
        int groups = 8;
        int lastColon = s.lastIndexOf(':');
        if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
            if (!isIpv4(s.substring(lastColon + 1))) {
                return false;
            }
            // "::1.2.3.4" keeps its "::"; "a:b:c:d:e:f:1.2.3.4" loses its last colon
            s = s.substring(0, lastColon + 1);
            s = s.endsWith("::") ? s : s.substring(0, s.length() - 1);
            groups = 6;
        }
        int dc = s.indexOf("::");
        if (dc >= 0) {
            if (s.indexOf("::", dc + 1) >= 0) {
                return false;
            }
            int n = count(s.substring(0, dc)) + count(s.substring(dc + 2));
            return n >= 0 && n <= groups - 2;
        }
        return count(s) == groups;
    }

    /** Groups of 1-4 hex digits separated by single colons; 0 for ""; -1 when malformed. */
    private static int count(String s) {
        if (s.isEmpty()) {
            return 0;
        }
        String[] parts = s.split(":", -1);
        for (String p : parts) {
            if (!HEX16.matcher(p).matches()) {
                return -1;
            }
        }
        return parts.length;
    }

    /**
     * The {@code SIZE=} parameter of MAIL's arguments (RFC 1870: 1 to 20 digits), in bytes;
     * {@link Long#MAX_VALUE} for a number too large for a long (it exceeds any limit). Empty when
     * there is none, or it is not a number.
     */
    public static java.util.OptionalLong declaredSize(String mailArguments) {
        int close = mailArguments.indexOf('>');
        java.util.regex.Matcher m = SIZE_PARAMETER.matcher(close < 0 ? mailArguments : mailArguments.substring(close + 1));
        if (!m.find()) {
            return java.util.OptionalLong.empty();
        }
        String v = m.group(1);
        if (v.isEmpty() || v.length() > 20 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return java.util.OptionalLong.empty();
        }
        try {
            return java.util.OptionalLong.of(Long.parseLong(v));
        } catch (NumberFormatException tooLarge) {
            return java.util.OptionalLong.of(Long.MAX_VALUE);
        }
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
