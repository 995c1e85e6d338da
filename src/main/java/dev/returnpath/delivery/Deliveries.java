package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;

import java.util.function.Function;

/**
 * The delivery for the configuration in force: the same instance (and so the same pooled
 * upstream connections) as long as the delivery settings do not change; a reload that changes
 * them gets a new one, and the old one is closed.
 */
public final class Deliveries implements Function<RelayConfig, Delivery>, AutoCloseable {
    private RelayConfig.Delivery settings;
    private String hostname;
    private Delivery current;

    @Override
    public synchronized Delivery apply(RelayConfig config) {
        if (current == null || !config.delivery().equals(settings) || !config.hostname().equals(hostname)) {
            Delivery old = current;
            current = create(config);
            settings = config.delivery();
            hostname = config.hostname();
            if (old != null) {
                // transactions still using it finish: pooled connections are closed, and the
                // ones in use are closed when they are given back
                old.close();
            }
        }
        return current;
    }

    private static Delivery create(RelayConfig config) {
        return switch (config.delivery().mode()) {
            case SMARTHOST -> new SmarthostDelivery(config);
            // until direct delivery lands, a config that asks for it is refused at load
            case DIRECT -> throw new IllegalStateException("delivery.mode = direct is not available yet");
        };
    }

    @Override
    public synchronized void close() {
        if (current != null) {
            current.close();
        }
    }
}
