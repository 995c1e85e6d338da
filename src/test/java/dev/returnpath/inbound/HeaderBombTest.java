package dev.returnpath.inbound;

import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Large header sections against a relay whose heap is small: a child JVM at {@code -Xmx64m}
 * running {@code serve}, its upstream holding every DATA for seconds so that every session's
 * header is held at once. Sessions over the header limits are refused with 552 5.3.4 after their
 * DATA; sessions just under it are relayed, all at once; the relay is alive after it all.
 */
class HeaderBombTest {
    @TempDir
    Path dir;

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A header of about {@code bytes} bytes in fields of {@code fieldBytes} each (then From and an empty line). */
    static byte[] message(int bytes, int fieldBytes) {
        StringBuilder b = new StringBuilder(bytes + 200);
        b.append("From: noreply@example.com\r\nSubject: big header\r\n");
        String value = "x".repeat(Math.max(0, fieldBytes - 12));
        int i = 0;
        while (b.length() < bytes) {
            b.append(String.format("X-%06d: ", i++ % 1_000_000)).append(value, 0, Math.max(0, fieldBytes - 12)).append("\r\n");
        }
        b.append("\r\nbody\r\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** 209,000 fields of four bytes ({@code a:} CRLF), the other half of the audit's probe. */
    static byte[] tinyFields() {
        StringBuilder b = new StringBuilder("From: noreply@example.com\r\n");
        b.append("a:\r\n".repeat(209_000));
        b.append("\r\nbody\r\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void sessionsOfLargeHeadersNeitherKillASmallHeapRelayNorGetThrough() throws Exception {
        try (Upstream upstream = new Upstream()) {
            upstream.stallMillisAtData = 3000; // every accepted header is held while the upstream answers
            int port = freePort();
            Path conf = dir.resolve("returnpath.conf");
            Files.writeString(conf, """
                    returnpath {
                      hostname = "relay.test"
                      listen { port = %d } # 28 sessions from loopback at once: not limited per IP
                      management.port = 0
                      domains { "example.com" { return-path = "bounce@example.com" } }
                      delivery {
                        mode = smarthost
                        smarthost { host = "127.0.0.1", port = %d, tls = none }
                        command-timeout = 30s
                      }
                      queue.dir = "%s"
                    }
                    """.formatted(port, upstream.port(), dir.resolve("spool")));
            Path log = dir.resolve("serve.log");
            Process serve = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx64m", "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"),
                    "dev.returnpath.cli.Main", "serve", "--config", conf.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                awaitListening(port, serve, log);
                ExecutorService pool = Executors.newFixedThreadPool(29);
                List<Future<String>> over = new ArrayList<>();
                List<Future<String>> under = new ArrayList<>();
                byte[] oneMiB = message((1 << 20) - 2048, 1000);
                byte[] justUnder = message(DataReceiver.MAX_HEADER_BYTES - 4096, 400);
                for (int i = 0; i < 12; i++) {
                    over.add(pool.submit(() -> send(port, oneMiB)));
                }
                over.add(pool.submit(() -> send(port, tinyFields())));
                for (int i = 0; i < 16; i++) {
                    under.add(pool.submit(() -> send(port, justUnder)));
                }
                for (Future<String> f : over) {
                    assertThat(f.get(120, TimeUnit.SECONDS)).startsWith("552 5.3.4 Message header exceeds");
                }
                for (Future<String> f : under) {
                    assertThat(f.get(120, TimeUnit.SECONDS)).startsWith("250 2.0.0 Ok: relayed as ");
                }
                pool.shutdown();
                assertThat(serve.isAlive()).as("serve is still running").isTrue();
                upstream.stallMillisAtData = 0;
                assertThat(send(port, "From: noreply@example.com\r\n\r\nafter\r\n".getBytes(StandardCharsets.US_ASCII)))
                        .startsWith("250 ");
                assertThat(upstream.received).hasSize(17);
                assertThat(Files.readString(log)).doesNotContain("OutOfMemoryError");
            } finally {
                serve.destroy();
                if (!serve.waitFor(10, TimeUnit.SECONDS)) {
                    serve.destroyForcibly();
                }
            }
        }
    }

    static String send(int port, byte[] data) throws IOException {
        try (SmtpClient c = new SmtpClient(port)) {
            c.greeting();
            c.command("EHLO web01.internal");
            return c.send("apache@web01.internal", List.of("user@gmail.test"), data);
        }
    }

    static void awaitListening(int port, Process serve, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!serve.isAlive()) {
                throw new AssertionError("serve exited: " + Files.readString(log));
            }
            try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("serve did not listen within 60 s: " + Files.readString(log));
    }
}
