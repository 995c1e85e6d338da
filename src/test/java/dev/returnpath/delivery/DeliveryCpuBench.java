package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.testkit.RawSmtpServer;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * CPU per message of the SMTP clients, not a test: N messages of 4 KiB, one at a time, to a
 * raw-socket sink on loopback, and the CPU time of every thread but the sink's
 * ({@link ThreadMXBean}) divided by N. The process's CPU (sink, GC and JIT included) is printed
 * beside it.
 *
 * <pre>
 * mvn -o -q test-compile
 * java -cp target/classes:target/test-classes:$(cat target/test-classpath.txt) \
 *     dev.returnpath.delivery.DeliveryCpuBench [messages] [warmup]
 * </pre>
 * ({@code target/test-classpath.txt}: {@code mvn -o -q dependency:build-classpath
 * -Dmdep.outputFile=target/test-classpath.txt}.) Clients: {@code angus} (Angus Mail's
 * SMTPTransport, pooled, as smarthost delivery was), {@code mxsession} (the direct-delivery
 * client it replaced: a connection per message), {@code engine} and {@code engine-pipelining}
 * (the engine, pooled, to a sink without and with PIPELINING).
 */
public final class DeliveryCpuBench {

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5_000;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 3_000;
        List<String> clients = args.length > 2 ? List.of(args[2].split(",")) : List.of("angus", "mxsession", "engine", "engine-pipelining");
        byte[] body = new byte[4096];
        byte[] head = "From: noreply@example.com\r\nTo: user@example.net\r\nSubject: bench\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, body, 0, head.length);
        for (int i = head.length; i < body.length; i++) {
            body[i] = (byte) ((i % 78 == 77) ? '\n' : 'a' + i % 26);
        }
        OutboundMessage message = OutboundMessage.inMemory(body);
        System.out.printf(Locale.ROOT, "%-18s %10s %14s %14s%n", "client", "messages", "client us/msg", "process us/msg");
        for (String client : clients) {
            boolean pipelining = client.endsWith("pipelining");
            try (RawSmtpServer sink = pipelining ? RawSmtpServer.sink("PIPELINING", "8BITMIME") : RawSmtpServer.sink("8BITMIME")) {
                RelayConfig config = ConfigLoader.parseString("""
                        returnpath {
                          hostname = "relay.test"
                          delivery {
                            mode = smarthost
                            smarthost { host = "127.0.0.1", port = %d, tls = none }
                            connect-timeout = 2s
                            command-timeout = 10s
                          }
                        }
                        """.formatted(sink.port()), "bench.conf");
                Runnable one = sender(client, config, sink.port(), message);
                for (int i = 0; i < warmup; i++) {
                    one.run();
                }
                long[] before = cpu();
                for (int i = 0; i < n; i++) {
                    one.run();
                }
                long[] after = cpu();
                System.out.printf(Locale.ROOT, "%-18s %10d %14.1f %14.1f%n", client, n,
                        (after[0] - before[0]) / 1e3 / n, (after[1] - before[1]) / 1e3 / n);
                if (sink.messages.get() != n + warmup) {
                    throw new IllegalStateException(client + ": the sink got " + sink.messages.get() + " messages");
                }
            }
        }
        System.exit(0);
    }

    private static Runnable sender(String client, RelayConfig config, int port, OutboundMessage message) throws Exception {
        Envelope envelope = new Envelope("BENCH", "bounce@example.com", List.of("user@example.net"));
        Delivery d = switch (client) {
            case "angus" -> new AngusBaseline(config);
            case "mxsession" -> null;
            default -> new SmarthostDelivery(config);
        };
        if (d == null) {
            return MxSessionBaseline.sender(config, port, envelope, message);
        }
        return () -> {
            if (!d.deliver(envelope, message).allSent()) {
                throw new IllegalStateException(client + ": not sent");
            }
        };
    }

    /** {client threads' CPU, process CPU}, nanoseconds. */
    private static long[] cpu() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (t != null && !t.getThreadName().startsWith("raw-smtp")) {
                long c = threads.getThreadCpuTime(t.getThreadId());
                if (c > 0) {
                    sum += c;
                }
            }
        }
        long process = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
        return new long[] {sum, process};
    }

    private DeliveryCpuBench() {}
}
