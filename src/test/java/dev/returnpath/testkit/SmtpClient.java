package dev.returnpath.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A raw SMTP client over a real socket, so that tests control every byte on the wire
 * (bare LFs, smuggling attempts, pipelining). Replies are returned whole, multi-line included.
 */
public final class SmtpClient implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    public SmtpClient(int port) throws IOException {
        this(InetAddress.getLoopbackAddress(), port);
    }

    public SmtpClient(InetAddress host, int port) throws IOException {
        socket = new Socket(host, port);
        socket.setSoTimeout(30_000);
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
        out = socket.getOutputStream();
    }

    public String greeting() throws IOException {
        return reply();
    }

    public String command(String line) throws IOException {
        send(line + "\r\n");
        return reply();
    }

    public void send(String raw) throws IOException {
        send(raw.getBytes(StandardCharsets.ISO_8859_1));
    }

    public void send(byte[] raw) throws IOException {
        out.write(raw);
        out.flush();
    }

    /** One reply: lines up to the one whose fourth character is a space. Null at end of stream. */
    public String reply() throws IOException {
        StringBuilder b = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            b.append(line);
            if (line.length() < 4 || line.charAt(3) != '-') {
                return b.toString();
            }
            b.append('\n');
        }
        return b.isEmpty() ? null : b.toString();
    }

    /**
     * A whole transaction: EHLO, MAIL, RCPTs, DATA with {@code data} sent as is (it must be
     * dot-stuffed and end with CRLF), then the final dot. Returns the reply to the final dot,
     * or the first reply that was not positive.
     */
    public String send(String from, java.util.List<String> to, byte[] data) throws IOException {
        String r = command("MAIL FROM:<" + from + ">");
        if (!r.startsWith("250")) {
            return r;
        }
        boolean any = false;
        String last = r;
        for (String t : to) {
            last = command("RCPT TO:<" + t + ">");
            any |= last.startsWith("250");
        }
        if (!any) {
            return last;
        }
        r = command("DATA");
        if (!r.startsWith("354")) {
            return r;
        }
        send(data);
        send(".\r\n");
        return reply();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
