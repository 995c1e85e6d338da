package dev.returnpath.inbound;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The SMTP listener: SubEthaSMTP on {@code listen.host:port}, one virtual thread per
 * connection, clients outside {@code listen.allowed-networks} refused with 554 5.7.1 before the
 * greeting, and SubEtha's own Received header (with its blocking reverse lookup) turned off.
 */
public final class Inbound implements AutoCloseable {
    private final SMTPServer server;
    private final ExecutorService executor;
    private final AtomicInteger open = new AtomicInteger();

    public Inbound(ConfigHolder configs, Relay relay, Clock clock) throws UnknownHostException {
        RelayConfig cfg = configs.get();
        RelayConfig.Listen listen = cfg.listen();
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        String bind = listen.host().startsWith("[") ? listen.host().substring(1, listen.host().length() - 1) : listen.host();
        this.server = SMTPServer.port(listen.port())
                .bindAddress(InetAddress.getByName(bind))
                .hostName(cfg.hostname())
                .softwareName("returnpath")
                .insertReceivedHeaders(false)
                .maxConnections(listen.maxConnections())
                // SubEtha counts accepted RCPTs and answers 452 past this; the handler checks too
                .maxRecipients(listen.maxRecipients())
                // advertised as SIZE and compared with MAIL SIZE=; DATA itself is counted by us
                .maxMessageSize((int) Math.min(Integer.MAX_VALUE, listen.maxMessageSize()))
                .connectionTimeout((int) Math.min(Integer.MAX_VALUE, listen.idleTimeout().toMillis()), TimeUnit.MILLISECONDS)
                .executorService(executor)
                .sessionHandler(new AccessCheck(configs))
                .messageHandlerFactory(ctx -> new RelayHandler(ctx, configs, relay, clock))
                .build();
    }

    public void start() {
        server.start();
    }

    public boolean isRunning() {
        return server.isRunning();
    }

    public int port() {
        return server.getPortAllocated();
    }

    /** Stops accepting, and waits for the sessions in flight (their upstream I/O has timeouts). */
    @Override
    public void close() {
        server.stop();
    }

    /** allowed-networks, read from the configuration in force when the client connects. */
    private static final class AccessCheck implements SessionHandler {
        private final ConfigHolder configs;

        AccessCheck(ConfigHolder configs) {
            this.configs = configs;
        }

        @Override
        public SessionAcceptance accept(Session session) {
            InetAddress client = session.getRemoteAddress().getAddress();
            if (!configs.get().listen().allows(client)) {
                org.slf4j.LoggerFactory.getLogger("returnpath.mail")
                        .warn("reject: connect from {}: client not in listen.allowed-networks", client.getHostAddress());
                return SessionAcceptance.failure(554, "5.7.1 " + client.getHostAddress()
                        + " is not allowed to relay through this server");
            }
            return SessionAcceptance.success();
        }

        @Override
        public void onSessionEnd(Session session) {
        }
    }
}
