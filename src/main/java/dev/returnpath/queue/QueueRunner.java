package dev.returnpath.queue;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Delivery;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.delivery.Reply;
import dev.returnpath.message.Addresses;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Delivers what the {@link Spool} holds, in the background: the queue manager of Postfix's
 * design, in one class.
 *
 * <p>Each entry is scheduled at its {@code next-attempt}. An attempt locks the entry, reads its
 * envelope from disk (the disk is the truth: {@code queue delete} or {@code flush} may have
 * changed it), delivers to the recipients not yet done, at most {@code destination-concurrency}
 * at once per destination (the smarthost, or a recipient domain with direct delivery) and
 * {@code max-concurrency} attempts in all, and writes the new per-recipient state back.
 *
 * <ul>
 *   <li>Recipients that failed temporarily are retried after {@code first-retry}, doubling per
 *       attempt up to {@code max-retry-interval}.
 *   <li>A permanent failure, or a temporary one once the message is {@code max-age} old, gets a
 *       DSN (RFC 3464) to the return path. The DSN is committed to the spool <em>before</em> the
 *       recipient is marked bounced, so a crash can duplicate a DSN, never lose it. A message
 *       from the null sender is never bounced: it is dropped, with a log line.
 *   <li>Optionally, one delay warning after {@code delay-warning}.
 * </ul>
 *
 * <p>Time comes from the injected {@link Clock}; the loop looks at it at least every
 * {@link #TICK}, and {@link #wake()} makes it look now.
 */
public final class QueueRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath.queue");
    static final Duration TICK = Duration.ofSeconds(1);
    /** When an entry is locked by the {@code queue} command, look again after this. */
    static final Duration BUSY_RETRY = Duration.ofSeconds(1);
    /**
     * A first attempt that lasts longer than this has its message moved out of the journal, so
     * that it does not keep the later journal segments on disk (see {@link Spool#moveLongFirstAttempts}).
     */
    static final Duration LONG_FIRST_ATTEMPT = Duration.ofSeconds(30);
    /** The part of a message's header block quoted in a DSN (RFC 6522 text/rfc822-headers). */
    static final int DSN_HEADER_LIMIT = 64 * 1024;

    private final Spool spool;
    private final ConfigHolder configs;
    private final Function<RelayConfig, Delivery> deliveries;
    private final Clock clock;
    private final Supplier<String> ids;
    private final Metrics metrics;
    private final Map<String, Instant> arrivals = new ConcurrentHashMap<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final PriorityQueue<Due> schedule = new PriorityQueue<>();
    private final Map<String, Long> current = new HashMap<>();        // id -> seq of its valid Due
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private final AtomicLong seq = new AtomicLong();
    private final Map<String, Semaphore> destinations = new ConcurrentHashMap<>();
    private final Semaphore attempts;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private volatile boolean stopping;
    private volatile boolean wakeRequested;
    private Thread loop;

    private record Due(Instant at, long seq, String id) implements Comparable<Due> {
        @Override
        public int compareTo(Due o) {
            int c = at.compareTo(o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /**
     * @param ids queue IDs for the DSNs it writes: the same generator as the listener's, so that
     *            IDs never collide
     */
    public QueueRunner(Spool spool, ConfigHolder configs, Function<RelayConfig, Delivery> deliveries, Clock clock,
                       Supplier<String> ids, Metrics metrics) {
        this.spool = spool;
        this.configs = configs;
        this.deliveries = deliveries;
        this.clock = clock;
        this.ids = ids;
        this.metrics = metrics;
        this.attempts = new Semaphore(configs.get().queue().maxConcurrency());
        metrics.spool(() -> arrivals.size(), this::oldestSeconds);
    }

    private double oldestSeconds() {
        Instant now = clock.instant();
        return arrivals.values().stream().min(Instant::compareTo)
                .map(a -> Math.max(0, Duration.between(a, now).toMillis() / 1000.0)).orElse(0.0);
    }

    /** Schedules every entry of the spool at its next attempt, and starts the loop. */
    public void start() throws IOException {
        int n = rescan(false);
        if (n > 0) {
            log.info("spool {}: {} message(s) to deliver", spool.root(), n);
        }
        loop = Thread.ofPlatform().daemon().name("queue-runner").start(this::run);
    }

    /**
     * Reads every envelope and (re)schedules it at its next attempt, or now for a flush; returns
     * how many there are.
     */
    private int rescan(boolean now) throws IOException {
        int n = 0;
        for (String id : spool.ids()) {
            try {
                Optional<QueueEntry> e = spool.read(id);
                if (e.isPresent()) {
                    arrivals.put(id, e.get().arrival());
                    schedule(id, now ? clock.instant() : e.get().nextAttempt());
                    n++;
                }
            } catch (Spool.CorruptEntryException c) {
                setAside(c);
            }
        }
        return n;
    }

    private void setAside(Spool.CorruptEntryException c) {
        log.error("{}; moved to {}/corrupt for inspection", c.getMessage(), spool.root());
        try {
            spool.setAside(c.id);
        } catch (IOException e) {
            log.error("cannot move {} aside: {}", c.id, e.getMessage());
        }
    }

    /**
     * Commits a new message (durably: see {@link Spool#commit}) and schedules its first attempt
     * now. Throws when the spool cannot take it; the app must then not get a 250.
     */
    public void enqueue(QueueEntry entry, OutboundMessage message) throws IOException {
        spool.commit(entry, message);
        arrivals.put(entry.id(), entry.arrival());
        schedule(entry.id(), entry.nextAttempt());
    }

    private void moveLongFirstAttempts() {
        try {
            int moved = spool.moveLongFirstAttempts(LONG_FIRST_ATTEMPT);
            if (moved > 0) {
                log.info("spool {}: {} message(s) on a first attempt longer than {} moved from the journal to the queue",
                        spool.root(), moved, human(LONG_FIRST_ATTEMPT));
            }
        } catch (IOException e) {
            log.error("spool {}: cannot move long first attempts out of the journal: {}", spool.root(), e.getMessage());
        }
    }

    /** Makes the loop look at the clock (and the flush marker) now. */
    public void wake() {
        lock.lock();
        try {
            wakeRequested = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Messages in the spool (waiting or being attempted). */
    public int size() {
        return arrivals.size();
    }

    private void schedule(String id, Instant at) {
        lock.lock();
        try {
            long s = seq.incrementAndGet();
            current.put(id, s);
            schedule.add(new Due(at, s, id));
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        long flushCheckedAt = System.nanoTime() - TICK.toNanos();
        while (!stopping) {
            // the flush marker is a file: look at it once a tick, not once a message (an unlink each)
            boolean lookForFlush = wakeRequested || System.nanoTime() - flushCheckedAt >= TICK.toNanos();
            if (lookForFlush) {
                flushCheckedAt = System.nanoTime();
            }
            if (lookForFlush) {
                moveLongFirstAttempts();
            }
            if (lookForFlush && spool.takeFlushRequest()) {
                try {
                    log.info("flush requested: every message in the spool is tried now");
                    rescan(true);
                } catch (IOException e) {
                    log.error("spool {}: cannot rescan: {}", spool.root(), e.getMessage());
                }
            }
            List<String> dueNow = new ArrayList<>();
            long waitNanos;
            lock.lock();
            try {
                Instant now = clock.instant();
                Due d;
                while ((d = schedule.peek()) != null && !d.at().isAfter(now)) {
                    schedule.poll();
                    if (!Long.valueOf(d.seq()).equals(current.get(d.id()))) {
                        continue; // superseded by a later schedule()
                    }
                    if (running.contains(d.id())) {
                        // an attempt is still in flight: look again when it is over
                        continue;
                    }
                    current.remove(d.id());
                    running.add(d.id());
                    dueNow.add(d.id());
                }
                Due next = schedule.peek();
                long untilNext = next == null ? Long.MAX_VALUE : Duration.between(now, next.at()).toNanos();
                waitNanos = Math.max(1_000_000, Math.min(TICK.toNanos(), untilNext));
            } finally {
                lock.unlock();
            }
            for (String id : dueNow) {
                workers.submit(() -> attempt(id));
            }
            if (!dueNow.isEmpty()) {
                continue;
            }
            lock.lock();
            try {
                if (!wakeRequested && !stopping) {
                    changed.awaitNanos(waitNanos);
                }
                wakeRequested = false;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
        }
    }

    // ---------------------------------------------------------------- one attempt

    private void attempt(String id) {
        Optional<Instant> next = Optional.empty();
        try {
            attempts.acquire();
            try {
                if (stopping) {
                    next = Optional.of(clock.instant()); // stays in the spool for the next start
                    return;
                }
                Optional<Spool.EntryLock> held = spool.tryLock(id);
                if (held.isEmpty()) {
                    if (spool.contains(id)) {
                        next = Optional.of(clock.instant().plus(BUSY_RETRY)); // the queue command has it
                    }
                    return;
                }
                try (Spool.EntryLock ignored = held.get()) {
                    next = attemptLocked(id);
                }
            } finally {
                attempts.release();
            }
        } catch (Spool.CorruptEntryException c) {
            setAside(c);
        } catch (IOException e) {
            log.error("{}: spool error, will try again: {}", id, e.getMessage());
            next = Optional.of(clock.instant().plus(configs.get().queue().firstRetry()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.error("{}: unexpected error in a delivery attempt, will try again", id, e);
            next = Optional.of(clock.instant().plus(configs.get().queue().firstRetry()));
        } finally {
            lock.lock();
            try {
                running.remove(id);
                // the attempt's verdict wins over a schedule() made while it ran (a rescan read
                // the envelope as it was before the attempt)
                if (next.isPresent()) {
                    long s = seq.incrementAndGet();
                    current.put(id, s);
                    schedule.add(new Due(next.get(), s, id));
                } else {
                    current.remove(id);
                    arrivals.remove(id);
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Returns when to try again, or empty when the entry is done (or gone). */
    private Optional<Instant> attemptLocked(String id) throws IOException, InterruptedException {
        Optional<QueueEntry> read = spool.read(id);
        if (read.isEmpty()) {
            return Optional.empty(); // deleted by the queue command
        }
        QueueEntry entry = read.get();
        RelayConfig cfg = configs.get();
        if (entry.isDone()) {
            spool.remove(id);
            return Optional.empty();
        }

        Map<Integer, RecipientOutcome> outcomes = deliver(entry, cfg);
        for (RecipientOutcome o : outcomes.values()) {
            metrics.upstreamReply(o.upstreamSaid() ? o.reply().code() : 0, o.upstreamSaid() ? "" : "connection");
        }

        Instant now = clock.instant();
        double delay = Duration.between(entry.arrival(), now).toMillis() / 1000.0;
        List<Recipient> next = new ArrayList<>(entry.recipients());
        List<Integer> bouncedNow = new ArrayList<>();
        List<Integer> deferredNow = new ArrayList<>();
        for (Map.Entry<Integer, RecipientOutcome> e : outcomes.entrySet()) {
            int i = e.getKey();
            RecipientOutcome o = e.getValue();
            String relay = o.upstreamSaid() ? o.relay() : "";
            State state = switch (o.status()) {
                case SENT -> State.SENT;
                case BOUNCED -> State.BOUNCED;
                case DEFERRED -> State.DEFERRED;
            };
            next.set(i, new Recipient(next.get(i).address(), state, relay, o.reply().toString()));
            logOutcome(id, o, delay);
            if (state == State.BOUNCED) {
                bouncedNow.add(i);
            } else if (state == State.DEFERRED) {
                deferredNow.add(i);
            }
        }

        // Postfix's maximal_queue_lifetime: a temporary failure of a message this old is final
        Instant expiresAt = entry.arrival().plus(cfg.queue().maxAge());
        boolean expired = !deferredNow.isEmpty() && !now.isBefore(expiresAt);
        Map<Integer, String> notes = new HashMap<>();
        if (expired) {
            String note = "message expired after " + human(cfg.queue().maxAge()) + " in the queue";
            for (int i : deferredNow) {
                Recipient r = next.get(i);
                next.set(i, new Recipient(r.address(), State.BOUNCED, r.relay(), r.reply()));
                notes.put(i, note);
                MailLog.warn(id, "to=" + MailLog.angle(r.address()) + " delay=" + seconds(delay)
                        + " dsn=" + Reply.parse(451, r.reply()).enhancedOrDefault() + " status=expired (" + note + ")");
                bouncedNow.add(i);
            }
            deferredNow.clear();
        }

        if (!bouncedNow.isEmpty()) {
            if (!bounce(entry, next, bouncedNow, notes, cfg, now)) {
                // the DSN could not be queued: keep them to try again, so that no failure goes unreported
                for (int i : bouncedNow) {
                    Recipient r = next.get(i);
                    next.set(i, new Recipient(r.address(), State.DEFERRED, r.relay(), r.reply()));
                    deferredNow.add(i);
                }
            }
        }

        boolean warned = entry.warned();
        Duration warnAfter = cfg.queue().delayWarning();
        if (!warned && !warnAfter.isZero() && !deferredNow.isEmpty()
                && !now.isBefore(entry.arrival().plus(warnAfter))) {
            warned = warnDelay(entry, next, deferredNow, cfg, now, expiresAt);
        }

        QueueEntry updated = entry.withRecipients(next);
        count(entry, updated);
        if (updated.isDone()) {
            spool.remove(id);
            MailLog.info(id, "removed");
            return Optional.empty();
        }
        int done = entry.attempts() + 1;
        Instant at = now.plus(backoff(cfg.queue(), done));
        if (at.isAfter(expiresAt)) {
            at = expiresAt.isAfter(now) ? expiresAt : now.plus(cfg.queue().firstRetry());
        }
        spool.update(updated.withAttempt(done, at, warned));
        return Optional.of(at);
    }

    /** returnpath_messages_total for what this attempt finished: relayed, bounced, or deferred. */
    private void count(QueueEntry before, QueueEntry after) {
        if (after.isDone()) {
            boolean anyBounced = after.recipients().stream().anyMatch(r -> r.state() == State.BOUNCED);
            metrics.message(anyBounced ? "bounced" : "relayed", "spool");
        } else {
            metrics.message("deferred", "spool");
        }
    }

    /** first-retry, doubling with each attempt, capped at max-retry-interval. */
    static Duration backoff(RelayConfig.Queue q, int attemptsDone) {
        Duration d = q.firstRetry();
        for (int i = 1; i < attemptsDone && d.compareTo(q.maxRetryInterval()) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(q.maxRetryInterval()) > 0 ? q.maxRetryInterval() : d;
    }

    /**
     * Delivers to the unfinished recipients, grouped by destination, each group holding one of
     * its destination's permits. Returns the outcome per recipient index.
     */
    private Map<Integer, RecipientOutcome> deliver(QueueEntry entry, RelayConfig cfg) throws InterruptedException {
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < entry.recipients().size(); i++) {
            Recipient r = entry.recipients().get(i);
            if (!r.isFinal()) {
                groups.computeIfAbsent(destination(cfg, r.address()), k -> new ArrayList<>()).add(i);
            }
        }
        Delivery delivery = deliveries.apply(cfg);
        OutboundMessage message = spool.message(entry);
        Map<Integer, RecipientOutcome> out = new java.util.TreeMap<>(); // logged in recipient order
        List<Map.Entry<List<Integer>, Future<DeliveryOutcome>>> running = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> g : groups.entrySet()) {
            List<Integer> idx = g.getValue();
            List<String> rcpts = idx.stream().map(i -> entry.recipients().get(i).address()).toList();
            Semaphore permits = destinations.computeIfAbsent(g.getKey(),
                    k -> new Semaphore(cfg.queue().destinationConcurrency()));
            Envelope envelope = new Envelope(entry.id(), entry.returnPath(), rcpts);
            java.util.concurrent.Callable<DeliveryOutcome> task = () -> {
                permits.acquire();
                try {
                    return delivery.deliver(envelope, message);
                } finally {
                    permits.release();
                }
            };
            // one destination (always so with a smarthost): deliver on this thread, no hand-off
            Future<DeliveryOutcome> f = groups.size() == 1 ? inline(task) : workers.submit(task);
            running.add(Map.entry(idx, f));
        }
        for (Map.Entry<List<Integer>, Future<DeliveryOutcome>> r : running) {
            List<Integer> idx = r.getKey();
            DeliveryOutcome o;
            try {
                o = r.getValue().get();
            } catch (java.util.concurrent.ExecutionException e) {
                // Delivery promises not to throw; if it does, nothing was confirmed: try again later
                Reply reply = Reply.of(451, "4.3.0", "internal error: " + e.getCause());
                for (int i : idx) {
                    out.put(i, new RecipientOutcome(entry.recipients().get(i).address(), DeliveryOutcome.Status.DEFERRED,
                            reply, false));
                }
                continue;
            }
            // outcomes come in the envelope's order (Delivery's contract)
            for (int k = 0; k < idx.size() && k < o.recipients().size(); k++) {
                RecipientOutcome ro = o.recipients().get(k);
                out.put(idx.get(k), withRelay(ro, o.relay()));
            }
        }
        return out;
    }

    private static Future<DeliveryOutcome> inline(java.util.concurrent.Callable<DeliveryOutcome> task)
            throws InterruptedException {
        try {
            return java.util.concurrent.CompletableFuture.completedFuture(task.call());
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
    }

    /** The smarthost is one destination; with direct delivery each recipient domain is one. */
    static String destination(RelayConfig cfg, String recipient) {
        return switch (cfg.delivery().mode()) {
            case SMARTHOST -> "smarthost";
            case DIRECT -> Addresses.domainOf(recipient).map(d -> d.toLowerCase(Locale.ROOT)).orElse("");
        };
    }

    private static RecipientOutcome withRelay(RecipientOutcome o, String relay) {
        return o.relay().isEmpty() ? o.withRelay(relay) : o;
    }

    // ---------------------------------------------------------------- DSNs

    /**
     * Queues a failure DSN for the recipients at {@code idx}. Returns false only when the DSN
     * could not be committed. A null-sender message gets no DSN (a bounce of a bounce): it is
     * dropped with a log line.
     */
    private boolean bounce(QueueEntry entry, List<Recipient> state, List<Integer> idx, Map<Integer, String> notes,
                           RelayConfig cfg, Instant now) {
        if (entry.returnPath().isEmpty()) {
            for (int i : idx) {
                MailLog.warn(entry.id(), "to=" + MailLog.angle(state.get(i).address())
                        + " status=dropped (undeliverable message from the null sender: no DSN is sent for a bounce)");
            }
            return true;
        }
        List<Dsn.Report> reports = new ArrayList<>();
        for (int i : idx) {
            Recipient r = state.get(i);
            reports.add(new Dsn.Report(r.address(), Reply.parse(550, r.reply()), r.relay(), notes.getOrDefault(i, "")));
        }
        return queueReport(entry, Dsn.Action.FAILED, reports, cfg, now, Optional.empty(), "sender non-delivery notification");
    }

    private boolean warnDelay(QueueEntry entry, List<Recipient> state, List<Integer> idx, RelayConfig cfg, Instant now,
                              Instant expiresAt) {
        if (entry.returnPath().isEmpty()) {
            return true; // no warning for a bounce; mark it warned so that the question is not asked again
        }
        List<Dsn.Report> reports = new ArrayList<>();
        for (int i : idx) {
            Recipient r = state.get(i);
            reports.add(new Dsn.Report(r.address(), Reply.parse(451, r.reply()), r.relay(), ""));
        }
        return queueReport(entry, Dsn.Action.DELAYED, reports, cfg, now,
                Optional.of(ZonedDateTime.ofInstant(expiresAt, clock.getZone())), "sender delay notification");
    }

    private boolean queueReport(QueueEntry entry, Dsn.Action action, List<Dsn.Report> reports, RelayConfig cfg,
                                Instant now, Optional<ZonedDateTime> until, String what) {
        String dsnId = ids.get();
        try {
            byte[] dsn = Dsn.build(cfg.hostname(), entry.id(), entry.returnPath(), action, reports,
                    headersOf(entry.id()), ZonedDateTime.ofInstant(entry.arrival(), clock.getZone()),
                    ZonedDateTime.ofInstant(now, clock.getZone()), until);
            QueueEntry e = new QueueEntry(dsnId, now, "", "", "", "", dsn.length, 0, now, false,
                    List.of(new Recipient(entry.returnPath(), State.PENDING, "", "")));
            enqueue(e, OutboundMessage.inMemory(dsn));
            MailLog.info(entry.id(), what + ": " + dsnId);
            MailLog.info(dsnId, "client=local from=<> return-path=<> size=" + dsn.length + " nrcpt=1 (" + what
                    + " for " + entry.id() + ")");
            return true;
        } catch (IOException e) {
            log.error("{}: cannot queue the {}: {}", entry.id(), what, e.getMessage());
            return false;
        }
    }

    /** The header block of a spooled message (up to the empty line), for the DSN. */
    private byte[] headersOf(String id) throws IOException {
        try (InputStream in = spool.openMessage(id)) {
            byte[] buf = in.readNBytes(DSN_HEADER_LIMIT);
            for (int i = 0; i + 3 < buf.length; i++) {
                if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                    return java.util.Arrays.copyOf(buf, i + 2);
                }
            }
            return buf;
        }
    }

    // ---------------------------------------------------------------- log lines

    private static void logOutcome(String id, RecipientOutcome o, double delay) {
        String line = "to=" + MailLog.angle(o.recipient()) + " relay=" + (o.relay().isEmpty() ? "none" : o.relay())
                + " delay=" + seconds(delay) + " dsn=" + o.reply().enhancedOrDefault()
                + " status=" + switch (o.status()) {
                    case SENT -> "sent";
                    case DEFERRED -> "deferred";
                    case BOUNCED -> "bounced";
                } + " (" + o.reply() + ")";
        if (o.status() == DeliveryOutcome.Status.SENT) {
            MailLog.info(id, line);
        } else {
            MailLog.warn(id, line);
        }
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.2f", s);
    }

    /** 5d, 3h, 20m, 45s: how an operator writes a duration in the configuration. */
    static String human(Duration d) {
        long s = d.toSeconds();
        if (s % 86_400 == 0) {
            return s / 86_400 + "d";
        }
        if (s % 3_600 == 0) {
            return s / 3_600 + "h";
        }
        if (s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }

    // ---------------------------------------------------------------- shutdown

    /**
     * Starts no new attempt, and waits up to {@code grace} for the ones in flight. What is not
     * delivered stays in the spool for the next start.
     */
    public void shutdown(Duration grace) {
        stopping = true;
        wake();
        long deadline = System.nanoTime() + grace.toNanos();
        while (!running.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!running.isEmpty()) {
            log.warn("{} delivery attempt(s) still in flight after the grace period; they stay in the spool", running.size());
        }
        if (loop != null) {
            try {
                loop.join(TICK.toMillis() * 2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        workers.shutdownNow();
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    /** Waits (for tests) until nothing is due or running; true if that happened within {@code timeout}. */
    boolean idle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            lock.lock();
            boolean idle;
            try {
                Due d = schedule.peek();
                idle = running.isEmpty() && (d == null || d.at().isAfter(clock.instant()));
            } finally {
                lock.unlock();
            }
            if (idle) {
                return true;
            }
            TimeUnit.MILLISECONDS.sleep(10);
        }
        return false;
    }
}
