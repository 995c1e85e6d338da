package dev.returnpath.cleanup;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.dns.Dns;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.spf.SpfEvaluator;
import dev.returnpath.spf.SpfGuard;

import java.time.Clock;
import java.util.Objects;
import java.util.function.Function;

/**
 * The SPF guard for the configuration in force: the same guard, and so the same cache, as long
 * as the DNS settings and the host name do not change; a reload that changes them starts a new
 * guard with an empty cache.
 */
public final class SpfGuards implements Function<RelayConfig, SpfGuard> {
    private final Function<RelayConfig.Dns, Dns> resolvers;
    private final Clock clock;
    private RelayConfig.Dns dnsSettings;
    private String hostname;
    private SpfGuard current;

    /** {@code resolvers} makes the DNS client for the given settings (tests pass zone files). */
    public SpfGuards(Function<RelayConfig.Dns, Dns> resolvers, Clock clock) {
        this.resolvers = resolvers;
        this.clock = clock;
    }

    /** The production guard: dnsjava against {@code dns.servers}, or the system's resolvers. */
    public static SpfGuards overDnsjava(Clock clock) {
        return new SpfGuards(d -> DnsjavaDns.create(d.servers(), d.timeout()), clock);
    }

    @Override
    public synchronized SpfGuard apply(RelayConfig config) {
        if (current == null || !config.dns().equals(dnsSettings) || !Objects.equals(config.hostname(), hostname)) {
            Dns dns = resolvers.apply(config.dns());
            current = new SpfGuard(new SpfEvaluator(dns, config.hostname(), clock, SpfEvaluator.DEFAULT_TIME_LIMIT), clock);
            dnsSettings = config.dns();
            hostname = config.hostname();
        }
        return current;
    }
}
