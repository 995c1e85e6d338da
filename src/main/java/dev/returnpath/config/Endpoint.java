package dev.returnpath.config;

import com.google.common.net.InetAddresses;
import dev.returnpath.message.Addresses;

import java.util.Locale;
import java.util.Objects;

/**
 * A host and a port, parsed once from what an operator writes: {@code host}, {@code host:port},
 * {@code [v6]:port}, {@code [v6]} or a bare IPv6 address. Brackets are syntax, not part of the
 * host: {@link #host()} is never bracketed, so it can go straight to
 * {@code InetAddress.getByName} or a TLS host-name check. {@link #toString()} puts them back
 * around an IPv6 address ({@code [::1]:53}), the form logs and {@code host:port} keys use.
 *
 * <p>A bare IPv6 address takes the default port: {@code ::1:53} is the address {@code ::1:53},
 * not {@code ::1} port 53 (the same reading as dnsjava's and Postfix's); write {@code [::1]:53}.
 * A name in brackets ({@code [smtp.example.net]}, Postfix's "no MX lookup" spelling) is accepted
 * and unbracketed too.
 *
 * @param host a host name or an IP address literal, without brackets
 * @param port 0 to 65535 (0: any free port, for a listener)
 */
public record Endpoint(String host, int port) {

    public Endpoint {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty() || host.startsWith("[")) {
            throw new IllegalArgumentException("host must be a bare name or address, got \"" + host + "\"");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0-65535, got " + port);
        }
    }

    /**
     * {@code text} as {@code host[:port]} ({@code defaultPort} when it has none). The message of
     * the {@link IllegalArgumentException} quotes {@code text} and says what is wrong with it; the
     * caller adds file, line and key.
     */
    public static Endpoint parse(String text, int defaultPort) {
        String t = text.strip();
        String host = t;
        String port = null;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("\"" + text + "\": unclosed [");
            }
            host = t.substring(1, close);
            String rest = t.substring(close + 1);
            if (rest.startsWith(":")) {
                port = rest.substring(1);
            } else if (!rest.isEmpty()) {
                throw new IllegalArgumentException("\"" + text + "\" is not host or host:port");
            }
        } else if (t.indexOf(':') >= 0 && t.indexOf(':') == t.lastIndexOf(':')) {
            host = t.substring(0, t.indexOf(':'));
            port = t.substring(t.indexOf(':') + 1);
        }
        checkHost(text, host);
        if (port == null) {
            return new Endpoint(host, defaultPort);
        }
        if (!port.matches("\\d{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("\"" + text + "\": port must be 1-65535");
        }
        return new Endpoint(host, Integer.parseInt(port));
    }

    /**
     * {@code text} as a host alone ({@code host}, {@code [v6]} or a bare IPv6 address), for keys
     * whose port is a key of its own ({@code listen.host}, {@code delivery.smarthost.host}).
     * {@code portKey} names that key in the message when {@code text} carries a port.
     */
    public static String parseHost(String text, String portKey) {
        String t = text.strip();
        String host = t.startsWith("[") && t.endsWith("]") ? t.substring(1, t.length() - 1) : t;
        if (t.startsWith("[") && !t.endsWith("]") || !t.startsWith("[") && isHostColonPort(t)) {
            Endpoint e;
            try {
                e = parse(t, 0);
            } catch (IllegalArgumentException notEvenThat) {
                throw new IllegalArgumentException("\"" + text + "\" is neither a host name nor an IP address");
            }
            throw new IllegalArgumentException("\"" + text + "\" has a port: write host = \"" + e.host()
                    + "\" and " + portKey + " = " + e.port());
        }
        checkHost(text, host);
        return host;
    }

    private static boolean isHostColonPort(String t) {
        int colon = t.indexOf(':');
        return colon >= 0 && colon == t.lastIndexOf(':');
    }

    private static void checkHost(String text, String host) {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("\"" + text + "\": empty host");
        }
        // a literal is checked whole (Cidr.isIpLiteral would let 1.2.3.4:53:53 pass as IPv6)
        if (!InetAddresses.isInetAddress(host) && !Addresses.isValidDomain(host.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("\"" + text + "\" is neither a host name nor an IP address");
        }
    }

    /** True for an IPv6 literal, which {@link #toString()} brackets. */
    public boolean isIpv6() {
        return host.indexOf(':') >= 0;
    }

    /** {@code host:port}, with an IPv6 address in brackets: {@code [2001:db8::1]:25}. */
    @Override
    public String toString() {
        return (isIpv6() ? "[" + host + "]" : host) + ":" + port;
    }
}
