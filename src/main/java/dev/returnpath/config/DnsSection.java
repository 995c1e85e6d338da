package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.Dns;

import java.time.Duration;

/**
 * {@code returnpath.dns}: the resolvers the SPF guard, direct delivery and the doctor ask, as
 * {@code host[:port]} entries (port 53 by default; an empty list is the system's resolvers),
 * and the timeout of one query to one server.
 */
final class DnsSection {
    private static final String P = "returnpath.dns.";

    /** RFC 1035 §4.2. */
    static final int DNS_PORT = 53;

    private DnsSection() {}

    static Dns parse(ConfigReader r) throws ConfigException {
        return new Dns(r.endpoints(P + "servers", DNS_PORT),
                r.durationIn(P + "timeout", Duration.ofMillis(50), Duration.ofMinutes(1)));
    }
}
