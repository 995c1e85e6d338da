package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig.DirectTls;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.message.Addresses;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Direct delivery's SMTP client as it was before the engine (a connection per message, no
 * bound on a reply's length), kept in the tests only for {@link DeliveryCpuBench}.
 */
final class MxSessionBaseline {

    /** Settings shared by every session of a delivery. */
    record Settings(String helo, int port, DirectTls tls, Duration connectTimeout, Duration commandTimeout,
                    SSLSocketFactory verified) {}

    /**
     * Per-recipient outcomes, in the order given. {@code tryNext} is true when the failure was
     * the session's, not the recipients' (no connection, a 4xx or 5xx greeting, a 4xx to EHLO or
     * MAIL, TLS required and not possible): the deferred ones, or all, may go to the next host.
     */
    record Result(List<RecipientOutcome> outcomes, boolean tryNext, boolean tlsFailed) {}

    private final Settings settings;
    private final String mxName;
    private final InetAddress address;
    private final String relay;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private final Set<String> extensions = new HashSet<>();
    /** System.nanoTime() by which the write in progress must be done; 0 when none is. */
    private volatile long writeDeadline;
    private volatile boolean closed;
    private Thread watchdog;
    private final List<String> lastLines = new ArrayList<>();

    MxSessionBaseline(Settings settings, String mxName, InetAddress address) {
        this.settings = settings;
        this.mxName = mxName;
        this.address = address;
        this.relay = mxName + "[" + address.getHostAddress() + "]:" + settings.port();
    }

    String relay() {
        return relay;
    }

    /** Delivers {@code message} to {@code recipients}; never throws for an SMTP or network problem. */
    Result deliver(String reversePath, List<String> recipients, OutboundMessage message, boolean useTls) {
        try {
            return session(reversePath, recipients, message, useTls);
        } catch (TlsException e) {
            return all(recipients, Status.DEFERRED, Reply.of(451, "4.7.5", "TLS with " + relay + " failed: " + e.getMessage()),
                    false, true, true);
        } catch (SocketTimeoutException e) {
            return all(recipients, Status.DEFERRED, Reply.of(451, "4.4.2", "timeout talking to " + relay), false, true, false);
        } catch (IOException e) {
            String what = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            boolean connected = socket != null && socket.isConnected();
            return all(recipients, Status.DEFERRED, connected
                    ? Reply.of(451, "4.4.2", "lost connection with " + relay + ": " + what)
                    : Reply.of(451, "4.4.1", "connect to " + relay + " failed: " + what), false, true, false);
        } finally {
            close();
        }
    }

