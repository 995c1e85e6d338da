package dev.returnpath.rewrite;

import com.google.common.net.InternetDomainName;

import java.net.IDN;
import java.util.Locale;

/**
 * Organizational domains (RFC 7489 §3.2) from the Public Suffix List that Guava carries.
 * A name under a suffix the list does not know ({@code .internal}, {@code .test}) follows the
 * list's default rule {@code *}: its organizational domain is its last two labels.
 */
public final class OrganizationalDomain {
    private OrganizationalDomain() {}

    public static String of(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        // The list is written in U-labels; the answer is given in A-labels, whichever form came in,
        // so that mail.bücher.example and xn--bcher-kva.example compare equal.
        d = toAscii(d);
        String unicode;
        try {
            unicode = IDN.toUnicode(d, IDN.ALLOW_UNASSIGNED);
        } catch (IllegalArgumentException e) {
            unicode = d;
        }
        try {
            InternetDomainName name = InternetDomainName.from(unicode);
            if (name.isUnderPublicSuffix()) {
                return toAscii(name.topPrivateDomain().toString());
            }
            if (name.isPublicSuffix()) {
                return toAscii(name.toString());
            }
        } catch (IllegalArgumentException | IllegalStateException e) {
            // not a name Guava accepts: fall through to the default rule
        }
        String[] labels = d.split("\\.");
        if (labels.length <= 2) {
            return d;
        }
        return labels[labels.length - 2] + "." + labels[labels.length - 1];
    }

    private static String toAscii(String s) {
        try {
            return IDN.toASCII(s, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return s.toLowerCase(Locale.ROOT);
        }
    }

    /** DMARC identifier alignment between two domains (RFC 7489 §3.1.1 and §3.1.2). */
    public static boolean aligned(String a, String b, boolean strict) {
        // A-labels on both sides: bücher.example and xn--bcher-kva.example are the same domain
        String x = toAscii(a.toLowerCase(Locale.ROOT));
        String y = toAscii(b.toLowerCase(Locale.ROOT));
        return strict ? x.equals(y) : of(x).equals(of(y));
    }
}
