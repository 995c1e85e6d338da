package dev.returnpath.queue;

import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A test-scope tool, not a test: writes a spool of N waiting messages (as an outage leaves them:
 * each deferred once with a connect failure, a 4 KiB message) so that {@code queue list} can be
 * timed on it by hand.
 *
 * <pre>
 * java -cp target/classes:target/test-classes:$(cat cp.txt) dev.returnpath.queue.GenerateSpool DIR 100000
 * time java -jar target/returnpath.jar queue list --config CONF > /dev/null
 * </pre>
 * where CONF sets {@code returnpath.queue { mode = spool, dir = DIR }}.
 */
public final class GenerateSpool {
    private GenerateSpool() {}

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        SpoolDirectory.prepare(root);
        Path queue = root.resolve("queue");
        byte[] body = ("Subject: order\r\n\r\n" + "x".repeat(76) + "\r\n").repeat(52).getBytes(StandardCharsets.US_ASCII);
        Instant t = Instant.parse("2026-12-02T20:00:00Z");
        for (int i = 0; i < n; i++) {
            String id = String.format("1A2B3C%07X", i);
            QueueEntry e = new QueueEntry(id, t.plusMillis(i), "127.0.0.1", "web01.internal", "apache@web01.internal",
                    "bounce@example.com", body.length, 1, t.plusSeconds(300 + i / 1000), false,
                    List.of(new Recipient("customer" + i + "@gmail.test", State.DEFERRED, "",
                            "451 4.4.1 connect to 127.0.0.1:2525 failed: Connection refused")));
            Files.write(queue.resolve(id + ".eml"), body);
            Files.write(queue.resolve(id + ".env"), e.toBytes());
        }
        System.out.println(n + " entries written to " + queue);
    }
}
