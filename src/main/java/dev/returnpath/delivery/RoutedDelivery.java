package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.dns.Dns;

import java.time.Clock;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The delivery {@link Deliveries} hands out: it routes each message ({@link Router}) and
 * delivers every leg with one engine ({@link SmtpClient}, one pool keyed by next hop): a
 * {@link NextHop.Relay} through {@link SmarthostDelivery}, a {@link NextHop.Mx} through
 * {@link DirectDelivery}; legs at the same time when there are several.
 */
public final class RoutedDelivery implements Delivery {
    private final RelayConfig config;
    private final SmtpClient engine;
    private final Supplier<Dns> dns;
    private final Clock clock;
    private final ExecutorService legs = Executors.newVirtualThreadPerTaskExecutor();
    private SmarthostDelivery smarthost;
    private DirectDelivery direct;

    /** {@code dns} is asked once, the first time an MX leg needs it. */
    public RoutedDelivery(RelayConfig config, Supplier<Dns> dns) {
        this(config, dns, Clock.systemUTC());
    }

    /** {@code clock} decides when an OAuth token is due (tests pass a MutableClock). */
    public RoutedDelivery(RelayConfig config, Supplier<Dns> dns, Clock clock) {
        this.config = config;
        this.engine = new SmtpClient(SmarthostDelivery.settings(config));
        this.dns = dns;
        this.clock = clock;
    }

    @Override
    public DeliveryOutcome deliver(Envelope envelope, OutboundMessage message) {
        long start = System.nanoTime();
        List<Router.Leg> route = Router.route(config.delivery(), envelope.reversePath(), envelope.forwardPaths());
        List<RecipientOutcome> all = Legs.deliver(route, envelope, legs, leg -> switch (leg.hop()) {
            case NextHop.Relay r -> {
                DeliveryOutcome o = smarthost().deliver(r, new Envelope(envelope.id(), envelope.reversePath(), leg.forwardPaths()), message);
                yield o.recipients();
            }
            case NextHop.Mx mx -> direct().deliverDomain(mx, envelope.reversePath(), leg.forwardPaths(), message);
        });
        String relay = all.isEmpty() ? "none" : all.get(0).relay();
        return new DeliveryOutcome(relay, all, (System.nanoTime() - start) / 1e9);
    }

    private synchronized SmarthostDelivery smarthost() {
        if (smarthost == null) {
            smarthost = new SmarthostDelivery(config, engine, false, false, clock);
        }
        return smarthost;
    }

    private synchronized DirectDelivery direct() {
        if (direct == null) {
            direct = new DirectDelivery(config, dns.get(), null, new Random(), engine, false);
        }
        return direct;
    }

    /** Closes the pooled connections; deliveries still running finish on theirs. */
    @Override
    public void close() {
        engine.close();
        SmarthostDelivery s;
        synchronized (this) {
            s = smarthost;
        }
        if (s != null) {
            s.close(); // its token sources: a fetch under way still finishes
        }
    }
}
