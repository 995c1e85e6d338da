package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.dns.Dns;
import dev.returnpath.dns.DnsjavaDns;

import java.time.Clock;
import java.util.function.Function;

/**
 * The delivery for the configuration in force: the same instance (and so the same pooled
 * upstream connections) as long as the delivery settings do not change; a reload that changes
 * them gets a new one, and the old one is closed.
 */
public final class Deliveries implements Function<RelayConfig, Delivery>, AutoCloseable {
    private final Function<RelayConfig.Dns, Dns> resolvers;
    private final Clock clock;
    private RelayConfig.Delivery settings;
    private RelayConfig.Dns dnsSettings;
    private String hostname;
    private Delivery current;

    /** Direct delivery looks MX hosts up with dnsjava, through {@code dns.servers}. */
    public Deliveries() {
        this(Clock.systemUTC());
    }

    /** As {@link #Deliveries()}, with OAuth tokens timed by {@code clock} (tests pass a MutableClock). */
    public Deliveries(Clock clock) {
        this(d -> DnsjavaDns.create(d.servers(), d.timeout()), clock);
    }

    /** {@code resolvers} makes the DNS client for direct delivery (tests pass zone files). */
    public Deliveries(Function<RelayConfig.Dns, Dns> resolvers) {
        this(resolvers, Clock.systemUTC());
    }

    private Deliveries(Function<RelayConfig.Dns, Dns> resolvers, Clock clock) {
        this.resolvers = resolvers;
        this.clock = clock;
    }

    @Override
    public synchronized Delivery apply(RelayConfig config) {
        boolean dnsChanged = config.delivery().deliversDirect() && !config.dns().equals(dnsSettings);
        if (current == null || !config.delivery().equals(settings) || !config.hostname().equals(hostname) || dnsChanged) {
            Delivery old = current;
            current = create(config);
            settings = config.delivery();
            dnsSettings = config.dns();
            hostname = config.hostname();
            if (old != null) {
                // transactions still using it finish: pooled connections are closed, and the
                // ones in use are closed when they are given back
                old.close();
            }
        }
        return current;
    }

    private Delivery create(RelayConfig config) {
        return new RoutedDelivery(config, () -> resolvers.apply(config.dns()), clock);
    }

    @Override
    public synchronized void close() {
        if (current != null) {
            current.close();
        }
    }
}