    private Result session(String reversePath, List<String> recipients, OutboundMessage message, boolean useTls)
            throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress(address, settings.port()), (int) settings.connectTimeout().toMillis());
        socket.setSoTimeout((int) settings.commandTimeout().toMillis());
        streams();

        Reply greeting = read();
        if (!greeting.isPositive()) {
            // Postfix's smtp_skip_5xx_greeting: a server that will not talk is skipped
            return all(recipients, greeting.isPermanent() ? Status.BOUNCED : Status.DEFERRED, greeting, true, true, false);
        }
        Reply ehlo = hello();
        if (!ehlo.isPositive()) {
            return all(recipients, Status.DEFERRED, ehlo, true, true, false);
        }

        boolean offered = extensions.contains("STARTTLS");
        if (settings.tls() == DirectTls.REQUIRED && !offered) {
            return all(recipients, Status.DEFERRED, Reply.of(451, "4.7.4",
                    "TLS is required (delivery.direct.tls = required), but " + relay + " does not offer STARTTLS"),
                    false, true, false);
        }
        if (useTls && settings.tls() != DirectTls.NONE && offered) {
            Reply r = command("STARTTLS");
            if (r.code() == 220) {
                startTls();
                ehlo = hello();
                if (!ehlo.isPositive()) {
                    return all(recipients, Status.DEFERRED, ehlo, true, true, false);
                }
            } else if (settings.tls() == DirectTls.REQUIRED) {
                return all(recipients, Status.DEFERRED, Reply.of(451, "4.7.4",
                        "TLS is required, but " + relay + " answered STARTTLS with: " + r), true, true, false);
            }
        }

        boolean utf8 = Addresses.needsUtf8(reversePath) || recipients.stream().anyMatch(Addresses::needsUtf8);
        boolean smtputf8 = extensions.contains("SMTPUTF8");
        if (Addresses.needsUtf8(reversePath) && !smtputf8) {
            return all(recipients, Status.BOUNCED, Reply.of(550, "5.6.7",
                    relay + " does not support SMTPUTF8, needed for the sender " + reversePath), true, false, false);
        }
        StringBuilder mail = new StringBuilder("MAIL FROM:<").append(reversePath).append('>');
        if (extensions.contains("8BITMIME")) {
            mail.append(" BODY=8BITMIME");
        }
        if (extensions.contains("SIZE")) {
            mail.append(" SIZE=").append(message.size());
        }
        if (utf8 && smtputf8) {
            mail.append(" SMTPUTF8");
        }
        Reply mailReply = command(mail.toString());
        if (!mailReply.isPositive()) {
            // 4xx: this server, now; 5xx: the sender is refused, by any of them
            return all(recipients, mailReply.isPermanent() ? Status.BOUNCED : Status.DEFERRED, mailReply, true,
                    !mailReply.isPermanent(), false);
        }

        List<RecipientOutcome> outcomes = new ArrayList<>();
        List<Integer> accepted = new ArrayList<>();
        for (int i = 0; i < recipients.size(); i++) {
            String rcpt = recipients.get(i);
            if (Addresses.needsUtf8(rcpt) && !smtputf8) {
                outcomes.add(new RecipientOutcome(rcpt, Status.BOUNCED, Reply.of(550, "5.6.7",
                        relay + " does not support SMTPUTF8, needed for this recipient"), false, relay));
                continue;
            }
            Reply r = command("RCPT TO:<" + rcpt + ">");
            if (r.isPositive()) {
                accepted.add(i);
                outcomes.add(null); // decided by DATA
            } else {
                outcomes.add(new RecipientOutcome(rcpt, r.isPermanent() ? Status.BOUNCED : Status.DEFERRED, r, true, relay));
            }
        }
        if (accepted.isEmpty()) {
            quit("RSET");
            return new Result(outcomes, false, false);
        }
        Reply data = command("DATA");
        if (data.code() != 354) {
            setAll(outcomes, accepted, recipients, data);
            return new Result(outcomes, false, false);
        }
        writeMessage(message);
        Reply done = read();
        setAll(outcomes, accepted, recipients, done);
        quit("QUIT");
        return new Result(outcomes, false, false);
    }

    private void setAll(List<RecipientOutcome> outcomes, List<Integer> idx, List<String> recipients, Reply r) {
        Status s = r.isPositive() ? Status.SENT : r.isPermanent() ? Status.BOUNCED : Status.DEFERRED;
        for (int i : idx) {
            outcomes.set(i, new RecipientOutcome(recipients.get(i), s, r, true, relay));
        }
    }

    private Result all(List<String> recipients, Status status, Reply reply, boolean said, boolean tryNext,
                       boolean tlsFailed) {
        List<RecipientOutcome> out = new ArrayList<>();
        for (String r : recipients) {
            out.add(new RecipientOutcome(r, status, reply, said, relay));
        }
        return new Result(out, tryNext, tlsFailed);
    }

    // ---------------------------------------------------------------- protocol

    private Reply hello() throws IOException {
        extensions.clear();
        Reply r = command("EHLO " + settings.helo());
        if (r.isPositive()) {
            // RFC 5321 §4.1.1.1: the first line names the server, each further one an extension
            for (String line : lastLines.subList(1, lastLines.size())) {
                if (line.length() > 4) {
                    extensions.add(line.substring(4).trim().split(" ")[0].toUpperCase(Locale.ROOT));
                }
            }
            return r;
        }
        // RFC 5321 §4.1.4: a server that does not know EHLO gets HELO, and no extensions
        if (r.code() >= 500 && r.code() <= 504) {
            return command("HELO " + settings.helo());
        }
        return r;
    }

    private Reply command(String line) throws IOException {
        write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        return read();
    }

    private void quit(String command) {
        try {
            write((command + "\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.setSoTimeout(2_000); // the reply is a courtesy: the verdict is in
            read();
        } catch (IOException | RuntimeException ignored) {
            // the message's fate is decided already
        }
    }

    /** One reply, multi-line included; its lines stay in {@code lastLines}. */
    private Reply read() throws IOException {
        StringBuilder all = new StringBuilder();
        lastLines.clear();
        int code;
        while (true) {
            String line = readLine();
            if (line.length() < 3 || !line.substring(0, 3).chars().allMatch(Character::isDigit)) {
                throw new IOException("not an SMTP reply: " + Reply.oneLine(line));
            }
            code = Integer.parseInt(line.substring(0, 3));
            lastLines.add(line);
            all.append(line).append('\n');
            if (line.length() == 3 || line.charAt(3) != '-') {
                break;
            }
        }
        return Reply.parse(code, all.toString());
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                break;
            }
            if (c != '\r' && b.size() < 4096) {
                b.write(c);
            }
        }
        if (c == -1) {
            throw new IOException("connection closed by " + relay);
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    /** The message, dot-stuffed, line ends made CRLF, ending with CRLF . CRLF. */
    private void writeMessage(OutboundMessage message) throws IOException {
        OutputStream stuffed = new DotStuffing(new ChunkedDeadline(out));
        message.writeTo(stuffed);
        stuffed.flush();
        ((DotStuffing) stuffed).finish();
        out.flush();
    }

    private void write(byte[] bytes) throws IOException {
        arm();
        try {
            out.write(bytes);
            out.flush();
        } finally {
            writeDeadline = 0;
        }
    }

    /**
     * A blocked write has no timeout of its own: a write that does not finish within
     * command-timeout has its socket closed by the watchdog, and then fails.
     */
    private void arm() {
        writeDeadline = System.nanoTime() + settings.commandTimeout().toNanos();
        if (watchdog == null) {
            watchdog = Thread.ofVirtual().name("mx-write-watchdog").start(() -> {
                while (!closed) {
                    long d = writeDeadline;
                    if (d != 0 && System.nanoTime() - d > 0) {
                        closeSocket();
                        return;
                    }
                    try {
                        Thread.sleep(WATCHDOG_TICK_MS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }
    }

    static final long WATCHDOG_TICK_MS = 200;

    private void streams() throws IOException {
        in = new BufferedInputStream(socket.getInputStream(), 8192);
        out = new java.io.BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
    }

    private void startTls() throws IOException {
        SSLSocketFactory factory = settings.tls() == DirectTls.REQUIRED ? settings.verified() : TRUST_ANY;
        SSLSocket tls;
        try {
            tls = (SSLSocket) factory.createSocket(socket, mxName, settings.port(), true);
            SSLParameters p = tls.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            if (settings.tls() == DirectTls.REQUIRED) {
                // RFC 7672 leaves DANE aside; without it, the certificate must name the MX host
                p.setEndpointIdentificationAlgorithm("HTTPS");
            }
            if (!mxName.isEmpty() && !Character.isDigit(mxName.charAt(mxName.length() - 1))) {
                p.setServerNames(List.of(new SNIHostName(mxName)));
            }
            tls.setSSLParameters(p);
            tls.setSoTimeout((int) settings.commandTimeout().toMillis());
            tls.startHandshake();
        } catch (IOException | IllegalArgumentException e) {
            throw new TlsException(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        socket = tls;
        streams();
    }

    private void close() {
        closed = true;
        closeSocket();
        if (watchdog != null) {
            watchdog.interrupt();
        }
    }

    private void closeSocket() {
        Socket s = socket;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // done with it
            }
        }
    }

    private static final class TlsException extends IOException {
        TlsException(String message) {
            super(message);
        }
    }

    /**
     * Opportunistic TLS, as MTAs do without DANE or MTA-STS (RFC 7435): encrypt, but accept any
     * certificate, since the alternative is plain text.
     */
    static final SSLSocketFactory TRUST_ANY;

    static {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            TRUST_ANY = ctx.getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Arms the write watchdog around each chunk of the message. */
    private final class ChunkedDeadline extends OutputStream {
        private final OutputStream target;

        ChunkedDeadline(OutputStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            arm();
            try {
                target.write(b, off, len);
            } finally {
                writeDeadline = 0;
            }
        }

        @Override
        public void flush() throws IOException {
            arm();
            try {
                target.flush();
            } finally {
                writeDeadline = 0;
            }
        }
    }

    /**
     * RFC 5321 §4.5.2 transparency: a dot at the start of a line is doubled. A bare CR or LF is
     * written as CRLF (what Angus does too), so the end of data can only be the one we write.
     */
    static final class DotStuffing extends OutputStream {
        private final OutputStream out;
        private final byte[] buf = new byte[64 * 1024 + 2];
        private int len;
        private boolean lineStart = true;
        private boolean pendingCr;

        DotStuffing(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            if (pendingCr) {
                pendingCr = false;
                crlf();
                if (b == '\n') {
                    return;
                }
            }
            if (b == '\r') {
                pendingCr = true;
                return;
            }
            if (b == '\n') {
                crlf();
                return;
            }
            if (lineStart && b == '.') {
                put('.');
            }
            put(b);
            lineStart = false;
        }

        @Override
        public void write(byte[] b, int off, int n) throws IOException {
            for (int i = off; i < off + n; i++) {
                write(b[i] & 0xff);
            }
        }

        private void crlf() throws IOException {
            put('\r');
            put('\n');
            lineStart = true;
        }

        private void put(int b) throws IOException {
            if (len >= buf.length - 1) {
                out.write(buf, 0, len);
                len = 0;
            }
            buf[len++] = (byte) b;
        }

        @Override
        public void flush() throws IOException {
            out.write(buf, 0, len);
            len = 0;
            out.flush();
        }

        /** Ends the data: a final CRLF if the message lacks one, then the dot line. */
        void finish() throws IOException {
            if (pendingCr) {
                pendingCr = false;
                crlf();
            }
            if (!lineStart) {
                crlf();
            }
            put('.');
            put('\r');
            put('\n');
            flush();
        }
    }

    static Runnable sender(dev.returnpath.config.RelayConfig config, int port, Envelope envelope, OutboundMessage message) {
        Settings settings = new Settings(config.hostname(), port, DirectTls.NONE, config.delivery().connectTimeout(),
                config.delivery().commandTimeout(), (SSLSocketFactory) SSLSocketFactory.getDefault());
        InetAddress loopback = InetAddress.getLoopbackAddress();
        return () -> {
            Result r = new MxSessionBaseline(settings, "127.0.0.1", loopback)
                    .deliver(envelope.reversePath(), envelope.forwardPaths(), message, false);
            if (r.outcomes().stream().anyMatch(o -> o.status() != Status.SENT)) {
                throw new IllegalStateException("mxsession: not sent: " + r.outcomes());
            }
        };
    }
}
