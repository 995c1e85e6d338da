package dev.returnpath.queue;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Delivery;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.delivery.NextHop;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.delivery.Reply;
import dev.returnpath.delivery.Router;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One delivery attempt of a spooled message (Postfix's {@code qmgr_deliver.c}): the I/O around
 * the {@link AttemptStep}.
 *
 * <p>{@link #run} locks the entry (the {@code queue} command may hold it: then it says to look
 * again soon), re-reads its envelope from disk (the disk is the truth: {@code queue delete} may
 * have removed it), routes the recipients not yet done to their next hops ({@link Router}),
 * delivers each leg holding one of {@code destination-concurrency} permits of its
 * {@link NextHop}, logs a line per recipient, lets the step decide, spools the DSNs it asks for
 * ({@link Bounces}) <em>before</em> it writes the recipients as bounced (a crash can duplicate a
 * DSN, never lose it), and writes the entry back or removes it. It never throws: a spool error
 * makes it try again after {@code first-retry}.
 */
final class Attempts implements Scheduler.Attempt {
    private static final Logger log = LoggerFactory.getLogger("returnpath.queue");
    /** When an entry is locked by the {@code queue} command, look again after this. */
    static final Duration BUSY_RETRY = Duration.ofSeconds(1);
    /** The part of a message's header block quoted in a DSN (RFC 6522 text/rfc822-headers). */
    static final int DSN_HEADER_LIMIT = 64 * 1024;

    /** Commits a new message to the spool and schedules it (the DSNs this writes). */
    @FunctionalInterface
    interface Enqueue {
        /** {@code committed} runs once the message is durable and before its first attempt can start. */
        void enqueue(QueueEntry entry, OutboundMessage message, Runnable committed) throws IOException;
    }

    private final Spool spool;
    private final ConfigHolder configs;
    private final Function<RelayConfig, Delivery> deliveries;
    private final Clock clock;
    private final Supplier<String> ids;
    private final Metrics metrics;
    private final ExecutorService workers;
    private final Enqueue enqueue;
    /**
     * Permits per next hop, keyed with their number too: a reload that changes a route's
     * {@code destination-concurrency} takes effect with a new semaphore (the old one drains).
     */
    private final HopPermits<Limit> destinations = new HopPermits<>();

    private record Limit(NextHop hop, int permits) {}
    private final DeadRoutes<NextHop> deadRoutes = new DeadRoutes<>();
    /** Entries deferred without a connection, per hop: tried again as soon as the hop is back. */
    private final Map<NextHop, java.util.Set<String>> waitingFor = new ConcurrentHashMap<>();
    private volatile java.util.function.Consumer<String> retryNow = id -> { };

    Attempts(Spool spool, ConfigHolder configs, Function<RelayConfig, Delivery> deliveries, Clock clock,
             Supplier<String> ids, Metrics metrics, ExecutorService workers, Enqueue enqueue) {
        this.spool = spool;
        this.configs = configs;
        this.deliveries = deliveries;
        this.clock = clock;
        this.ids = ids;
        this.metrics = metrics;
        this.workers = workers;
        this.enqueue = enqueue;
    }

    @Override
    public Optional<Instant> run(String id) throws InterruptedException {
        try {
            Optional<Spool.EntryLock> held = spool.tryLock(id);
            if (held.isEmpty()) {
                // the queue command has it; or it is gone
                return spool.contains(id) ? Optional.of(clock.instant().plus(BUSY_RETRY)) : Optional.empty();
            }
            try (Spool.EntryLock ignored = held.get()) {
                return attemptLocked(id);
            }
        } catch (Spool.CorruptEntryException c) {
            Scheduler.setAside(spool, c);
            return Optional.empty();
        } catch (IOException e) {
            log.error("{}: spool error, will try again: {}", id, e.getMessage());
            return Optional.of(clock.instant().plus(configs.get().queue().firstRetry()));
        } catch (RuntimeException e) {
            log.error("{}: unexpected error in a delivery attempt, will try again", id, e);
            return Optional.of(clock.instant().plus(configs.get().queue().firstRetry()));
        }
    }

    /** A recipient's outcome, and the next hop that gave it (none: the router gave it no leg). */
    private record Delivered(Optional<NextHop> hop, RecipientOutcome outcome) {}

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

        Map<Integer, Delivered> delivered = deliver(entry, cfg);
        Instant now = clock.instant();
        double delay = Duration.between(entry.arrival(), now).toMillis() / 1000.0;
        Map<Integer, RecipientOutcome> outcomes = new TreeMap<>();
        for (Map.Entry<Integer, Delivered> e : delivered.entrySet()) {
            RecipientOutcome o = e.getValue().outcome();
            MailEvent.Recipient line = MailEvent.Recipient.of(id,
                    e.getValue().hop().flatMap(hop -> Router.logName(cfg.delivery(), hop)), o, o.relay(), delay);
            metrics.upstreamReply(o.upstreamSaid() ? o.reply().code() : 0, MailEvent.Recipient.metricCause(o, line));
            MailLog.log(line);
            outcomes.put(e.getKey(), o);
        }

        AttemptStep.Plan plan = AttemptStep.plan(entry, outcomes, now, cfg.queue());
        for (int i : plan.expired()) {
            Recipient r = plan.recipients().get(i);
            MailLog.log(new MailEvent.Expired(id, r.address(), delay, Reply.parse(451, r.reply()).enhancedOrDefault(),
                    plan.expiryNote()));
        }
        boolean bounced = plan.failed().isEmpty() || report(entry, now, "sender non-delivery notification",
                original -> Bounces.nonDelivery(cfg.hostname(), original, plan.failureReports(), zoned(now), ids));
        boolean warned = !plan.warningDue() || report(entry, now, "sender delay notification",
                original -> Bounces.delayWarning(cfg.hostname(), original, plan.delayReports(), zoned(now),
                        zoned(plan.expiresAt()), ids));

        AttemptStep.Next next = plan.settle(bounced, warned);
        count(next.entry());
        if (next.removed()) {
            spool.remove(id);
            MailLog.log(new MailEvent.Removed(id));
            return Optional.empty();
        }
        spool.update(next.entry());
        return next.nextAttempt();
    }

    /**
     * Spools the report {@code build} makes, and logs its lines. Returns false only when it could
     * not be committed (nor its original's headers read).
     */
    private boolean report(QueueEntry entry, Instant now, String what,
                           Function<Bounces.Original, Bounces.Notice> build) {
        try {
            byte[] headers = entry.returnPath().isEmpty() ? new byte[0] : headersOf(entry.id());
            Bounces.Original original = new Bounces.Original(entry.id(), entry.returnPath(),
                    zoned(entry.arrival()), headers);
            Bounces.Notice notice = build.apply(original);
            if (notice instanceof Bounces.Notice.Send dsn) {
                QueueEntry e = new QueueEntry(dsn.id(), now, "", "", "", "", dsn.message().length, 0, now, false,
                        List.of(new Recipient(entry.returnPath(), State.PENDING, "", "")));
                // the DSN's lines (its arrival line among them) before its delivery can log
                enqueue.enqueue(e, OutboundMessage.inMemory(dsn.message()), () -> notice.lines().forEach(MailLog::log));
            } else {
                notice.lines().forEach(MailLog::log);
            }
            return true;
        } catch (IOException e) {
            log.error("{}: cannot queue the {}: {}", entry.id(), what, e.getMessage());
            return false;
        }
    }

    private ZonedDateTime zoned(Instant t) {
        return ZonedDateTime.ofInstant(t, clock.getZone());
    }

    /** returnpath_messages_total for what this attempt finished: relayed, bounced, or deferred. */
    private void count(QueueEntry after) {
        if (after.isDone()) {
            boolean anyBounced = after.recipients().stream().anyMatch(r -> r.state() == State.BOUNCED);
            metrics.message(anyBounced ? "bounced" : "relayed", "spool");
        } else {
            metrics.message("deferred", "spool");
        }
    }

    /** The header block of a spooled message (up to the empty line), for the DSN. */
    private byte[] headersOf(String id) throws IOException {
        try (InputStream in = spool.openMessage(id)) {
            return Bounces.headerBlock(in.readNBytes(DSN_HEADER_LIMIT));
        }
    }

    /**
     * Delivers to the unfinished recipients, a leg per next hop, each leg holding one of its
     * hop's permits. Returns the outcome per recipient index, in recipient order; each outcome's
     * relay is the server it came from.
     */
    private Map<Integer, Delivered> deliver(QueueEntry entry, RelayConfig cfg) throws InterruptedException {
        Map<String, ArrayDeque<Integer>> byAddress = new HashMap<>();
        List<String> todo = new ArrayList<>();
        for (int i = 0; i < entry.recipients().size(); i++) {
            Recipient r = entry.recipients().get(i);
            if (!r.isFinal()) {
                byAddress.computeIfAbsent(r.address(), k -> new ArrayDeque<>()).add(i);
                todo.add(r.address());
            }
        }
        List<Router.Leg> legs = Router.route(cfg.delivery(), entry.returnPath(), todo);
        Delivery delivery = deliveries.apply(cfg);
        OutboundMessage message = spool.message(entry);
        record Running(NextHop hop, DeadRoutes.Admit admit, List<Integer> idx, Future<DeliveryOutcome> outcome) {}
        List<Running> running = new ArrayList<>(legs.size());
        for (Router.Leg leg : legs) {
            List<Integer> idx = new ArrayList<>(leg.forwardPaths().size());
            for (String rcpt : leg.forwardPaths()) {
                ArrayDeque<Integer> at = byAddress.get(rcpt);
                Integer i = at == null ? null : at.poll();
                if (i == null) {
                    throw new IllegalStateException("the router returned a forward path it was not given: " + rcpt);
                }
                idx.add(i);
            }
            Limit limit = new Limit(leg.hop(), permitsFor(cfg, leg.hop()));
            Envelope envelope = new Envelope(entry.id(), entry.returnPath(), leg.forwardPaths());
            DeadRoutes.Admit admit = deadRoutes.admit(leg.hop(), clock.instant());
            if (admit == DeadRoutes.Admit.DEFER) {
                // the hop is down: no connection, no permit, the recipients wait for their retry
                // (or for the probe that finds the hop back)
                waitingFor.computeIfAbsent(leg.hop(), k -> ConcurrentHashMap.newKeySet()).add(entry.id());
                running.add(new Running(leg.hop(), admit, idx, CompletableFuture.completedFuture(
                        notTried(leg.hop(), leg.forwardPaths()))));
                continue;
            }
            Callable<DeliveryOutcome> task = () -> {
                destinations.acquire(limit, limit.permits());
                try {
                    return delivery.deliver(envelope, message);
                } finally {
                    destinations.release(limit);
                }
            };
            // one leg (always so with a smarthost): deliver on this thread, no hand-off
            Future<DeliveryOutcome> f = legs.size() == 1 ? inline(task) : workers.submit(task);
            running.add(new Running(leg.hop(), admit, idx, f));
        }
        Map<Integer, Delivered> out = new TreeMap<>(); // logged in recipient order
        // a recipient no leg holds would otherwise wait forever, never tried and so never expired
        byAddress.values().forEach(left -> left.forEach(i -> out.put(i, new Delivered(Optional.empty(),
                new RecipientOutcome(entry.recipients().get(i).address(), DeliveryOutcome.Status.DEFERRED,
                        Reply.of(451, "4.3.0", "no route to this recipient"), false)))));
        for (Running r : running) {
            DeliveryOutcome o;
            try {
                o = r.outcome().get();
            } catch (ExecutionException e) {
                // Delivery promises not to throw; if it does, nothing was confirmed: try again later
                Reply reply = Reply.of(451, "4.3.0", "internal error: " + e.getCause());
                routeResult(r.hop(), r.admit(), true, reply.text()); // a probe that told nothing: wait again
                for (int i : r.idx()) {
                    out.put(i, new Delivered(Optional.of(r.hop()), new RecipientOutcome(entry.recipients().get(i).address(),
                            DeliveryOutcome.Status.DEFERRED, reply, false)));
                }
                continue;
            }
            routeResult(r.hop(), r.admit(), connectFailed(o), o.recipients().isEmpty() ? ""
                    : o.recipients().get(0).reply().text());
            // outcomes come in the envelope's order (Delivery's contract)
            for (int k = 0; k < r.idx().size() && k < o.recipients().size(); k++) {
                RecipientOutcome ro = o.recipients().get(k);
                out.put(r.idx().get(k), new Delivered(Optional.of(r.hop()), ro.withRelay(o.relayOf(ro))));
            }
        }
        return out;
    }

    /** Who reschedules an entry now (the scheduler), for the entries that waited for a hop to be back. */
    void onRetryNow(java.util.function.Consumer<String> retry) {
        this.retryNow = retry;
    }

    /**
     * {@code queue flush}: every hop counts as alive again, so that every message is really tried
     * (otherwise one probe would go and the rest would wait for their retry once more).
     */
    void flushRoutes() {
        deadRoutes.clear();
        waitingFor.clear();
    }

    /** True when the leg never got past the connect: the relay's own 4.4.1 for every recipient. */
    static boolean connectFailed(DeliveryOutcome o) {
        return !o.recipients().isEmpty() && o.recipients().stream()
                .allMatch(r -> !r.upstreamSaid() && "4.4.1".equals(r.reply().enhanced()));
    }

    /** The outcome of a leg not tried because its hop is down: each recipient deferred, nothing sent. */
    private DeliveryOutcome notTried(NextHop hop, List<String> forwardPaths) {
        DeadRoutes.Dead d = deadRoutes.state(hop).orElse(null);
        String why = d == null ? "" : " since " + d.since() + " (" + d.reply() + ")";
        Reply reply = Reply.of(451, "4.4.1", describe(hop) + " is down" + why + "; not tried, waiting for its retry");
        List<RecipientOutcome> out = new ArrayList<>(forwardPaths.size());
        for (String rcpt : forwardPaths) {
            out.add(new RecipientOutcome(rcpt, DeliveryOutcome.Status.DEFERRED, reply, false));
        }
        return new DeliveryOutcome("", out, 0);
    }

    private void routeResult(NextHop hop, DeadRoutes.Admit admit, boolean connectFailed, String reply) {
        RelayConfig.Queue q = configs.get().queue();
        deadRoutes.result(hop, admit, connectFailed, reply, clock.instant(), q.firstRetry(), q.maxRetryInterval())
                .ifPresent(change -> {
            switch (change) {
                case DeadRoutes.Change.Died d -> log.warn("next hop {} is down ({}): its messages wait for their "
                        + "retry without a connection attempt; one probe in {}", describe(hop), reply,
                        AttemptStep.human(d.firstProbe()));
                case DeadRoutes.Change.StillDead d -> log.info("next hop {} is still down ({}); next probe in {}",
                        describe(hop), reply, AttemptStep.human(d.nextProbe()));
                case DeadRoutes.Change.Alive a -> {
                    java.util.Set<String> waiting = waitingFor.remove(hop);
                    int n = waiting == null ? 0 : waiting.size();
                    log.info("next hop {} is up again after {}; {} attempt(s) were deferred without a connection "
                            + "meanwhile, {} message(s) tried now", describe(hop), AttemptStep.human(a.downFor()),
                            a.deferred(), n);
                    if (waiting != null) {
                        waiting.forEach(retryNow);
                    }
                }
            }
        });
    }

    /** The deliveries in flight a hop may have: its route's {@code destination-concurrency}, else the queue's. */
    static int permitsFor(RelayConfig cfg, NextHop hop) {
        for (RelayConfig.Route r : cfg.delivery().routes()) {
            if (r.name().equals(hop.route()) && r.destinationConcurrency().isPresent()) {
                return r.destinationConcurrency().getAsInt();
            }
        }
        return cfg.queue().destinationConcurrency();
    }

    /** A hop as an operator knows it, never its credentials. */
    static String describe(NextHop hop) {
        return switch (hop) {
            case NextHop.Relay r -> "smarthost " + r.smarthost().host().orElse("?") + ":" + r.smarthost().port()
                    + " (route " + r.route() + ")";
            case NextHop.Mx m -> "MX of " + m.domain() + " (route " + m.route() + ")";
        };
    }

    private static Future<DeliveryOutcome> inline(Callable<DeliveryOutcome> task) throws InterruptedException {
        try {
            return CompletableFuture.completedFuture(task.call());
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
