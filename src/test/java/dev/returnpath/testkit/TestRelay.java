package dev.returnpath.testkit;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Deliveries;
import dev.returnpath.inbound.Inbound;
import dev.returnpath.inbound.Relay;

import java.nio.file.Path;
import java.time.Clock;

/**
 * A whole relay in the test's JVM, on a free loopback port, configured with HOCON that is
 * layered over a base pointing at {@code upstreamPort} with plain SMTP.
 */
public final class TestRelay implements AutoCloseable {
    public final RelayConfig config;
    public final ConfigHolder holder;
    private final Inbound inbound;
    private final Deliveries deliveries = new Deliveries();
    public final dev.returnpath.ops.Metrics metrics = new dev.returnpath.ops.Metrics();

    public TestRelay(int upstreamPort, Path spool, String extraHocon) throws Exception {
        String base = """
                returnpath {
                  hostname = "relay.test"
                  listen { port = 0 }
                  domains { "example.com" { return-path = "bounce@example.com" } }
                  delivery {
                    mode = smarthost
                    smarthost { host = "127.0.0.1", port = %d, tls = none }
                    connect-timeout = 2s
                    command-timeout = 3s
                  }
                  queue.dir = "%s"
                }
                """.formatted(upstreamPort, spool.toString().replace("\\", "/"));
        config = ConfigLoader.parseString(base + "\n" + extraHocon, "test.conf");
        holder = new ConfigHolder(config);
        Relay relay = new Relay(deliveries, metrics, Clock.systemUTC());
        inbound = new Inbound(holder, relay, Clock.systemUTC());
        inbound.start();
    }

    public int port() {
        return inbound.port();
    }

    public SmtpClient client() throws java.io.IOException {
        SmtpClient c = new SmtpClient(port());
        c.greeting();
        c.command("EHLO web01.internal");
        return c;
    }

    @Override
    public void close() {
        inbound.close();
        deliveries.close();
    }
}
