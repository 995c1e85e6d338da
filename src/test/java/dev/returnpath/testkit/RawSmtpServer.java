package dev.returnpath.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small SMTP server written on a raw socket, for what a library server will not do: answer
 * fast enough to measure a client's CPU, show how the client's bytes arrived (each
 * {@code read()} is recorded, so a test can tell one pipelined write from lockstep), or
 * misbehave ({@link Conversation} gets the socket and does what it likes).
 *
 * <p>The default conversation is a sink: greeting, EHLO with {@code extensions}, 250 to MAIL,
 * RCPT, RSET and NOOP, 354 to DATA and 250 after the dot; QUIT closes.
 */
public final class RawSmtpServer implements AutoCloseable {

    /** What the server does with one accepted connection. */
    @FunctionalInterface
    public interface Conversation {
        void talk(Socket socket) throws Exception;
    }

    private final ServerSocket server;
    private final Thread acceptor;
    private final List<String> extensions;
    /** Every chunk one read() returned, in order, over all connections (a sink's only). */
    public final List<String> reads = new CopyOnWriteArrayList<>();
    /** Every command line received (a sink's only), in order. */
    public final List<String> commands = new CopyOnWriteArrayList<>();
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger messages = new AtomicInteger();
    /** A sink that closes each connection after its first message, without waiting for QUIT. */
    public volatile boolean closeAfterMessage;
    /** Reply to RCPT for an address, null = 250 (a sink's only). */
    public volatile java.util.function.Function<String, String> rcptReply = r -> null;

    /** A sink that offers {@code extensions} after EHLO (e.g. "PIPELINING", "8BITMIME"). */
    public static RawSmtpServer sink(String... extensions) throws IOException {
        return new RawSmtpServer(null, List.of(extensions));
    }

    /** A sink that speaks TLS from the first byte (port 465 style), with a certificate from {@code keystore}. */
    public static RawSmtpServer implicitTls(String keystore, String... extensions) throws IOException {
        return new RawSmtpServer(null, List.of(extensions),
                Upstream.sslContext(keystore).getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    }

    /** A server that speaks TLS from the first byte (certificate from {@code keystore}) and runs {@code conversation} for each connection. */
    public static RawSmtpServer implicitTlsTalking(String keystore, Conversation conversation) throws IOException {
        return new RawSmtpServer(conversation, List.of(),
                Upstream.sslContext(keystore).getServerSocketFactory().createServerSocket(0, 200, InetAddress.getLoopbackAddress()));
    }

    /** A server that runs {@code conversation} for each connection. */
    public static RawSmtpServer talking(Conversation conversation) throws IOException {
        return new RawSmtpServer(conversation, List.of());
    }

    private RawSmtpServer(Conversation conversation, List<String> extensions) throws IOException {
        this(conversation, extensions, new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    }

    private RawSmtpServer(Conversation conversation, List<String> extensions, ServerSocket server) {
        this.extensions = extensions;
        this.server = server;
        Conversation c = conversation != null ? conversation : this::sink;
        this.acceptor = Thread.ofPlatform().daemon().name("raw-smtp-accept").start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    Thread.ofPlatform().daemon().name("raw-smtp").start(() -> {
                        try (s) {
                            c.talk(s);
                        } catch (Exception ignored) {
                            // the client went away, or the test closed the server
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    public int port() {
        return server.getLocalPort();
    }

    private void sink(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        out.write("220 sink.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] buf = new byte[64 * 1024];
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        ByteArrayOutputStream replies = new ByteArrayOutputStream();
        boolean inData = false;
        int dataState = 0; // bytes of "\r\n.\r\n" matched, starting after the 354's CRLF
        int n;
        while ((n = in.read(buf)) > 0) {
            if (!inData || reads.size() < 10_000) {
                reads.add(new String(buf, 0, n, StandardCharsets.UTF_8));
            }
            for (int i = 0; i < n; i++) {
                byte b = buf[i];
                if (inData) {
                    // the end of data: CRLF . CRLF, the first CRLF being the 354's own line end
                    dataState = switch (dataState) {
                        case 0 -> b == '\r' ? 1 : 0;
                        case 1 -> b == '\n' ? 2 : b == '\r' ? 1 : 0;
                        case 2 -> b == '.' ? 3 : b == '\r' ? 1 : 0;
                        case 3 -> b == '\r' ? 4 : 0;
                        case 4 -> b == '\n' ? 5 : b == '\r' ? 1 : 0;
                        default -> 0;
                    };
                    if (dataState == 5) {
                        inData = false;
                        dataState = 0;
                        messages.incrementAndGet();
                        replies.write("250 2.0.0 Ok: queued\r\n".getBytes(StandardCharsets.US_ASCII));
                        if (closeAfterMessage) {
                            out.write(replies.toByteArray());
                            out.flush();
                            return;
                        }
                    }
                    continue;
                }
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                String cmd = line.toString(StandardCharsets.UTF_8).strip();
                line.reset();
                commands.add(cmd);
                String upper = cmd.toUpperCase(java.util.Locale.ROOT);
                String reply;
                if (upper.startsWith("EHLO")) {
                    StringBuilder r = new StringBuilder();
                    r.append(extensions.isEmpty() ? "250 sink.test\r\n" : "250-sink.test\r\n");
                    for (int k = 0; k < extensions.size(); k++) {
                        r.append(k == extensions.size() - 1 ? "250 " : "250-").append(extensions.get(k)).append("\r\n");
                    }
                    reply = r.toString();
                } else if (upper.startsWith("RCPT")) {
                    String addr = cmd.substring(cmd.indexOf('<') + 1, Math.max(cmd.indexOf('<') + 1, cmd.indexOf('>')));
                    String r = rcptReply.apply(addr);
                    reply = (r == null ? "250 2.1.5 Ok" : r) + "\r\n";
                } else if (upper.equals("DATA")) {
                    reply = "354 go on\r\n";
                    inData = true;
                    dataState = 2; // the CRLF of "DATA" starts the data; a lone "." ends it at once
                } else if (upper.equals("QUIT")) {
                    out.write(replies.toByteArray());
                    out.write("221 2.0.0 bye\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    return;
                } else {
                    reply = "250 2.0.0 Ok\r\n";
                }
                replies.write(reply.getBytes(StandardCharsets.US_ASCII));
            }
            // answer all that this read brought in one write, as a pipelining server may
            if (replies.size() > 0) {
                out.write(replies.toByteArray());
                out.flush();
                replies.reset();
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
    }
}
