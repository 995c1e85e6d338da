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
    private final ExecutorService executor;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    /** Sessions between MAIL and the end of their transaction (the reply to DATA written). */
    private final Set<MessageContext> inTransaction = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;
    /**
     * A whole DATA's deadline ({@link DataDeadline}). DESIGN's {@code listen.limits.data-timeout}
     * (default 5m) is not a configuration key yet: until it is, this constant, which tests lower.
     */
    static final Duration DATA_TIMEOUT = Duration.ofMinutes(5);
    private volatile Duration dataTimeout = DATA_TIMEOUT;

    public Inbound(ConfigHolder configs, Receiver receiver, Clock clock) throws UnknownHostException {
        RelayConfig cfg = configs.get();
        RelayConfig.Listen listen = cfg.listen();
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        this.server = SMTPServer.port(listen.port())
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
                .messageHandlerFactory(ctx -> new RelayHandler(ctx, configs, receiver, clock, this))
                .build();
        // MAIL SIZE= above 2^31-1 made SubEtha's MAIL throw (421): judged first (MailSizeCheck)
        server.getCommandHandler().addCommand(new MailSizeCheck(server.getCommandHandler().getCommand("MAIL"),
                () -> configs.get().listen().maxMessageSize()));
        for (String verb : List.of("DATA", "BDAT")) {
            server.getCommandHandler().addCommand(DataDeadline.around(server.getCommandHandler().getCommand(verb),
                    () -> dataTimeout));
        }
    }

    /** For tests: a shorter whole-DATA deadline. */
    void dataTimeout(Duration timeout) {
        this.dataTimeout = timeout;
    }

    public void start() {
        server.start();
    }

    /** False once a shutdown began: /readyz turns 503 while the relay drains. */
    public boolean isRunning() {
        return !draining && server.isRunning();
    }

    public int port() {
        return server.getPortAllocated();
    }

    /** Stops at once: open sessions are cut (SubEtha's stop), without a grace period. */
    @Override
    public void close() {
        draining = true;
        server.stop(); // a no-op once stopped
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
        Thread stopper = Thread.ofPlatform().daemon().name("smtp-stop").start(server::stop);
        try {
            stopper.join(STOP_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
            if (!configs.get().listen().allows(client)) {
                org.slf4j.LoggerFactory.getLogger("returnpath.mail")
                        .warn("reject: connect from {}: client not in listen.allowed-networks", client.getHostAddress());
                return SessionAcceptance.failure(554, "5.7.1 " + client.getHostAddress()
                        + " is not allowed to relay through this server");
            }
            sessions.add(session);
            return SessionAcceptance.success();
        }

        @Override
        public void onSessionEnd(Session session) {
            sessions.remove(session);
            inTransaction.remove(session);
        }
    }
}
