package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.BareNewline;
import dev.returnpath.config.RelayConfig.Listen;

import java.time.Duration;

/**
 * {@code returnpath.listen}: where the SMTP listener binds, who may connect, and the limits of
 * one session. The host is parsed once (brackets removed) so that the listener binds what the
 * operator wrote; {@code port = 0} is any free port (tests).
 */
final class ListenSection {
    private static final String P = "returnpath.listen.";

    private ListenSection() {}

    static Listen parse(ConfigReader r) throws ConfigException {
        return new Listen(
                r.host(P + "host", "listen.port"),
                r.port(P + "port", true),
                r.cidrs(P + "allowed-networks"),
                r.bytesIn(P + "max-message-size", 1024, Integer.MAX_VALUE),
                r.intIn(P + "max-recipients", 1, 100_000),
                r.intIn(P + "max-connections", 1, 100_000),
                r.enumOf(P + "bare-newline", BareNewline.class),
                r.durationIn(P + "idle-timeout", Duration.ofSeconds(1), Duration.ofHours(1)));
    }
}
