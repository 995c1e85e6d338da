package dev.returnpath.delivery;

import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.delivery.SmtpConnection.Dial;
import dev.returnpath.delivery.SmtpConnection.Refused;
import dev.returnpath.message.Addresses;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;

/**
 * The SMTP client engine: one for every next hop, smarthost and MX alike. It sends one message
 * to one server ({@link #deliver}) on a connection of its pool or a new one
 * ({@link SmtpConnection}), and says what happened to each recipient, with the server's reply
 * or one from {@link Failure}.
 *
 * <p>The pool is keyed by {@link NextHop}: a connection is only reused for the hop it was
 * opened for (same smarthost, TLS mode and credentials). Before reuse, a connection idle more
 * than {@link #CHECK_AFTER_IDLE_MS} is checked with NOOP and one idle more than
 * {@link #MAX_IDLE_MS} is closed; a transaction that ended early is reset with RSET (in the
 * same write as the next MAIL when the server pipelines). A reused connection that turns out
 * dead before its first reply is replaced by a new one, once.
 *
 * <p>SMTPUTF8 (RFC 6531 §3.2): a non-ASCII address is never sent to a server that does not
 * offer it; that recipient (or, for the sender, every recipient) fails with 553 5.6.7. With
 * SMTPUTF8 offered and needed, MAIL carries the {@code SMTPUTF8} parameter.
 */
final class SmtpClient implements AutoCloseable {
    static final long CHECK_AFTER_IDLE_MS = 2_000;
    static final long MAX_IDLE_MS = 60_000;
    static final int MAX_POOLED = 64;
    static final long WATCHDOG_TICK_MS = 200;
    static final long SWEEP_EVERY_MS = 5_000;

    /** Settings shared by every connection: the EHLO name and the two timeouts. */
    record Settings(String helo, Duration connectTimeout, Duration commandTimeout) {}

    /**
     * Per-recipient outcomes, in the order given. {@code tryNext}: the failure was the
     * session's, not the recipients' (no connection, a refusing greeting, a 4xx to MAIL, TLS):
     * another MX host may do better. {@code tlsFailed}: the TLS handshake failed.
     */
    record Attempt(List<RecipientOutcome> outcomes, boolean tryNext, boolean tlsFailed) {}

    private final Settings settings;
    private final Watchdog watchdog = new Watchdog(() -> sweep(System.currentTimeMillis()));
    private final Map<NextHop, ConcurrentLinkedDeque<SmtpConnection>> idle = new ConcurrentHashMap<>();
    private volatile boolean closed;

    SmtpClient(Settings settings) {
        this.settings = settings;
    }

    /**
     * Delivers {@code message} to {@code rcpts} at the server {@code dial} names, for
     * {@code hop}. {@code pooled}: take a connection from the pool and give it back after;
     * otherwise the connection is closed with QUIT. {@code useTls} false: no opportunistic
     * STARTTLS. Never throws for an SMTP or network problem.
     */
    Attempt deliver(NextHop hop, Dial dial, boolean pooled, String reversePath, List<String> rcpts,
                    OutboundMessage message, boolean useTls) {
        SmtpConnection c = pooled ? borrow(hop) : null;
        boolean reused = c != null;
        for (int round = 0; ; round++) {
            if (c == null) {
                try {
                    c = SmtpConnection.open(dial, settings.helo(), settings.connectTimeout(), settings.commandTimeout(),
                            watchdog, useTls);
                } catch (Refused r) {
                    return refused(dial, rcpts, r);
                }
            }
            try {
                Attempt a = transaction(c, reversePath, rcpts, message);
                if (pooled && !closed) {
                    giveBack(hop, c);
                } else {
                    c.quit();
                }
                return a;
            } catch (IOException e) {
                boolean stale = reused && round == 0 && c.failedBeforeAnyReply();
                Reply r = c.failure(e);
                c.close();
                if (stale) {
                    // a pooled connection the server had closed: once more, on a new one
                    c = null;
                    reused = false;
                    continue;
                }
                return all(rcpts, Status.DEFERRED, r, false, dial.relay(), true, false);
            }
        }
    }

