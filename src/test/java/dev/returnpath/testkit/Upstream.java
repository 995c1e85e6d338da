package dev.returnpath.testkit;

import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * A real SMTP server on loopback (SubEthaSMTP) playing the smarthost. It records every
 * accepted message (envelope and exact bytes) and can be told how to answer: per recipient,
 * at DATA, by stalling, or by dropping the connection in the middle of DATA.
 */
public final class Upstream implements AutoCloseable {

    public record Received(String reversePath, List<String> forwardPaths, byte[] data) {
        public String text() {
            return new String(data, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** How the upstream answers RCPT: null = accept, else a reply like "550 5.1.1 no such user". */
    public volatile Function<String, String> rcptReply = r -> null;
    /** null = accept, else a reply such as "451 4.7.0 try later". */
    public volatile String dataReply = null;
    public volatile String mailReply = null;
    public volatile long stallMillisAtData = 0;
    public volatile boolean dropMidData = false;

    public final List<Received> received = new CopyOnWriteArrayList<>();
    /** Every RCPT TO address offered, accepted or not, in order. */
    public final List<String> rcptAttempts = new CopyOnWriteArrayList<>();
    /** For each accepted message: whether the session had started TLS, and the client's HELO name. */
    public final List<Boolean> tlsUsed = new CopyOnWriteArrayList<>();
    public final List<String> helos = new CopyOnWriteArrayList<>();
    /** For each accepted message: the client's address and port, so one connection per distinct value. */
    public final List<String> clients = new CopyOnWriteArrayList<>();
    /** For each accepted message: the user its session authenticated as ("" for none). */
    public final List<String> users = new CopyOnWriteArrayList<>();
    private final SMTPServer server;

    public Upstream() {
        this(null, false, null, null);
    }

    /** A plain upstream on {@code bind:port} (port 0: any), e.g. an MX host on 127.0.0.2 for direct delivery. */
    public Upstream(InetAddress bind, int port) {
        this(bind, port, null, false, null, null);
    }

    /**
     * @param keystore  a PKCS12 file on the test classpath (e.g. "/tls/localhost.p12") to offer
     *                  STARTTLS with, or null for none
     * @param requireTls answer 530 until STARTTLS
     * @param user      AUTH PLAIN/LOGIN user (with {@code password}), or null for no AUTH
     */
    public Upstream(String keystore, boolean requireTls, String user, String password) {
        this(InetAddress.getLoopbackAddress(), 0, keystore, requireTls, user, password);
    }

    public Upstream(InetAddress bind, int port, String keystore, boolean requireTls, String user, String password) {
        this(bind, port, keystore == null ? null : sslContext(keystore), requireTls, user, password, false);
    }

    /**
     * A smarthost on loopback with TLS from {@code tls} (e.g. a {@link TestPki} certificate
     * through {@code ServerCredentials}) that requires STARTTLS and then AUTH as {@code user}
     * with {@code password} before MAIL ({@code 530} otherwise), as a provider's submission
     * port does.
     */
    public Upstream(javax.net.ssl.SSLContext tls, String user, String password) {
        this(InetAddress.getLoopbackAddress(), 0, tls, true, user, password, true);
    }

    private Upstream(InetAddress bind, int port, javax.net.ssl.SSLContext tls, boolean requireTls, String user,
                     String password, boolean requireAuth) {
        SMTPServer.Builder b = SMTPServer.port(port)
                .bindAddress(bind)
                .hostName("upstream.test")
                .softwareName("upstream")
                .insertReceivedHeaders(false)
                .executorService(Executors.newVirtualThreadPerTaskExecutor())
                .messageHandlerFactory(Handler::new);
        if (tls != null) {
            b.startTlsSocketFactory(tls).enableTLS();
            if (requireTls) {
                b.requireTLS();
            }
        }
        if (user != null) {
            b.authenticationHandlerFactory(new org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory(
                    (u, p, ctx) -> {
                        if (!u.equals(user) || !p.equals(password)) {
                            throw new org.subethamail.smtp.auth.LoginFailedException("535 5.7.8 bad credentials");
                        }
                        authenticated.add(u);
                    }));
            if (requireAuth) {
                b.requireAuth();
            }
        }
        server = b.build();
        server.start();
    }

    /** Users that authenticated successfully, in order. */
    public final List<String> authenticated = new CopyOnWriteArrayList<>();

    static javax.net.ssl.SSLContext sslContext(String keystore) {
        try (InputStream in = Upstream.class.getResourceAsStream(keystore)) {
            java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
            ks.load(in, "changeit".toCharArray());
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "changeit".toCharArray());
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException("cannot load " + keystore, e);
        }
    }

    public int port() {
        return server.getPortAllocated();
    }

    @Override
    public void close() {
        server.stop();
    }

    private static RejectException reject(String reply) {
        int code = Integer.parseInt(reply.substring(0, 3));
        return new RejectException(code, reply.substring(4));
    }

    private final class Handler implements MessageHandler {
        private final MessageContext ctx;
        private String from;
        private final List<String> to = new ArrayList<>();

        Handler(MessageContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void from(String f) throws RejectException {
            if (mailReply != null) {
                throw reject(mailReply);
            }
            from = f;
        }

        @Override
        public void recipient(String r) throws RejectException {
            rcptAttempts.add(r);
            String reply = rcptReply.apply(r);
            if (reply != null) {
                throw reject(reply);
            }
            to.add(r);
        }

        @Override
        public String data(InputStream in) throws RejectException, IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            if (dropMidData) {
                in.read(new byte[10]);
                ((Session) ctx).closeSocket();
                throw new IOException("dropped on purpose");
            }
            in.transferTo(b);
            if (stallMillisAtData > 0) {
                try {
                    Thread.sleep(stallMillisAtData);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (dataReply != null) {
                throw reject(dataReply);
            }
            tlsUsed.add(((Session) ctx).isTLSStarted());
            helos.add(ctx.getHelo().orElse(""));
            clients.add(String.valueOf(ctx.getRemoteAddress()));
            users.add(ctx.getAuthenticationHandler().map(h -> String.valueOf(h.getIdentity())).orElse(""));
            received.add(new Received(from, List.copyOf(to), b.toByteArray()));
            return "2.0.0 Ok: queued as UP" + received.size();
        }

        @Override
        public void done() {
        }
    }
}
