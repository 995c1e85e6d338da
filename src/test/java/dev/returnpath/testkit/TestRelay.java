package dev.returnpath.testkit;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Deliveries;
import dev.returnpath.assembly.RelayAssembly;
import dev.returnpath.cleanup.SpfGuards;
import dev.returnpath.queue.QueueRunner;
import dev.returnpath.queue.Spool;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * A whole relay in the test's JVM, on a free loopback port, configured with HOCON that is
 * layered over a base pointing at {@code upstreamPort} with plain SMTP, or read from a file.
 * With {@code queue.mode = spool} it opens the spool and runs its queue on {@code clock}.
 */
public final class TestRelay implements AutoCloseable {
    public final RelayConfig config;
    public final ConfigHolder holder;
    private final RelayAssembly relay;
    public final dev.returnpath.ops.Metrics metrics = new dev.returnpath.ops.Metrics();
    /** Present in spool mode. */
    public final Spool spool;
    public final QueueRunner queue;

    public TestRelay(int upstreamPort, Path spool, String extraHocon) throws Exception {
        this(upstreamPort, spool, extraHocon, Clock.systemUTC());
    }

    /** With the SPF guard's DNS answered by {@code guards} (e.g. zone files through ZoneResolver). */
    public TestRelay(int upstreamPort, Path spool, String extraHocon, SpfGuards guards) throws Exception {
        this(upstreamPort, spool, extraHocon, guards, Clock.systemUTC(), new Deliveries());
    }

    /** With the queue, the arrival times and OAuth tokens on {@code clock}, e.g. a {@link MutableClock}. */
    public TestRelay(int upstreamPort, Path spool, String extraHocon, Clock clock) throws Exception {
        this(upstreamPort, spool, extraHocon, SpfGuards.overDnsjava(clock), clock, new Deliveries(clock));
    }

    /** Everything chosen by the test: SPF DNS, the queue's clock, the deliveries (e.g. direct, over test zones). */
    public TestRelay(int upstreamPort, Path spool, String extraHocon, SpfGuards guards, Clock clock,
                     Deliveries deliveries) throws Exception {
        this(ConfigLoader.parseString(baseHocon(upstreamPort, spool) + "\n" + extraHocon, "test.conf"), guards, clock,
                deliveries);
    }

    /** A relay whose configuration is read from {@code file}, as serve reads it (for reload tests). */
    public static TestRelay fromFile(Path file) throws Exception {
        return new TestRelay(ConfigLoader.load(file), SpfGuards.overDnsjava(Clock.systemUTC()), Clock.systemUTC(),
                new Deliveries());
    }

    /** Wired by the same assembler as serve. */
    private TestRelay(RelayConfig config, SpfGuards guards, Clock clock, Deliveries deliveries) throws Exception {
        this.config = config;
        holder = new ConfigHolder(config);
        relay = new RelayAssembly(holder, RelayAssembly.options().clock(clock).guards(guards).deliveries(deliveries)
                .metrics(metrics));
        this.spool = relay.spool().orElse(null);
        this.queue = relay.queue().orElse(null);
        relay.start();
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
        return relay.port();
    }

    public SmtpClient client() throws java.io.IOException {
        SmtpClient c = new SmtpClient(port());
        c.greeting();
        c.command("EHLO web01.internal");
        return c;
    }

    /** The graceful stop that SIGTERM runs in serve. */
    public void shutdown(Duration grace) {
        relay.drainListener(grace);
    }

    @Override
    public void close() {
        relay.close();
    }
}
