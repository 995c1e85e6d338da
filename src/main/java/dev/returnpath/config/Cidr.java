package dev.returnpath.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 network in CIDR notation. An IPv4-mapped IPv6 client ({@code ::ffff:a.b.c.d})
 * is matched as the IPv4 address it carries, because a dual-stack socket reports IPv4 clients
 * that way.
 */
public record Cidr(byte[] network, int prefixLength, String text) {

    public static Cidr parse(String text) {
        String s = text.trim();
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (!isIpLiteral(addr)) {
            throw new IllegalArgumentException("not an IP network: \"" + text + "\"");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(addr).getAddress(); // literal only: no DNS query
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP network: \"" + text + "\"");
        }
        int max = bytes.length * 8;
        int prefix = max;
        if (slash >= 0) {
            String p = s.substring(slash + 1);
            if (!p.matches("\\d{1,3}")) {
                throw new IllegalArgumentException("bad prefix length in \"" + text + "\"");
            }
            prefix = Integer.parseInt(p);
            if (prefix > max) {
                throw new IllegalArgumentException("prefix length " + prefix + " is over " + max + " in \"" + text + "\"");
            }
        }
        return new Cidr(mask(bytes, prefix), prefix, s);
    }

    /** True for an IPv4 dotted quad or an IPv6 literal, so that parsing never resolves a name. */
    public static boolean isIpLiteral(String s) {
        if (s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            for (String part : s.split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    return false;
                }
            }
            return true;
        }
        return s.contains(":") && s.matches("[0-9A-Fa-f:.]+");
    }

    public boolean contains(InetAddress address) {
        byte[] a = unmap(address.getAddress());
        if (a.length != network.length) {
            return false;
        }
        byte[] masked = mask(a, prefixLength);
        return java.util.Arrays.equals(masked, network);
    }

    private static byte[] unmap(byte[] a) {
        if (a.length == 16) {
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= a[i] == 0;
            }
            mapped &= (a[10] & 0xff) == 0xff && (a[11] & 0xff) == 0xff;
            if (mapped) {
                return java.util.Arrays.copyOfRange(a, 12, 16);
            }
        }
        return a;
    }

    private static byte[] mask(byte[] bytes, int prefix) {
        byte[] out = bytes.clone();
        for (int i = 0; i < out.length; i++) {
            int bits = Math.max(0, Math.min(8, prefix - i * 8));
            out[i] = (byte) (out[i] & (bits == 0 ? 0 : (0xff << (8 - bits)) & 0xff));
        }
        return out;
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefixLength == prefixLength && java.util.Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(network) * 31 + prefixLength;
    }
}