    private Attempt transaction(SmtpConnection c, String reversePath, List<String> rcpts, OutboundMessage message)
            throws IOException {
        String relay = c.dial.relay();
        boolean smtputf8 = c.offers("SMTPUTF8");
        if (!smtputf8 && Addresses.needsUtf8(reversePath)) {
            return all(rcpts, Status.BOUNCED, Failure.NO_SMTPUTF8.reply(c.dial.where(), "the sender " + reversePath),
                    false, relay, false, false);
        }
        RecipientOutcome[] out = new RecipientOutcome[rcpts.size()];
        List<String> send = new ArrayList<>(rcpts.size());
        List<Integer> sendIdx = new ArrayList<>(rcpts.size());
        boolean utf8 = Addresses.needsUtf8(reversePath);
        for (int i = 0; i < rcpts.size(); i++) {
            String r = rcpts.get(i);
            if (r.indexOf('\r') >= 0 || r.indexOf('\n') >= 0) {
                out[i] = new RecipientOutcome(r, Status.BOUNCED, Reply.of(553, "5.1.3", "address with a line break, not sent"),
                        false, relay);
            } else if (Addresses.needsUtf8(r)) {
                if (smtputf8) {
                    utf8 = true;
                    send.add(r);
                    sendIdx.add(i);
                } else {
                    out[i] = new RecipientOutcome(r, Status.BOUNCED, Failure.NO_SMTPUTF8.reply(c.dial.where(), "this recipient"),
                            false, relay);
                }
            } else {
                send.add(r);
                sendIdx.add(i);
            }
        }
        if (send.isEmpty()) {
            return new Attempt(List.of(out), false, false);
        }
        SmtpConnection.Exchange x = c.send(reversePath, send, message, utf8 && smtputf8);
        boolean tryNext = false;
        if (!x.mail().isPositive()) {
            // 4xx: this server, now; 5xx: the sender is refused, by any of them
            tryNext = !x.mail().isPermanent();
        }
        for (int k = 0; k < send.size(); k++) {
            Reply r = !x.mail().isPositive() ? x.mail()
                    : !x.rcpts().get(k).isPositive() ? x.rcpts().get(k)
                    : x.data();
            out[sendIdx.get(k)] = new RecipientOutcome(send.get(k), status(r), r, true, relay);
        }
        return new Attempt(List.of(out), tryNext, false);
    }

    private static Status status(Reply r) {
        return r.isPositive() ? Status.SENT : r.isPermanent() ? Status.BOUNCED : Status.DEFERRED;
    }

    private static Attempt refused(Dial dial, List<String> rcpts, Refused r) {
        // a smarthost that will not talk is deferred whatever it says (it is ours to fix, the
        // message is not at fault); an MX host's 5xx greeting is its verdict (Postfix's
        // smtp_skip_5xx_greeting still tries the next one first)
        Status s = dial.mx() && r.upstreamSaid && r.reply.isPermanent() ? Status.BOUNCED : Status.DEFERRED;
        return all(rcpts, s, r.reply, r.upstreamSaid, dial.relay(), true, r.tlsFailed);
    }

    static Attempt all(List<String> rcpts, Status status, Reply reply, boolean said, String relay, boolean tryNext,
                       boolean tlsFailed) {
        List<RecipientOutcome> out = new ArrayList<>(rcpts.size());
        for (String r : rcpts) {
            out.add(new RecipientOutcome(r, status, reply, said, relay));
        }
        return new Attempt(out, tryNext, tlsFailed);
    }

    /**
     * Opens a connection and leaves it at the point where mail could start, for the doctor.
     * The caller closes it ({@link SmtpConnection#quit}).
     */
    SmtpConnection open(Dial dial, boolean useTls) throws Refused {
        return SmtpConnection.open(dial, settings.helo(), settings.connectTimeout(), settings.commandTimeout(),
                watchdog, useTls);
    }

    // ---------------------------------------------------------------- pool

    private SmtpConnection borrow(NextHop hop) {
        ConcurrentLinkedDeque<SmtpConnection> pool = idle.get(hop);
        if (pool == null) {
            return null;
        }
        SmtpConnection c;
        long now = System.currentTimeMillis();
        while ((c = pool.pollFirst()) != null) {
            long idleFor = now - c.idleSince;
            if (idleFor > MAX_IDLE_MS) {
                c.quit();
                continue;
            }
            if (idleFor < CHECK_AFTER_IDLE_MS || c.alive()) {
                return c;
            }
            c.close();
        }
        return null;
    }

    private void giveBack(NextHop hop, SmtpConnection c) {
        c.idleSince = System.currentTimeMillis();
        boolean[] full = {false};
        idle.compute(hop, (k, q) -> {
            ConcurrentLinkedDeque<SmtpConnection> pool = q == null ? new ConcurrentLinkedDeque<>() : q;
            if (pool.size() >= MAX_POOLED) {
                full[0] = true;
            } else {
                pool.offerFirst(c);
            }
            return pool;
        });
        if (full[0]) {
            c.quit();
            return;
        }
        if (closed) {
            // close() ran meanwhile: do not leave it behind
            drain();
        }
    }

