package dev.returnpath.assembly;

import dev.returnpath.cleanup.Cleanup;
import dev.returnpath.cleanup.SpfGuards;
import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Deliveries;
import dev.returnpath.handoff.Handoff;
import dev.returnpath.handoff.Passthrough;
import dev.returnpath.handoff.Spooling;
import dev.returnpath.inbound.Inbound;
import dev.returnpath.inbound.MessageSink;
import dev.returnpath.inbound.QueueId;
import dev.returnpath.inbound.Receiver;
import dev.returnpath.ops.Metrics;
import dev.returnpath.queue.ContainerVolume;
import dev.returnpath.queue.QueueRunner;
import dev.returnpath.queue.Spool;
import dev.returnpath.queue.SpoolDirectory;
import dev.returnpath.spf.SpfGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

/**
 * The relay, wired: listener → cleanup → hand-off (passthrough, or spool and queue manager),
 * over one set of deliveries. {@code serve} and the tests build it the same way; only what a
 * test must replace (the clock, the SPF guard's DNS, the deliveries' DNS) is a choice.
 *
 * <pre>
 *   Inbound ─ReceivedMessage─▶ Cleanup ─PreparedMessage─▶ Handoff ─┬─ Passthrough ▶ Deliveries
 *                                                                  └─ Spooling ▶ Spool ▶ QueueRunner ▶ Deliveries
 * </pre>
 *
 * The mode is fixed when it is built (the spool is opened then); a reload changes everything
 * else for the transactions that start after it.
 */
public final class RelayAssembly implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath");

    private final ConfigHolder holder;
    private final Metrics metrics;
    private final Deliveries deliveries;
    private final Optional<Spool> spool;
    private final Optional<QueueRunner> queue;
    private final Receiver receiver;
    private final Inbound inbound;
    private final Optional<dev.returnpath.bounce.BounceIntake> bounces;

    /** What a test may choose; {@code serve} takes the defaults. */
    public static final class Options {
        Clock clock = Clock.systemDefaultZone();
        Function<RelayConfig, SpfGuard> guards;
        Deliveries deliveries;
        Metrics metrics;

        public Options clock(Clock c) {
            clock = c;
            return this;
        }

        /** The SPF guard per configuration (default: dnsjava on {@code dns.servers}). */
        public Options guards(Function<RelayConfig, SpfGuard> g) {
            guards = g;
            return this;
        }

        /** The deliveries (default: direct delivery's MX lookups on dnsjava). */
        public Options deliveries(Deliveries d) {
            deliveries = d;
            return this;
        }

        public Options metrics(Metrics m) {
            metrics = m;
            return this;
        }
    }

    public static Options options() {
        return new Options();
    }

    /**
     * Builds the relay for {@code holder}'s configuration: opens the spool in spool mode (an
     * {@link IOException}, e.g. {@link Spool.BusyException}, when it cannot be used), or clears
     * what a crashed passthrough relay left in {@code queue.dir/incoming}. Nothing listens or
     * delivers until {@link #start}.
     */
    public RelayAssembly(ConfigHolder holder, Options o) throws IOException {
        this.holder = holder;
        RelayConfig cfg = holder.get();
        Clock clock = o.clock;
        this.metrics = o.metrics != null ? o.metrics : new Metrics();
        this.deliveries = o.deliveries != null ? o.deliveries : new Deliveries();
        Function<RelayConfig, SpfGuard> guards = o.guards != null ? o.guards : SpfGuards.overDnsjava(clock);
        QueueId ids = new QueueId();
        SpoolDirectory.prepare(cfg.queue().dir()); // 0700, no symbolic links, our own
        Handoff handoff;
        if (cfg.queue().mode() == RelayConfig.QueueMode.SPOOL) {
            Spool s = Spool.open(cfg.queue().dir());
            ContainerVolume.warning(cfg.queue().dir()).ifPresent(w -> log.warn("{}", w));
            QueueRunner runner = new QueueRunner(s, holder, deliveries, clock, ids::next, metrics);
            this.spool = Optional.of(s);
            this.queue = Optional.of(runner);
            handoff = new Spooling(runner, metrics, clock);
        } else {
            try {
                int removed = Receiver.removeIncomingLeftovers(cfg.queue().dir());
                if (removed > 0) {
                    log.info("{}: removed {} file(s) of transactions that never completed",
                            cfg.queue().dir().resolve("incoming"), removed);
                }
            } catch (IOException e) {
                log.warn("cannot clean {}: {}", cfg.queue().dir().resolve("incoming"), e.getMessage());
            }
            this.spool = Optional.empty();
            this.queue = Optional.empty();
            handoff = new Passthrough(deliveries, metrics, clock, ids);
        }
        Cleanup cleanup = new Cleanup(guards, metrics, clock);
        MessageSink sink = m -> handoff.handOff(cleanup.prepare(m));
        this.receiver = new Receiver(sink, metrics, ids);
        this.inbound = new Inbound(holder, receiver, clock);
        this.bounces = dev.returnpath.bounce.BounceIntake.forConfig(cfg, metrics, clock);
    }

    /** Starts the queue manager (spool mode), then the listener. */
    public void start() throws IOException {
        if (queue.isPresent()) {
            queue.get().start();
        }
        inbound.start();
        bounces.ifPresent(dev.returnpath.bounce.BounceIntake::start);
    }

    /** The port the listener is bound to (useful with {@code listen.port = 0}). */
    public int port() {
        return inbound.port();
    }

    public boolean isRunning() {
        return inbound.isRunning();
    }

    public ConfigHolder holder() {
        return holder;
    }

    public Metrics metrics() {
        return metrics;
    }

    public Optional<Spool> spool() {
        return spool;
    }

    public Optional<QueueRunner> queue() {
        return queue;
    }

    /**
     * The graceful stop of SIGTERM: no new sessions or transactions; those in flight and the
     * queue's attempts get {@code grace} to finish; then everything is closed.
     */
    public void shutdown(Duration grace) {
        // the queue stops starting attempts at once, and finishes its own within the same grace
        bounces.ifPresent(dev.returnpath.bounce.BounceIntake::close);
        Thread q = queue.map(r -> Thread.ofPlatform().daemon().start(() -> r.shutdown(grace))).orElse(null);
        inbound.shutdown(grace);
        receiver.close();
        if (q != null) {
            try {
                q.join(grace.toMillis() + 3_000);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }
        deliveries.close();
        spool.ifPresent(Spool::close);
    }

    /** Stops at once: the listener closes its sessions; queue attempts get a few seconds. */
    @Override
    public void close() {
        bounces.ifPresent(dev.returnpath.bounce.BounceIntake::close);
        inbound.close();
        receiver.close();
        queue.ifPresent(r -> r.shutdown(Duration.ofSeconds(5)));
        spool.ifPresent(Spool::close);
        deliveries.close();
    }

    /** Graceful listener stop only (the tests' view of SIGTERM on the listener). */
    public void drainListener(Duration grace) {
        inbound.shutdown(grace);
    }
}
