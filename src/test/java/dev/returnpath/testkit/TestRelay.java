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
 * layered over a base pointing at {@code upstreamPort} with plain SMTP, or read from a file.
 */
public final class TestRelay implements AutoCloseable {
    public final RelayConfig config;
    public final ConfigHolder holder;
    private final Inbound inbound;
    private final Deliveries deliveries = new Deliveries();
    public final dev.returnpath.ops.Metrics metrics = new dev.returnpath.ops.Metrics();

    public TestRelay(int upstreamPort, Path spool, String extraHocon) throws Exception {
        this(upstreamPort, spool, extraHocon, dev.returnpath.inbound.SpfGuards.overDnsjava(Clock.systemUTC()));
    }

    /** With the SPF guard's DNS answered by {@code guards} (e.g. zone files through ZoneResolver). */
    public TestRelay(int upstreamPort, Path spool, String extraHocon, dev.returnpath.inbound.SpfGuards guards)
            throws Exception {
        this(ConfigLoader.parseString(baseHocon(upstreamPort, spool) + "\n" + extraHocon, "test.conf"), guards);
    }

    /** A relay whose configuration is read from {@code file}, as serve reads it (for reload tests). */
    public static TestRelay fromFile(Path file) throws Exception {
        return new TestRelay(ConfigLoader.load(file), dev.returnpath.inbound.SpfGuards.overDnsjava(Clock.systemUTC()));
    }

    private TestRelay(RelayConfig config, dev.returnpath.inbound.SpfGuards guards) throws Exception {
        this.config = config;
        holder = new ConfigHolder(config);
        Relay relay = new Relay(deliveries, guards, metrics, Clock.systemUTC());
        inbound = new Inbound(holder, relay, Clock.systemUTC());
        inbound.start();
    }

    /** The base configuration: a free loopback port, plain SMTP to {@code upstreamPort}. */
    public static String baseHocon(int upstreamPort, Path spool) {
        return """
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
