package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.message.Addresses;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves a message's recipients to next hops: a pure function of the delivery settings and
 * the envelope, with no I/O (no DNS: an {@link NextHop.Mx} names the domain, its MX hosts are
 * looked up when it is delivered).
 *
 * <p>The route is chosen by the rewritten envelope sender; today there is one, the default
 * ({@code delivery.mode}): a smarthost takes every recipient in one leg, direct delivery makes
 * a leg per recipient domain. Legs keep the envelope's order: the first recipient's leg first,
 * and within a leg the recipients as the client gave them.
 */
public final class Router {
    /** The name of the route {@code delivery.mode} describes. */
    public static final String DEFAULT_ROUTE = "default";

    private Router() {}

    /** Recipients that share a next hop. */
    public record Leg(NextHop hop, List<String> forwardPaths) {
        public Leg {
            forwardPaths = List.copyOf(forwardPaths);
        }
    }

    /** The legs of a message from {@code reversePath} to {@code forwardPaths}. */
    public static List<Leg> route(RelayConfig.Delivery delivery, String reversePath, List<String> forwardPaths) {
        return switch (delivery.mode()) {
            case SMARTHOST -> forwardPaths.isEmpty() ? List.of()
                    : List.of(new Leg(new NextHop.Relay(DEFAULT_ROUTE, delivery.smarthost()), forwardPaths));
            case DIRECT -> {
                Map<NextHop, List<String>> byHop = new LinkedHashMap<>();
                for (String rcpt : forwardPaths) {
                    String domain = Addresses.domainOf(rcpt).orElse("");
                    byHop.computeIfAbsent(new NextHop.Mx(DEFAULT_ROUTE, domain, delivery.direct()),
                            k -> new ArrayList<>()).add(rcpt);
                }
                List<Leg> legs = new ArrayList<>(byHop.size());
                byHop.forEach((hop, rcpts) -> legs.add(new Leg(hop, rcpts)));
                yield List.copyOf(legs);
            }
        };
    }
}
