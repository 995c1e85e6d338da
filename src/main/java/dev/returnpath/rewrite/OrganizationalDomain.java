package dev.returnpath.rewrite;

import com.google.common.net.InternetDomainName;

import java.net.IDN;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Organizational domains (RFC 7489 §3.2) from the Public Suffix List that Guava carries.
 * A name under a suffix the list does not know ({@code .internal}, {@code .test}) follows the
 * list's default rule {@code *}: its organizational domain is its last two labels.
 */
public final class OrganizationalDomain {
    /**
     * Answers already given: IDN conversions and a Public Suffix List walk cost more than the
     * rest of a rewrite decision, and a relay sees the same few domains all day. A memo of a pure
     * function (the list is compiled into Guava), so it changes no answer and is shared safely
     * between relays in one JVM; dropped whole when it grows past {@link #MEMO_LIMIT}.
     */
    private static final ConcurrentHashMap<String, String> MEMO = new ConcurrentHashMap<>();
    static final int MEMO_LIMIT = 10_000;

    private OrganizationalDomain() {}

    public static String of(String domain) {
        String known = MEMO.get(domain);
        if (known != null) {
            return known;
        }
        String answer = compute(domain);
        if (MEMO.size() >= MEMO_LIMIT) {
            MEMO.clear();
        }
        MEMO.put(domain, answer);
        return answer;
    }

    private static String compute(String domain) {
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
        if (!strict) {
            return of(a).equals(of(b)); // of() answers in A-labels, lower case, whatever came in
        }
        // A-labels on both sides: bücher.example and xn--bcher-kva.example are the same domain
        return toAscii(a.toLowerCase(Locale.ROOT)).equals(toAscii(b.toLowerCase(Locale.ROOT)));
    }
}
