package dev.returnpath.inbound;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig.ListenLimits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code listen.limits}, held against one client: connections at once per client IP
 * ({@code 421 4.7.0} at connect), messages per minute per user or, without AUTH, per client IP
 * ({@code 451 4.7.1} to MAIL), failed AUTHs per client IP per 10 minutes (then {@code 421 4.7.0}
 * and the connection closed, and every AUTH from that IP answered so until the window has
 * passed), and the whole-session deadline ({@code 421 4.4.2}, closed, whatever trickles in).
 * The limits of the configuration in force apply; the counters are in memory, per process.
 * A sweep every minute drops counters that no longer count anything.
 */
final class ListenerLimits implements AutoCloseable {
    private static final Logger mailLog = LoggerFactory.getLogger("returnpath.mail");
    static final Duration AUTH_WINDOW = Duration.ofMinutes(10);
    static final Duration MESSAGE_WINDOW = Duration.ofMinutes(1);

    private final ConfigHolder configs;
    private final Map<InetAddress, AtomicInteger> connections = new ConcurrentHashMap<>();
    private final Map<Session, ScheduledFuture<?>> counted = new ConcurrentHashMap<>();
    private final Map<String, ArrayDeque<Long>> messages = new ConcurrentHashMap<>();
    private final Map<InetAddress, ArrayDeque<Long>> authFailures = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("smtp-limits").factory());

    ListenerLimits(ConfigHolder configs) {
        this.configs = configs;
        timer.scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.MINUTES);
    }

    private ListenLimits limits() {
        return configs.get().listen().limits();
    }

    /** At connect: false when the client already has {@code connections-per-client} open. Else counted, and its deadline set. */
    boolean connect(Session session) {
        InetAddress ip = session.getRemoteAddress().getAddress();
        ListenLimits l = limits();
        int max = l.connectionsPerClient(ip);
        AtomicInteger n = connections.computeIfAbsent(ip, k -> new AtomicInteger());
        if (n.incrementAndGet() > max) {
            release(ip);
            mailLog.warn("reject: connect from {}: more than listen.limits.connections-per-client ({}) open",
                    ip.getHostAddress(), max);
            return false;
        }
        Duration timeout = l.sessionTimeout();
        counted.put(session, timer.schedule(() -> expire(session, timeout), timeout.toMillis(), TimeUnit.MILLISECONDS));
        return true;
    }

    /** At the end of a session that {@link #connect} let in. */
    void disconnect(Session session) {
        ScheduledFuture<?> deadline = counted.remove(session);
        if (deadline != null) {
            deadline.cancel(false);
            release(session.getRemoteAddress().getAddress());
        }
    }

    private void release(InetAddress ip) {
        connections.computeIfPresent(ip, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    private void expire(Session session, Duration timeout) {
        if (!counted.containsKey(session)) {
            return;
        }
        mailLog.warn("disconnect: {}: session longer than listen.limits.session-timeout ({})",
                session.getRemoteAddress().getAddress().getHostAddress(), DataDeadline.written(timeout));
        try {
            session.sendResponse("421 4.4.2 Session time limit exceeded, closing connection");
        } catch (IOException | RuntimeException ignored) {
            // the client is gone or stuck: closing is what matters
        }
        session.quit();
        try {
            session.closeSocket();
        } catch (IOException | RuntimeException ignored) {
            // already closed
        }
    }

    /** At MAIL: false past {@code messages-per-minute} for {@code key} (the user, or the client IP). */
    boolean messageAllowed(String key) {
        int max = limits().messagesPerMinute();
        if (max == 0) {
            return true;
        }
        long now = System.nanoTime();
        ArrayDeque<Long> q = messages.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (q) {
            prune(q, now, MESSAGE_WINDOW);
            if (q.size() >= max) {
                return false;
            }
            q.addLast(now);
            return true;
        }
    }

    void authFailed(InetAddress ip) {
        long now = System.nanoTime();
        ArrayDeque<Long> q = authFailures.computeIfAbsent(ip, k -> new ArrayDeque<>());
        synchronized (q) {
            prune(q, now, AUTH_WINDOW);
            q.addLast(now);
        }
    }

    /** True once {@code ip} has failed {@code auth-failures} times within the last 10 minutes. */
    boolean authBlocked(InetAddress ip) {
        ArrayDeque<Long> q = authFailures.get(ip);
        if (q == null) {
            return false;
        }
        synchronized (q) {
            prune(q, System.nanoTime(), AUTH_WINDOW);
            return q.size() >= limits().authFailures();
        }
    }

    private static void prune(ArrayDeque<Long> q, long now, Duration window) {
        while (!q.isEmpty() && now - q.peekFirst() > window.toNanos()) {
            q.pollFirst();
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        messages.values().removeIf(q -> {
            synchronized (q) {
                prune(q, now, MESSAGE_WINDOW);
                return q.isEmpty();
            }
        });
        authFailures.values().removeIf(q -> {
            synchronized (q) {
                prune(q, now, AUTH_WINDOW);
                return q.isEmpty();
            }
        });
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
