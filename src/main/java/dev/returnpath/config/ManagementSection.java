package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.Management;

/**
 * {@code returnpath.management}: the HTTP listener of {@code /healthz}, {@code /readyz} and
 * {@code /metrics}. {@code port = 0} turns it off. The host is loopback by default and, in the
 * image, every interface through {@code RETURNPATH_MANAGEMENT_HOST} (read by reference.conf).
 */
final class ManagementSection {
    private static final String P = "returnpath.management.";

    private ManagementSection() {}

    static Management parse(ConfigReader r) throws ConfigException {
        return new Management(r.host(P + "host", "management.port"), r.port(P + "port", true));
    }
}
