package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.OnFail;
import dev.returnpath.config.RelayConfig.Spf;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code returnpath.spf}: the guard's outbound IPs (literals only: a name here would make the
 * guard depend on a lookup of its own) and what a result other than pass does.
 */
final class SpfSection {
    private static final String P = "returnpath.spf.";

    private SpfSection() {}

    static Spf parse(ConfigReader r) throws ConfigException {
        List<InetAddress> outbound = new ArrayList<>();
        for (String ip : r.stringList(P + "outbound-ips")) {
            outbound.add(r.ipLiteral(P + "outbound-ips", ip));
        }
        return new Spf(List.copyOf(outbound), r.enumOf(P + "on-fail", OnFail.class));
    }
}
