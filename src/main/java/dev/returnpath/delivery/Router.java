package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.message.Addresses;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves a message's recipients to next hops: a pure function of the delivery settings and
 * the envelope, with no I/O (no DNS: an {@link NextHop.Mx} names the domain, its MX hosts are
 * looked up when it is delivered).
 *
 * <p>The route is chosen by the rewritten envelope sender ({@link #routeOf}): the first of
 * {@code delivery.routes} whose {@code sender-domains} holds the sender's domain or a parent
 * of it; otherwise the default route ({@code delivery.mode}), which also takes mail from the
 * null sender (DSNs: there is no sender domain to choose by). A smarthost takes every recipient
 * in one leg, direct delivery makes a leg per recipient domain; the hops carry the route's
 * name, so each route has pools and limits of its own. Legs keep the envelope's order: the
 * first recipient's leg first, and within a leg the recipients as the client gave them.
 */
public final class Router {
    /** The name of the route {@code delivery.mode} describes. */
    public static final String DEFAULT_ROUTE = RelayConfig.DEFAULT_ROUTE;

    private Router() {}

    /** Recipients that share a next hop. */
    public record Leg(NextHop hop, List<String> forwardPaths) {
        public Leg {
            forwardPaths = List.copyOf(forwardPaths);
        }
    }

    /** The route mail from {@code reversePath} takes: empty for the default route. */
    public static Optional<RelayConfig.Route> routeOf(RelayConfig.Delivery delivery, String reversePath) {
        if (delivery.routes().isEmpty() || reversePath.isEmpty()) {
            return Optional.empty();
        }
        Optional<String> domain = Addresses.domainOf(reversePath).flatMap(RelayConfig::asciiDomain);
        if (domain.isEmpty()) {
            return Optional.empty();
        }
        for (RelayConfig.Route r : delivery.routes()) {
            if (r.holds(domain.get())) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** The name of the route mail from {@code reversePath} takes ({@link #DEFAULT_ROUTE} for the default). */
    public static String routeName(RelayConfig.Delivery delivery, String reversePath) {
        return routeOf(delivery, reversePath).map(RelayConfig.Route::name).orElse(DEFAULT_ROUTE);
    }

    /** The legs of a message from {@code reversePath} to {@code forwardPaths}. */
    public static List<Leg> route(RelayConfig.Delivery delivery, String reversePath, List<String> forwardPaths) {
        if (forwardPaths.isEmpty()) {
            return List.of();
        }
        Optional<RelayConfig.Route> chosen = routeOf(delivery, reversePath);
        if (chosen.isPresent()) {
            RelayConfig.Route r = chosen.get();
            return switch (r.mode()) {
                case SMARTHOST -> List.of(new Leg(new NextHop.Relay(r.name(), r.smarthost().orElseThrow()), forwardPaths));
                case DIRECT -> byDomain(r.name(), delivery.direct(), forwardPaths);
            };
        }
        return switch (delivery.mode()) {
            case SMARTHOST -> List.of(new Leg(new NextHop.Relay(DEFAULT_ROUTE, delivery.smarthost()), forwardPaths));
            case DIRECT -> byDomain(DEFAULT_ROUTE, delivery.direct(), forwardPaths);
        };
    }

    /**
     * The name a recipient line gives the route of {@code hop}: none when no routes are
     * configured (the lines stay as they always were), else the route's, {@code default} included,
     * so that {@code grep route=default} finds the mail no route took.
     */
    public static Optional<String> logName(RelayConfig.Delivery delivery, NextHop hop) {
        return delivery.routes().isEmpty() ? Optional.empty() : Optional.of(hop.route());
    }

    /** Direct delivery's legs for {@code route}: one per recipient domain, in order of first appearance. */
    static List<Leg> byDomain(String route, RelayConfig.Direct direct, List<String> forwardPaths) {
        Map<NextHop, List<String>> byHop = new LinkedHashMap<>();
        for (String rcpt : forwardPaths) {
            String domain = Addresses.domainOf(rcpt).orElse("");
            byHop.computeIfAbsent(new NextHop.Mx(route, domain, direct), k -> new ArrayList<>()).add(rcpt);
        }
        List<Leg> legs = new ArrayList<>(byHop.size());
        byHop.forEach((hop, rcpts) -> legs.add(new Leg(hop, rcpts)));
        return List.copyOf(legs);
    }
}
