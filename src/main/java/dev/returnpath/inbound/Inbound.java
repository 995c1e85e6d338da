package dev.returnpath.inbound;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.MessageContext;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The SMTP listener: SubEthaSMTP on {@code listen.host:port}, one virtual thread per
 * connection, clients outside {@code listen.allowed-networks} refused with 554 5.7.1 before the
 * greeting, and SubEtha's own Received header (with its blocking reverse lookup) turned off.
 *
 * <p>{@link #shutdown} is the graceful stop (SIGTERM): no new sessions or transactions, the
 * ones in flight get {@code shutdown.grace-period} to finish, then 421.
 */
public final class Inbound implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath");
    private static final String SHUTTING_DOWN = "4.3.2 Service shutting down, try again later";

    private final SMTPServer server;
    /** {@code listen.implicit-tls-port}'s server, or null. */
    private final SMTPServer implicitTlsServer;
    /** STARTTLS and the implicit-TLS port's sockets, or null without {@code listen.tls}. */
    private final ListenerTls tls;
    private final ListenerLimits limits;
    private final ExecutorService executor;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    /** Sessions between MAIL and the end of their transaction (the reply to DATA written). */
    private final Set<MessageContext> inTransaction = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;
    /** A test's override of {@code listen.limits.data-timeout}, or null. */
    private volatile Duration dataTimeout;

    public Inbound(ConfigHolder configs, Receiver receiver, Clock clock) throws UnknownHostException {
        RelayConfig cfg = configs.get();
        RelayConfig.Listen listen = cfg.listen();
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        this.limits = new ListenerLimits(configs);
        this.tls = listen.tls().map(t -> new ListenerTls(() -> configs.get().listen().tls(), t)).orElse(null);
        this.server = build(configs, receiver, clock, listen.port(), false);
        this.implicitTlsServer = tls != null && listen.implicitTlsPort() != 0
                ? build(configs, receiver, clock, listen.implicitTlsPort(), true) : null;
    }

    /**
     * One SubEtha server: {@code listen.port} (STARTTLS offered when {@code listen.tls} is set) or,
     * with {@code implicitTls}, {@code listen.implicit-tls-port} (TLS from the first byte, no STARTTLS).
     */
    private SMTPServer build(ConfigHolder configs, Receiver receiver, Clock clock, int port, boolean implicitTls)
            throws UnknownHostException {
        RelayConfig cfg = configs.get();
        RelayConfig.Listen listen = cfg.listen();
        SMTPServer.Builder b = SMTPServer.port(port)
                .bindAddress(InetAddress.getByName(listen.host())) // never bracketed: config parsed it
                .hostName(cfg.hostname())
                .softwareName("returnpath")
                .insertReceivedHeaders(false)
                .maxConnections(listen.maxConnections())
                // SubEtha's own limit answers "452 Error: too many recipients" without an enhanced
                // code: one more than ours, so that the handler's 452 4.5.3 always comes first
                .maxRecipients(listen.maxRecipients() + 1)
                // advertised as SIZE and compared with MAIL SIZE=; DATA itself is counted by us
                .maxMessageSize((int) Math.min(Integer.MAX_VALUE, listen.maxMessageSize()))
                .connectionTimeout((int) Math.min(Integer.MAX_VALUE, listen.idleTimeout().toMillis()), TimeUnit.MILLISECONDS)
                .executorService(executor)
                .sessionHandler(new AccessCheck(configs))
                .messageHandlerFactory(ctx -> new RelayHandler(ctx, configs, receiver, clock, this));
        if (tls != null) {
            // AUTH PLAIN/LOGIN, advertised and accepted only over TLS (Ehlo, ListenerAuth.authGate)
            b.authenticationHandlerFactory(new ListenerAuth(configs, limits));
        }
        if (implicitTls) {
            b.serverSocketFactory(tls.implicitServerSockets()).enableTLS(false);
        } else {
            // replies to a pipelined group in one write (CoalescedReplies)
            b.serverSocketFactory(CoalescedReplies.serverSockets());
        }
        if (!implicitTls && tls != null) {
            // our SSLSocketCreator: SubEtha's own (over an SSLContext) keeps the JDK's default protocols
            b.enableTLS().startTlsSocketFactory(tls);
        }
        SMTPServer built = b.build();
        // MAIL SIZE= above 2^31-1 made SubEtha's MAIL throw (421): judged first (MailSizeCheck)
        built.getCommandHandler().addCommand(ListenerAuth.mailGate(new MailSizeCheck(
                built.getCommandHandler().getCommand("MAIL"), () -> configs.get().listen().maxMessageSize()), configs, limits));
        built.getCommandHandler().addCommand(ListenerAuth.authGate(built.getCommandHandler().getCommand("AUTH"), limits));
        built.getCommandHandler().addCommand(new Ehlo(built.getCommandHandler().getCommand("EHLO")));
        for (String verb : List.of("DATA", "BDAT")) {
            // the reply to the message goes out at once, never held behind what was pipelined after it
            built.getCommandHandler().addCommand(CoalescedReplies.flushingAfter(DataDeadline.around(
                    built.getCommandHandler().getCommand(verb),
                    () -> dataTimeout != null ? dataTimeout : configs.get().listen().limits().dataTimeout())));
        }
        built.getCommandHandler().addCommand(CommandErrors.startTls(built.getCommandHandler().getCommand("STARTTLS")));
        // last, around every verb: a session cut at listen.limits.max-errors runs nothing it read ahead
        for (String verb : List.copyOf(built.getCommandHandler().getVerbs())) {
            built.getCommandHandler().addCommand(CommandErrors.gate(built.getCommandHandler().getCommand(verb)));
        }
        return built;
    }

    /** For tests: a shorter whole-DATA deadline. */
    void dataTimeout(Duration timeout) {
        this.dataTimeout = timeout;
    }

    public void start() {
        server.start();
        if (implicitTlsServer != null) {
            implicitTlsServer.start();
        }
    }

    /** False once a shutdown began: /readyz turns 503 while the relay drains. */
    public boolean isRunning() {
        return !draining && server.isRunning() && (implicitTlsServer == null || implicitTlsServer.isRunning());
    }

    public int port() {
        return server.getPortAllocated();
    }

    /** The implicit-TLS port, or 0 when there is none. */
    public int implicitTlsPort() {
        return implicitTlsServer == null ? 0 : implicitTlsServer.getPortAllocated();
    }

    /** Stops at once: open sessions are cut (SubEtha's stop), without a grace period. */
    @Override
    public void close() {
        draining = true;
        server.stop(); // a no-op once stopped
        limits.close();
        if (implicitTlsServer != null) {
            implicitTlsServer.stop();
        }
    }

    /**
     * The graceful stop. New connections and new transactions get {@code 421 4.3.2}; sessions
     * idle between transactions get it now; a transaction in flight may finish within
     * {@code grace} (its 250 or its rejection goes out), then its session gets 421 and is closed.
     * Whatever is still open when {@code grace} is over gets 421 and is closed: a passthrough
     * client then retries, a spooled message is already safe. Never waits much longer than
     * {@code grace}: SubEtha's own stop, which waits for handlers without a limit, runs on a
     * daemon thread that is given a few seconds.
     */
    public void shutdown(Duration grace) {
        draining = true;
        long deadline = System.nanoTime() + grace.toNanos();
        while (true) {
            for (Session s : List.copyOf(sessions)) {
                if (!inTransaction.contains(s)) {
                    sayGoodbye(s);
                }
            }
            if (sessions.isEmpty() || System.nanoTime() >= deadline) {
                break;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!sessions.isEmpty()) {
            log.warn("shutdown: {} session(s) still in a transaction after the grace period of {}: answered 421",
                    sessions.size(), grace);
            for (Session s : List.copyOf(sessions)) {
                sayGoodbye(s);
            }
        }
        Thread stopper = Thread.ofPlatform().daemon().name("smtp-stop").start(() -> {
            if (implicitTlsServer != null) {
                implicitTlsServer.stop();
            }
            server.stop();
        });
        try {
            stopper.join(STOP_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        limits.close();
    }

    /** How long SubEtha's stop may wait for handlers still running (their upstream I/O has deadlines). */
    static final Duration STOP_WAIT = Duration.ofSeconds(3);

    private void sayGoodbye(Session s) {
        if (!sessions.remove(s)) {
            return;
        }
        try {
            s.sendResponse("421 " + SHUTTING_DOWN);
        } catch (IOException | RuntimeException ignored) {
            // the client is gone already
        }
        s.quit();
    }

    boolean draining() {
        return draining;
    }

    /** Called by the handler: MAIL was accepted, a transaction runs. Refused once draining. */
    void transactionStarted(MessageContext ctx) throws DropConnectionException {
        if (draining) {
            throw new DropConnectionException(421, SHUTTING_DOWN);
        }
        inTransaction.add(ctx);
    }

    /** Called by the handler's {@code done()}: the reply to DATA (or RSET) has been written. */
    void transactionEnded(MessageContext ctx) {
        inTransaction.remove(ctx);
    }

    /** allowed-networks, read from the configuration in force when the client connects. */
    private final class AccessCheck implements SessionHandler {
        private final ConfigHolder configs;

        AccessCheck(ConfigHolder configs) {
            this.configs = configs;
        }

        @Override
        public SessionAcceptance accept(Session session) {
            if (draining) {
                return SessionAcceptance.failure(421, SHUTTING_DOWN);
            }
            InetAddress client = session.getRemoteAddress().getAddress();
            if (!configs.get().listen().admits(client)) {
                org.slf4j.LoggerFactory.getLogger("returnpath.mail")
                        .warn("reject: connect from {}: client not in listen.allowed-networks", client.getHostAddress());
                return SessionAcceptance.failure(554, "5.7.1 " + client.getHostAddress()
                        + " is not allowed to relay through this server");
            }
            try {
                CommandErrors.watch(session, () -> configs.get().listen().limits().maxErrors());
            } catch (IOException e) {
                return SessionAcceptance.failure(421, "4.4.2 Connection lost"); // the client left already
            }
            if (!limits.connect(session)) {
                return SessionAcceptance.failure(421, "4.7.0 Too many connections from " + client.getHostAddress()
                        + ", try again later");
            }
            sessions.add(session);
            return SessionAcceptance.success();
        }

        @Override
        public void onSessionEnd(Session session) {
            limits.disconnect(session);
            sessions.remove(session);
            inTransaction.remove(session);
        }
    }
}
