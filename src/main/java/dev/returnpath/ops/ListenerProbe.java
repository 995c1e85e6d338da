package dev.returnpath.ops;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * One SMTP session with the relay's own listener, as a client would open it: connect, a 220
 * greeting that names the relay's host name (so that another server on the same port is not
 * taken for it), EHLO answered 250, QUIT. It sends no mail, so nothing is logged or relayed.
 * {@code /readyz} and the {@code healthcheck} command use it to mean "the listener answers SMTP",
 * not only "a port is open".
 *
 * <p>A wildcard listen address is probed on loopback ({@code 0.0.0.0} as {@code 127.0.0.1},
 * {@code ::} as {@code ::1}), which {@code listen.allowed-networks} admits by default. A 554 greeting
 * (the probe's address is not in allowed-networks) still counts as answered: the listener is up,
 * and the reply says why this client is refused.
 */
public final class ListenerProbe {
    private final String host;
    private final int port;
    private final String hostname;
    private final Duration timeout;

    /** What one session found. */
    public sealed interface Result permits Answered, Failed {
        String text();
    }

    /** The listener answered; {@code text} is what it said. */
    public record Answered(String text) implements Result {}

    /** It did not, or something else did; {@code text} says what happened. */
    public record Failed(String text) implements Result {}

    /**
     * @param listenHost the configured {@code listen.host} (a wildcard is probed on loopback)
     * @param hostname   the relay's {@code hostname}, which its greeting must name; null: any name
     */
    public ListenerProbe(String listenHost, int port, String hostname, Duration timeout) {
        this.host = connectHost(listenHost);
        this.port = port;
        this.hostname = hostname;
        this.timeout = timeout;
    }

    /** The address a client on this machine reaches {@code listenHost} at. */
    public static String connectHost(String listenHost) {
        String h = listenHost.startsWith("[") && listenHost.endsWith("]")
                ? listenHost.substring(1, listenHost.length() - 1) : listenHost;
        return switch (h) {
            case "0.0.0.0", "" -> "127.0.0.1";
            case "::", "::0", "0:0:0:0:0:0:0:0" -> "::1";
            default -> h;
        };
    }

    /** {@code host:port} as the result texts name it. */
    public String target() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /** Opens one session now. Never throws: a failure is a {@link Failed}. */
    public Result session() {
        int ms = (int) Math.max(1, timeout.toMillis());
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), ms);
            s.setSoTimeout(ms);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            String greeting = reply(in);
            if (greeting == null) {
                return new Failed(target() + " closed the connection without a greeting");
            }
            if (greeting.startsWith("554")) {
                quit(out);
                return new Answered(target() + " answered but refuses this client: " + greeting);
            }
            if (!greeting.startsWith("220")) {
                return new Failed(target() + " greeted with \"" + greeting + "\"");
            }
            String name = greeting.length() > 4 ? greeting.substring(4).split(" ", 2)[0] : "";
            if (hostname != null && !name.toLowerCase(Locale.ROOT).equals(hostname.toLowerCase(Locale.ROOT))) {
                quit(out);
                return new Failed(target() + " is not this relay: its greeting \"" + greeting + "\" does not name "
                        + hostname);
            }
            out.write(("EHLO " + (hostname == null ? "localhost" : hostname) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String ehlo = reply(in);
            if (ehlo == null || !ehlo.startsWith("250")) {
                return new Failed(target() + " answered EHLO with \"" + (ehlo == null ? "nothing" : ehlo) + "\"");
            }
            quit(out);
            return new Answered(target() + " answered: " + greeting);
        } catch (SocketTimeoutException e) {
            return new Failed(target() + ": no answer within " + ms + " ms");
        } catch (IOException e) {
            return new Failed(target() + ": " + e.getMessage());
        }
    }

    /** A whole reply, multi-line ones ("250-...") included; its first line, or null at EOF. */
    private static String reply(BufferedReader in) throws IOException {
        String first = null;
        String line;
        while ((line = in.readLine()) != null) {
            if (first == null) {
                first = line.strip();
            }
            if (line.length() < 4 || line.charAt(3) != '-') {
                return first;
            }
        }
        return first;
    }

    private static void quit(OutputStream out) {
        try {
            out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException ignored) {
            // the session is over either way
        }
    }
}
