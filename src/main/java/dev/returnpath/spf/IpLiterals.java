package dev.returnpath.spf;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * IP address text as SPF writes it, parsed strictly and without DNS, and the address forms the
 * macros need.
 *
 * <p>{@code ip4-network} is four decimal octets without leading zeros (RFC 7208 §5.6, and
 * §4.6.1's ABNF {@code dec-octet}); {@code ip6-network} is RFC 4291 §2.2 text, kept as 16 bytes
 * even when it is IPv4-mapped, because an {@code ip6:} term never matches an IPv4 client
 * (§5.6: "the "ip4" mechanism... IPv4-mapped IPv6 addresses MUST still be considered IPv4").
 * {@link InetAddress#getByName} is not used: it would resolve a name that is not an address.
 */
final class IpLiterals {
    private IpLiterals() {}

    /** Four dec-octets, or empty. */
    static Optional<byte[]> parseIp4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return Optional.empty();
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return Optional.empty();
            }
            int v = 0;
            for (int j = 0; j < p.length(); j++) {
                char c = p.charAt(j);
                if (c < '0' || c > '9') {
                    return Optional.empty();
                }
                v = v * 10 + (c - '0');
            }
            if (v > 255) {
                return Optional.empty();
            }
            bytes[i] = (byte) v;
        }
        return Optional.of(bytes);
    }

    /** RFC 4291 §2.2 text (hex groups, at most one "::", optional trailing dotted quad) as 16 bytes. */
    static Optional<byte[]> parseIp6(String text) {
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return Optional.empty();
        }
        String head = gap >= 0 ? text.substring(0, gap) : text;
        String tail = gap >= 0 ? text.substring(gap + 2) : "";
        List<Integer> front = groups(head, gap < 0);
        List<Integer> back = groups(tail, true);
        if (front == null || back == null) {
            return Optional.empty();
        }
        int total = front.size() + back.size();
        if (gap < 0 ? total != 8 : total > 7) {
            return Optional.empty();
        }
        int[] full = new int[8];
        for (int i = 0; i < front.size(); i++) {
            full[i] = front.get(i);
        }
        for (int i = 0; i < back.size(); i++) {
            full[8 - back.size() + i] = back.get(i);
        }
        byte[] bytes = new byte[16];
        for (int i = 0; i < 8; i++) {
            bytes[2 * i] = (byte) (full[i] >> 8);
            bytes[2 * i + 1] = (byte) full[i];
        }
        return Optional.of(bytes);
    }

    /** Colon-separated 16-bit groups; the last may be a dotted quad. Null when malformed. */
    private static List<Integer> groups(String text, boolean dottedQuadAllowed) {
        List<Integer> out = new ArrayList<>();
        if (text.isEmpty()) {
            return out;
        }
        String[] pieces = text.split(":", -1);
        for (int i = 0; i < pieces.length; i++) {
            String piece = pieces[i];
            if (i == pieces.length - 1 && dottedQuadAllowed && piece.indexOf('.') >= 0) {
                Optional<byte[]> v4 = parseIp4(piece);
                if (v4.isEmpty()) {
                    return null;
                }
                byte[] b = v4.get();
                out.add(((b[0] & 0xff) << 8) | (b[1] & 0xff));
                out.add(((b[2] & 0xff) << 8) | (b[3] & 0xff));
                continue;
            }
            if (piece.isEmpty() || piece.length() > 4) {
                return null;
            }
            int v = 0;
            for (int j = 0; j < piece.length(); j++) {
                int d = Character.digit(piece.charAt(j), 16);
                if (d < 0) {
                    return null;
                }
                v = (v << 4) | d;
            }
            out.add(v);
        }
        return out;
    }

    /**
     * The address SPF evaluates: 4 bytes for IPv4 and for IPv4-mapped IPv6 ({@code ::ffff:a.b.c.d},
     * RFC 7208 §5: "IPv4-mapped IPv6 addresses MUST still be considered IPv4"), 16 bytes otherwise.
     */
    static byte[] canonical(InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length == 16 && isMapped(b)) {
            byte[] v4 = new byte[4];
            System.arraycopy(b, 12, v4, 0, 4);
            return v4;
        }
        return b;
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
    }

    /** True when the first {@code prefix} bits of {@code a} and {@code b} (same length) agree. */
    static boolean sameNetwork(byte[] a, byte[] b, int prefix) {
        if (a.length != b.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        int bits = prefix % 8;
        if (bits == 0) {
            return true;
        }
        int mask = (0xff << (8 - bits)) & 0xff;
        return (a[full] & mask) == (b[full] & mask);
    }

    /** The readable form: dotted quad, or RFC 5952 text for IPv6 ({@code %{c}}, §7.3). */
    static String readable(byte[] b) {
        if (b.length == 4) {
            return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        // RFC 5952 §4.2: compress the longest run (first if tied) of two or more zero groups
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLength - 1;
                continue;
            }
            if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                s.append(':');
            }
            s.append(Integer.toHexString(g[i]));
        }
        return s.toString();
    }

    /**
     * {@code %{i}} (§7.3): the dotted quad for IPv4, and for IPv6 the 32 nibbles separated by dots.
     * The nibbles are upper case, as the RFC 7208 test suite (v-macro-ip6) and pyspf expect; DNS
     * compares names case-insensitively, so only explanation text can tell.
     */
    static String dotted(byte[] b) {
        if (b.length == 4) {
            return readable(b);
        }
        StringBuilder s = new StringBuilder(63);
        for (byte x : b) {
            if (s.length() > 0) {
                s.append('.');
            }
            s.append(Character.toUpperCase(Character.forDigit((x >> 4) & 0xf, 16)))
                    .append('.')
                    .append(Character.toUpperCase(Character.forDigit(x & 0xf, 16)));
        }
        return s.toString();
    }

    /** The reverse-mapping name for a PTR lookup: in-addr.arpa or ip6.arpa (§5.5). */
    static String reverseName(byte[] b) {
        StringBuilder s = new StringBuilder(73);
        for (int i = b.length - 1; i >= 0; i--) {
            if (b.length == 4) {
                s.append(b[i] & 0xff).append('.');
            } else {
                s.append(Character.forDigit(b[i] & 0xf, 16)).append('.')
                        .append(Character.forDigit((b[i] >> 4) & 0xf, 16)).append('.');
            }
        }
        return s.append(b.length == 4 ? "in-addr.arpa" : "ip6.arpa").toString();
    }

    /** The SPF mechanism that authorizes exactly this address: {@code ip4:a.b.c.d} or {@code ip6:...}. */
    static String mechanismFor(InetAddress address) {
        byte[] b = canonical(address);
        return (b.length == 4 ? "ip4:" : "ip6:") + readable(b);
    }

    static InetAddress toInetAddress(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

}
