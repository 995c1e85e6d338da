package dev.returnpath.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * A smarthost that requires AUTH XOAUTH2, as Microsoft 365 and Gmail do: implicit TLS (the
 * certificate of {@code /tls/localhost.p12}), {@code AUTH LOGIN XOAUTH2} offered, MAIL refused
 * before AUTH. It decodes the initial response ({@code user=U^Aauth=Bearer T^A^A}) and accepts it
 * when the user is {@code user} and {@code tokens} says the token is good. A bad token gets
 * Gmail's answer (a 334 with a base64 JSON error, then 535 after the client's empty line) or,
 * with {@code microsoftStyle}, Exchange Online's ({@code 535 5.7.3}). Each accepted message
 * ends the connection when {@code closeAfterMessage}.
 */
public final class XOAuth2Upstream implements AutoCloseable {
    public record Message(String reversePath, List<String> forwardPaths, String token, String data) {}

    private final RawSmtpServer server;
    private final String user;
    private final Predicate<String> tokens;
    public volatile boolean microsoftStyle;
    public volatile boolean closeAfterMessage;
    /** What the 535 after a refused token says. */
    public volatile String refusal = "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
            + "535 5.7.8  https://support.google.com/mail/?p=BadCredentials";
    public final List<Message> received = new CopyOnWriteArrayList<>();
    /** Every AUTH line and the line after a 334, decoded where base64 ("" for the empty line). */
    public final List<String> authLines = new CopyOnWriteArrayList<>();
    /** Every bearer token presented, good or not. */
    public final List<String> presented = new CopyOnWriteArrayList<>();

    public XOAuth2Upstream(String user, Predicate<String> tokens) throws IOException {
        this.user = user;
        this.tokens = tokens;
        this.server = RawSmtpServer.implicitTlsTalking("/tls/localhost.p12", this::talk);
    }

    public int port() {
        return server.port();
    }

    private void talk(Socket s) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream();
        say(out, "220 oauth.test ESMTP");
        String token = null;
        String from = null;
        List<String> to = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null) {
            String upper = line.toUpperCase(java.util.Locale.ROOT);
            if (upper.startsWith("EHLO")) {
                say(out, "250-oauth.test\r\n250-8BITMIME\r\n250 AUTH LOGIN XOAUTH2");
            } else if (upper.startsWith("AUTH XOAUTH2 ")) {
                String decoded = new String(Base64.getDecoder().decode(line.substring(13).strip()), StandardCharsets.UTF_8);
                authLines.add(decoded);
                String t = bearer(decoded);
                presented.add(t == null ? "" : t);
                if (t != null && decoded.startsWith("user=" + user + "\u0001") && tokens.test(t)) {
                    token = t;
                    say(out, "235 2.7.0 Authentication successful");
                } else if (microsoftStyle) {
                    say(out, "535 5.7.3 Authentication unsuccessful [SN4PR0601CA0001.namprd06.prod.outlook.com]");
                } else {
                    String json = "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}";
                    say(out, "334 " + Base64.getEncoder().encodeToString(json.getBytes(StandardCharsets.UTF_8)));
                    String empty = in.readLine();
                    authLines.add(empty == null ? "(eof)" : empty);
                    say(out, empty != null && empty.isEmpty() ? refusal : "501 5.5.2 expected an empty line");
                }
            } else if (upper.startsWith("AUTH")) {
                say(out, "504 5.7.4 Unrecognized authentication type");
            } else if (upper.startsWith("MAIL")) {
                if (token == null) {
                    say(out, "530 5.7.57 Client not authenticated to send mail");
                } else {
                    from = line.substring(line.indexOf('<') + 1, line.indexOf('>'));
                    to.clear();
                    say(out, "250 2.1.0 Sender OK");
                }
            } else if (upper.startsWith("RCPT")) {
                to.add(line.substring(line.indexOf('<') + 1, line.indexOf('>')));
                say(out, "250 2.1.5 Recipient OK");
            } else if (upper.equals("DATA")) {
                say(out, "354 Start mail input; end with <CRLF>.<CRLF>");
                StringBuilder data = new StringBuilder();
                String l;
                while ((l = in.readLine()) != null && !l.equals(".")) {
                    data.append(l).append("\r\n");
                }
                received.add(new Message(from, List.copyOf(to), token, data.toString()));
                say(out, "250 2.0.0 OK queued");
                if (closeAfterMessage) {
                    return;
                }
            } else if (upper.equals("QUIT")) {
                say(out, "221 2.0.0 bye");
                return;
            } else {
                say(out, "250 2.0.0 OK");
            }
        }
    }

    private static String bearer(String decoded) {
        for (String part : decoded.split("\u0001")) {
            if (part.startsWith("auth=Bearer ")) {
                return part.substring("auth=Bearer ".length());
            }
        }
        return null;
    }

    private static void say(OutputStream out, String reply) throws IOException {
        out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