    /**
     * Closes the pooled connections idle more than {@link #MAX_IDLE_MS} and forgets the hops left
     * without one (with direct delivery every MX host is a hop: a pool per hop kept for ever would
     * grow, and hold its sockets open, for as long as the relay runs). The watchdog runs it at
     * most every {@link #SWEEP_EVERY_MS}. A pool is dropped inside the map's own atomic step, the
     * same one {@link #giveBack} adds in, so a connection given back meanwhile is never lost.
     */
    void sweep(long now) {
        List<SmtpConnection> expired = new ArrayList<>();
        for (NextHop hop : idle.keySet()) {
            idle.computeIfPresent(hop, (k, q) -> {
                SmtpConnection c;
                // the oldest are at the end (giveBack adds at the front); removeLastOccurrence
                // fails for one that borrow() took meanwhile
                while ((c = q.peekLast()) != null && now - c.idleSince > MAX_IDLE_MS) {
                    if (q.removeLastOccurrence(c)) {
                        expired.add(c);
                    }
                }
                return q.isEmpty() ? null : q;
            });
        }
        if (!expired.isEmpty()) {
            // not on the watchdog's thread: a QUIT that blocked there would stop every write deadline
            Thread.ofVirtual().name("smtp-pool-sweep").start(() -> expired.forEach(SmtpConnection::quit));
        }
    }

    /** Hops with a pool now (each has at least one idle connection, until the next sweep). */
    int pooledHops() {
        return idle.size();
    }

    /** Connections idle in the pool now, over all hops. */
    int pooled() {
        return idle.values().stream().mapToInt(ConcurrentLinkedDeque::size).sum();
    }

    /** Writes under way with a deadline armed now. */
    int pendingWriteDeadlines() {
        return watchdog.armed();
    }

    private void drain() {
        for (ConcurrentLinkedDeque<SmtpConnection> pool : idle.values()) {
            SmtpConnection c;
            while ((c = pool.pollFirst()) != null) {
                c.quit();
            }
        }
    }

    /** Closes the idle connections; those in use are closed when their transaction ends. */
    @Override
    public void close() {
        closed = true;
        drain();
        watchdog.stop();
    }

    /**
     * Java sockets have no write timeout: one thread of the engine's looks at the connections'
     * write deadlines every {@link #WATCHDOG_TICK_MS} and closes the socket of a write past its
     * deadline, which then fails. One thread for all connections, rather than a timer task per
     * write (what Angus does, and what made its delivery pay a scheduler per write).
     */
    static final class Watchdog {
        private final Set<SmtpConnection> connections = ConcurrentHashMap.newKeySet();
        private final Runnable sweep;
        private volatile boolean stopped;
        private Thread thread;

        Watchdog(Runnable sweep) {
            this.sweep = sweep;
        }

        synchronized void register(SmtpConnection c) {
            connections.add(c);
            if (thread == null) {
                thread = Thread.ofVirtual().name("smtp-write-watchdog").start(this::run);
            }
        }

        void unregister(SmtpConnection c) {
            connections.remove(c);
        }

        int armed() {
            return (int) connections.stream().filter(c -> c.writeDeadline != 0).count();
        }

        private long lastSweep = System.nanoTime();

        /** Runs while there are connections (those in use after close() still get their deadlines). */
        private void run() {
            while (true) {
                synchronized (this) {
                    if (connections.isEmpty()) {
                        thread = null; // the next connection starts another
                        return;
                    }
                }
                long now = System.nanoTime();
                for (SmtpConnection c : connections) {
                    long d = c.writeDeadline;
                    if (d != 0 && now - d > 0) {
                        c.expire();
                    }
                }
                if (now - lastSweep > TimeUnit.MILLISECONDS.toNanos(SWEEP_EVERY_MS)) {
                    lastSweep = now;
                    sweep.run();
                }
                try {
                    Thread.sleep(WATCHDOG_TICK_MS);
                } catch (InterruptedException e) {
                    // stop() woke us: look once more whether connections are left
                    Thread.interrupted();
                }
            }
        }

        synchronized void stop() {
            stopped = true;
            if (thread != null) {
                thread.interrupt();
            }
        }
    }
}
