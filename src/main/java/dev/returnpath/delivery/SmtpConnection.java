package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig.SmarthostAuth;
import dev.returnpath.oauth.TokenException;
import dev.returnpath.oauth.TokenSource;
import dev.returnpath.ops.Json;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One SMTP connection to one server (RFC 5321 §3, §4.1), the engine's only wire code: connect,
 * implicit TLS or STARTTLS (RFC 3207), EHLO (HELO when EHLO is refused), AUTH PLAIN or LOGIN
 * (RFC 4954) or XOAUTH2 with a token from the smarthost's {@link TokenSource}, then any number of mail transactions, each pipelined (RFC 2920: MAIL, every RCPT
 * and DATA in one write, the replies read in order) when the server offers PIPELINING, in
 * lockstep otherwise.
 *
 * <p>Bounds: connect has {@code connect-timeout}; every reply is read by {@link ReplyReader}
 * (lines, bytes, and the whole reply within {@code command-timeout}); every write has the same
 * timeout, enforced by the engine's {@link SmtpClient.Watchdog}, which closes the socket of a
 * write that does not finish. The message is written dot-stuffed with CRLF line ends
 * ({@link DotStuffing}).
 *
 * <p>Failures before a transaction are thrown as {@link Refused} with the reply to record,
 * from {@link Failure} when the relay writes it; a transaction's I/O failure is an
 * {@link IOException} that {@link #failure} turns into its reply. Not thread-safe: one user
 * at a time (the pool hands it out).
 */
final class SmtpConnection implements AutoCloseable {

    enum TlsMode {
        /** Plain text, even if STARTTLS is offered. */
        NONE,
        /** STARTTLS when offered, any certificate (MX hosts, RFC 7435). */
        OPPORTUNISTIC,
        /** STARTTLS or nothing, the certificate verified against {@link Dial#host}. */
        STARTTLS,
        /** TLS from the first byte (port 465, RFC 8314), verified. */
        IMPLICIT
    }

    /**
     * Credentials for AUTH: a password for PLAIN or LOGIN ({@code mechanism} AUTO picks the
     * strongest offered), or, for XOAUTH2, the token source of the smarthost.
     * {@link #toString} never shows the password.
     */
    record Login(String username, String password, SmarthostAuth mechanism, Optional<TokenSource> tokens) {
        Login(String username, String password) {
            this(username, password, SmarthostAuth.AUTO, Optional.empty());
        }

        @Override
        public String toString() {
            return "Login[" + username + ", " + mechanism + "]";
        }
    }

    /**
     * Where one connection goes and how it talks. {@code host} is the name TLS verifies and
     * SNI sends; {@code where} names the server in the texts of {@link Failure};
     * {@code relay} in log lines ({@code host[ip]:port}). {@code mx} chooses MX wording for a
     * missing STARTTLS.
     */
    record Dial(String host, InetAddress address, int port, String where, String relay, TlsMode tls,
                SSLSocketFactory verified, Optional<Login> login, boolean mx) {}

    /** The session could not reach a transaction. */
    static final class Refused extends Exception {
        final Reply reply;
        final boolean upstreamSaid;
        final boolean tlsFailed;

        Refused(Reply reply, boolean upstreamSaid, boolean tlsFailed) {
            super(reply.toString(), null, false, false);
            this.reply = reply;
            this.upstreamSaid = upstreamSaid;
            this.tlsFailed = tlsFailed;
        }
    }

    /**
     * What the server said in one transaction: {@code mail}; each recipient's RCPT reply
     * (null when not sent because MAIL failed); {@code data}, the final reply after the dot, or
     * DATA's own when it was refused (null when DATA was not reached).
     */
    record Exchange(Reply mail, List<Reply> rcpts, Reply data) {}

    final Dial dial;
    private final Duration commandTimeout;
    private final String helo;
    private final SmtpClient.Watchdog watchdog;
    private Socket socket;
    private ReplyReader in;
    private OutputStream out;
    private final Map<String, String> extensions = new HashMap<>();
    private boolean tls;
    /** The last transaction did not reach its final reply: RSET before the next. */
    private boolean dirty;
    /** Replies read in the transaction in progress (a pooled connection found dead before its first is retried). */
    private int replies;
    private boolean inData;
    /** System.nanoTime() by which the write in progress must be done; 0 when none is. */
    volatile long writeDeadline;
    /** The watchdog closed the socket: the I/O failure that follows is a timeout. */
    private volatile boolean expired;
    long idleSince;
    private String lastEhlo = "";

    private SmtpConnection(Dial dial, String helo, Duration commandTimeout, SmtpClient.Watchdog watchdog) {
        this.dial = dial;
        this.helo = helo;
        this.commandTimeout = commandTimeout;
        this.watchdog = watchdog;
    }

    /**
     * Connects and makes the session ready for mail: greeting, EHLO, TLS per {@code dial.tls}
     * ({@code useTls} false skips opportunistic STARTTLS: the retry in plain text after a
     * failed handshake), AUTH when there is a login.
     */
    static SmtpConnection open(Dial dial, String helo, Duration connectTimeout, Duration commandTimeout,
                               SmtpClient.Watchdog watchdog, boolean useTls) throws Refused {
        SmtpConnection c = new SmtpConnection(dial, helo, commandTimeout, watchdog);
        try {
            c.connect(connectTimeout);
            c.handshake(useTls);
            return c;
        } catch (Refused r) {
            c.close();
            throw r;
        } catch (IOException e) {
            Reply r = c.failure(e);
            c.close();
            throw new Refused(r, false, false);
        } catch (RuntimeException | Error e) {
            c.close(); // a TLS or JDK failure that is not an IOException must not leak the socket either
            throw e;
        }
    }

    private void connect(Duration connectTimeout) throws IOException, Refused {
        Socket s = new Socket();
        socket = s;
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(dial.address(), dial.port()), (int) Math.max(1, connectTimeout.toMillis()));
        } catch (SocketTimeoutException e) {
            throw new Refused(Failure.TIMEOUT.reply(dial.where(), "connect timed out"), false, false);
        } catch (IOException e) {
            throw new Refused(Failure.CONNECT.reply(dial.where(), what(e)), false, false);
        }
        watchdog.register(this);
        streams();
        if (dial.tls() == TlsMode.IMPLICIT) {
            startTls(dial.verified(), true);
        }
    }

    private void handshake(boolean useTls) throws IOException, Refused {
        Reply greeting = read();
        if (!greeting.isPositive()) {
            throw new Refused(greeting, true, false);
        }
        hello();
        if (dial.tls() == TlsMode.STARTTLS || dial.tls() == TlsMode.OPPORTUNISTIC && useTls) {
            boolean required = dial.tls() == TlsMode.STARTTLS;
            if (!extensions.containsKey("STARTTLS")) {
                if (required) {
                    throw new Refused(dial.mx()
                            ? Failure.NO_STARTTLS.reply(dial.where(), "does not offer STARTTLS")
                            : Failure.TLS.reply(dial.where(), "the server does not offer STARTTLS (delivery.smarthost.tls = starttls)"),
                            false, false);
                }
            } else {
                Reply go = command("STARTTLS");
                if (go.code() == 220) {
                    startTls(required ? dial.verified() : Tls.TRUST_ANY, required);
                    hello();
                } else if (required) {
                    throw new Refused(dial.mx()
                            ? Failure.NO_STARTTLS.reply(dial.where(), "answered STARTTLS with: " + go)
                            : Failure.TLS.reply(dial.where(), "STARTTLS refused: " + go), true, false);
                }
            }
        }
        if (dial.login().isPresent()) {
            authenticate(dial.login().get());
        }
    }

    private void hello() throws IOException, Refused {
        extensions.clear();
        ReplyReader.Raw r = exchange("EHLO " + helo);
        if (r.code() == 250) {
            lastEhlo = r.reply().text();
            // RFC 5321 §4.1.1.1: the first line names the server, each further one an extension
            for (String line : r.lines().subList(1, r.lines().size())) {
                String l = line.strip();
                int sp = l.indexOf(' ');
                int eq = l.indexOf('=');
                int cut = sp < 0 ? eq : eq < 0 ? sp : Math.min(sp, eq); // "AUTH=LOGIN" is an old spelling
                String keyword = (cut < 0 ? l : l.substring(0, cut)).toUpperCase(Locale.ROOT);
                extensions.merge(keyword, cut < 0 ? "" : l.substring(cut + 1).strip(), (a, b) -> a + " " + b);
            }
            return;
        }
        // RFC 5321 §4.1.4: a server that does not know EHLO gets HELO, and no extensions
        if (r.code() >= 500 && r.code() <= 504) {
            Reply h = command("HELO " + helo);
            if (h.isPositive()) {
                return;
            }
            throw new Refused(h, true, false);
        }
        throw new Refused(r.reply(), true, false);
    }

    private void authenticate(Login login) throws IOException, Refused {
        List<String> mechanisms = List.of(extensions.getOrDefault("AUTH", "").toUpperCase(Locale.ROOT).split("\\s+"));
        if (login.mechanism() == SmarthostAuth.XOAUTH2) {
            xoauth2(login, mechanisms);
            return;
        }
        boolean plain = mechanisms.contains("PLAIN") && login.mechanism() != SmarthostAuth.LOGIN;
        boolean loginMech = mechanisms.contains("LOGIN") && login.mechanism() != SmarthostAuth.PLAIN;
        Reply r;
        if (plain) {
            // RFC 4616: authzid NUL authcid NUL passwd, sent as the initial response
            byte[] bytes = ("\0" + login.username() + "\0" + login.password()).getBytes(StandardCharsets.UTF_8);
            r = command("AUTH PLAIN " + Base64.getEncoder().encodeToString(bytes));
        } else if (loginMech) {
            r = command("AUTH LOGIN");
            if (r.code() == 334) {
                r = command(Base64.getEncoder().encodeToString(login.username().getBytes(StandardCharsets.UTF_8)));
            }
            if (r.code() == 334) {
                r = command(Base64.getEncoder().encodeToString(login.password().getBytes(StandardCharsets.UTF_8)));
            }
        } else {
            throw new Refused(Failure.AUTH.reply(dial.where(), !extensions.containsKey("AUTH")
                    ? "it offers no AUTH" + (tls ? "" : " without TLS")
                    : switch (login.mechanism()) {
                        case PLAIN -> "it does not offer AUTH PLAIN (delivery.smarthost.auth = plain)";
                        case LOGIN -> "it does not offer AUTH LOGIN (delivery.smarthost.auth = login)";
                        default -> "it offers neither AUTH PLAIN nor AUTH LOGIN";
                    }), false, false);
        }
        if (r.code() != 235) {
            // the reply is the server's: never the credentials
            throw new Refused(Failure.AUTH.reply(dial.where(), r.toString()), false, false);
        }
    }

    /**
     * SASL XOAUTH2 as Google and Microsoft define it: the initial response
     * {@code base64("user=" U ^A "auth=Bearer " T ^A ^A)}. A refused token gets a 334 whose
     * text is a base64 JSON error ({@code {"status":"401",...}}); the client answers it with an
     * empty line and reads the final 535 (or 454). A token the server calls expired or invalid
     * (or a 535 to a cached token) is dropped and one new one tried, on the same connection (RFC 4954 §4: AUTH may be
     * issued again after a failure). No token: {@link Failure#TOKEN}, a 4xx naming the token
     * endpoint and its OAuth error. The token never reaches a log line or a reply.
     */
    private void xoauth2(Login login, List<String> mechanisms) throws IOException, Refused {
        if (!mechanisms.contains("XOAUTH2")) {
            throw new Refused(Failure.AUTH.reply(dial.where(), !extensions.containsKey("AUTH")
                    ? "it offers no AUTH" + (tls ? "" : " without TLS")
                    : "it does not offer AUTH XOAUTH2 (delivery.smarthost.auth = xoauth2)"), false, false);
        }
        TokenSource tokens = login.tokens().orElseThrow();
        for (int attempt = 0; ; attempt++) {
            TokenSource.Token token;
            int fetchesBefore = tokens.fetches();
            try {
                token = tokens.token();
            } catch (TokenException e) {
                throw new Refused(Failure.TOKEN.reply(dial.where(), e.getMessage()), false, false);
            }
            byte[] ir = ("user=" + login.username() + "\u0001auth=Bearer " + token.value() + "\u0001\u0001")
                    .getBytes(StandardCharsets.UTF_8);
            Reply r = command("AUTH XOAUTH2 " + Base64.getEncoder().encodeToString(ir));
            String status = "";
            if (r.code() == 334) {
                status = challengeStatus(r.text());
                r = command(""); // the empty response that ends the exchange: the server's verdict follows
            }
            if (r.code() == 235) {
                return;
            }
            // Gmail says 401 in the challenge; Exchange Online only "535 5.7.3 Authentication
            // unsuccessful", so a 535 to a token from the cache (fetched before this AUTH) is
            // tried once more with a new one: it may have been revoked or expired early
            boolean cached = tokens.fetches() == fetchesBefore;
            boolean stale = status.equals("401") || r.code() == 535 && cached
                    || r.text().toLowerCase(Locale.ROOT).matches(".*(expired|invalid[^a-z]*token|token[^a-z]*invalid).*");
            if (attempt == 0 && stale && !r.isPositive() && tokens.rejected(token)) {
                continue;
            }
            if (!cached) {
                tokens.refusedWhenFresh(token); // the next connections do not fetch a new one for a minute
            }
            throw new Refused(Failure.AUTH.reply(dial.where(), r + (status.isEmpty() ? "" : " (XOAUTH2 status " + status + ")")),
                    false, false);
        }
    }

    /** The {@code status} of a 334 XOAUTH2 error challenge (a base64 JSON object), or empty. */
    static String challengeStatus(String challenge) {
        try {
            String json = new String(Base64.getDecoder().decode(challenge.strip()), StandardCharsets.UTF_8);
            if (json.length() <= 4096 && Json.parse(json) instanceof Map<?, ?> m && m.get("status") instanceof String st
                    && st.matches("[0-9]{3}")) {
                return st;
            }
        } catch (IllegalArgumentException e) {
            // not base64 JSON: no status to act on
        }
        return "";
    }

    boolean offers(String extension) {
        return extensions.containsKey(extension);
    }

    /** The text of the server's EHLO reply (for the doctor). */
    String ehloText() {
        return lastEhlo;
    }

    boolean tlsActive() {
        return tls;
    }

    // ---------------------------------------------------------------- transactions

    /**
     * One mail transaction; recipients must be sendable (the caller leaves out non-ASCII ones
     * that need an SMTPUTF8 the server lacks). Throws on an I/O failure or a reply past its
     * bounds; the connection is then unusable.
     */
    Exchange send(String reversePath, List<String> rcpts, OutboundMessage message, boolean smtputf8) throws IOException {
        replies = 0;
        inData = false;
        StringBuilder mail = new StringBuilder(64 + reversePath.length()).append("MAIL FROM:<").append(reversePath).append('>');
        if (extensions.containsKey("8BITMIME")) {
            mail.append(" BODY=8BITMIME");
        }
        if (extensions.containsKey("SIZE")) {
            mail.append(" SIZE=").append(message.size());
        }
        if (smtputf8) {
            mail.append(" SMTPUTF8");
        }
        List<Reply> rcptReplies = new ArrayList<>(rcpts.size());
        if (extensions.containsKey("PIPELINING")) {
            ByteArrayOutputStream batch = new ByteArrayOutputStream(128 + 48 * rcpts.size());
            boolean reset = dirty;
            if (reset) {
                line(batch, "RSET");
            }
            line(batch, mail.toString());
            for (String r : rcpts) {
                line(batch, "RCPT TO:<" + r + ">");
            }
            line(batch, "DATA");
            write(batch.toByteArray());
            dirty = true;
            if (reset) {
                read(); // whatever it says, MAIL's own reply decides
            }
            Reply mailReply = read();
            int accepted = 0;
            for (int i = 0; i < rcpts.size(); i++) {
                Reply r = read();
                rcptReplies.add(r);
                if (r.isPositive()) {
                    accepted++;
                }
            }
            Reply data = read();
            if (data.code() != 354) {
                return new Exchange(mailReply, mailReply.isPositive() ? rcptReplies : nulls(rcpts.size()),
                        mailReply.isPositive() && accepted > 0 ? data : null);
            }
            if (!mailReply.isPositive() || accepted == 0) {
                // RFC 2920 §3.1: DATA accepted with no recipient: end it with an empty message
                write(".\r\n".getBytes(StandardCharsets.US_ASCII));
                read();
                return new Exchange(mailReply, mailReply.isPositive() ? rcptReplies : nulls(rcpts.size()), null);
            }
            return new Exchange(mailReply, rcptReplies, data(message));
        }
        if (dirty) {
            command("RSET");
        }
        dirty = true;
        Reply mailReply = command(mail.toString());
        if (!mailReply.isPositive()) {
            return new Exchange(mailReply, nulls(rcpts.size()), null);
        }
        int accepted = 0;
        for (String r : rcpts) {
            Reply reply = command("RCPT TO:<" + r + ">");
            rcptReplies.add(reply);
            if (reply.isPositive()) {
                accepted++;
            }
        }
        if (accepted == 0) {
            return new Exchange(mailReply, rcptReplies, null);
        }
        Reply data = command("DATA");
        if (data.code() != 354) {
            return new Exchange(mailReply, rcptReplies, data);
        }
        return new Exchange(mailReply, rcptReplies, data(message));
    }

    private byte[] stuffingBuffer;

    private Reply data(OutboundMessage message) throws IOException {
        inData = true;
        if (stuffingBuffer == null) {
            stuffingBuffer = new byte[DotStuffing.BUFFER]; // kept: a 64 KiB array per message was a quarter of the garbage
        }
        DotStuffing stuffed = new DotStuffing(new DeadlineOut(), stuffingBuffer);
        message.writeTo(stuffed);
        stuffed.finish();
        Reply done = read();
        inData = false;
        // RFC 5321 §4.1.1.4: the final reply ends the transaction, whatever it says; but some
        // servers (SubEthaSMTP) keep the sender after refusing the data: RSET after a refusal
        dirty = !done.isPositive();
        return done;
    }

    private static List<Reply> nulls(int n) {
        List<Reply> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            l.add(null);
        }
        return l;
    }

    /** Whether the first I/O failure came before any reply of the transaction in progress (a stale pooled connection). */
    boolean failedBeforeAnyReply() {
        return replies == 0;
    }

    /** NOOP: whether the connection still answers (for a pooled one idle a while). */
    boolean alive() {
        try {
            return command("NOOP").isPositive();
        } catch (IOException e) {
            return false;
        }
    }

    /** The reply the relay writes for an I/O failure of this connection. */
    Reply failure(IOException e) {
        if (e instanceof ReplyReader.TooLong t) {
            return Failure.REPLY_TOO_LONG.reply(dial.where(), t.getMessage());
        }
        if (e instanceof SocketTimeoutException || expired) {
            return Failure.TIMEOUT.reply(dial.where(), what(e));
        }
        if (e instanceof EOFException && inData) {
            return Failure.LOST.reply(dial.where(), "while sending the message");
        }
        return Failure.LOST.reply(dial.where(), what(e));
    }

    static String what(IOException e) {
        if (e instanceof UnknownHostException) {
            return "unknown host " + e.getMessage();
        }
        if (e instanceof ConnectException || e instanceof NoRouteToHostException) {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        return Reply.oneLine(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }

    // ---------------------------------------------------------------- wire

    private Reply command(String line) throws IOException {
        return exchange(line).reply();
    }

    private ReplyReader.Raw exchange(String line) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(line.length() + 2);
        line(b, line);
        write(b.toByteArray());
        ReplyReader.Raw r = in.read(commandTimeout.toNanos());
        replies++;
        return r;
    }

    private Reply read() throws IOException {
        ReplyReader.Raw r = in.read(commandTimeout.toNanos());
        replies++;
        return r.reply();
    }

    private static void line(ByteArrayOutputStream b, String line) {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        b.write(bytes, 0, bytes.length);
        b.write('\r');
        b.write('\n');
    }

    private void write(byte[] bytes) throws IOException {
        writeDeadline = System.nanoTime() + commandTimeout.toNanos();
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw timedOut(e);
        } finally {
            clearDeadline();
        }
    }

    private void clearDeadline() {
        writeDeadline = 0;
    }

    /** A write failed because the watchdog closed the socket: that is a timeout. */
    private IOException timedOut(IOException e) {
        return expired ? new SocketTimeoutException("write not done within the command timeout") : e;
    }

    /** Called by the watchdog for a write past its deadline. */
    void expire() {
        expired = true;
        closeSocket();
    }

    private void streams() throws IOException {
        in = new ReplyReader(socket);
        out = socket.getOutputStream();
    }

    private void startTls(SSLSocketFactory factory, boolean verify) throws Refused {
        SSLSocket s;
        try {
            s = (SSLSocket) factory.createSocket(socket, dial.host(), dial.port(), true);
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            if (verify) {
                // RFC 6125 host-name check, as HTTPS does (and Angus's checkserveridentity)
                p.setEndpointIdentificationAlgorithm("HTTPS");
            }
            String h = dial.host();
            if (!h.isEmpty() && !h.contains(":") && !Character.isDigit(h.charAt(h.length() - 1))) {
                p.setServerNames(List.of(new SNIHostName(h)));
            }
            s.setSSLParameters(p);
            s.setSoTimeout((int) commandTimeout.toMillis());
            writeDeadline = System.nanoTime() + commandTimeout.toNanos();
            try {
                s.startHandshake();
            } finally {
                clearDeadline();
            }
            socket = s;
            streams();
            tls = true;
        } catch (IOException | IllegalArgumentException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (expired || e instanceof SocketTimeoutException) {
                throw new Refused(Failure.TIMEOUT.reply(dial.where(), "TLS handshake: " + Reply.oneLine(why)), false, true);
            }
            throw new Refused(Failure.TLS.reply(dial.where(), Reply.oneLine(why)), false, true);
        }
    }

    /** QUIT without waiting for its reply (the verdicts are in), then close. */
    void quit() {
        try {
            if (socket != null && !socket.isClosed()) {
                write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            }
        } catch (IOException | RuntimeException ignored) {
            // closing anyway
        }
        close();
    }

    @Override
    public void close() {
        watchdog.unregister(this);
        closeSocket();
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

    /** The message's bytes, each chunk's write bounded by the command timeout. */
    private final class DeadlineOut extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            writeDeadline = System.nanoTime() + commandTimeout.toNanos();
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                throw timedOut(e);
            } finally {
                clearDeadline();
            }
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }
    }
}
