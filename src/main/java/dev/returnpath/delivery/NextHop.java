package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;

import java.util.Locale;

/**
 * Where a group of recipients goes next, resolved by {@link Router} before anything connects
 * (Postfix's trivial-rewrite gives a transport and a nexthop; this is that pair as a type).
 * Connection pools and the queue's per-destination limits are keyed by it, so two values are
 * equal exactly when they may share a connection.
 */
public sealed interface NextHop {

    /** The name of the route that chose this hop ({@code default} for {@code delivery.mode}). */
    String route();

    /** A smarthost, with its own TLS mode and credentials. */
    record Relay(String route, RelayConfig.Smarthost smarthost) implements NextHop {}

    /** The MX hosts of one recipient domain (lower case, as in the address otherwise). */
    record Mx(String route, String domain, RelayConfig.Direct direct) implements NextHop {
        public Mx {
            domain = domain.toLowerCase(Locale.ROOT);
        }
    }
}
