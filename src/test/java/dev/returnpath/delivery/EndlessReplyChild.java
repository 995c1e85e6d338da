package dev.returnpath.delivery;

import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;

import java.nio.file.Path;
import java.util.List;

/**
 * The child JVM of {@code SmtpClientTest}'s small-heap test: a whole relay (run with
 * {@code -Xmx64m}) whose smarthost streams an endless reply; five messages through it, each
 * reply printed, exit 0 if the relay answered them all.
 */
public final class EndlessReplyChild {
    public static void main(String[] args) throws Exception {
        int upstream = Integer.parseInt(args[0]);
        try (TestRelay relay = new TestRelay(upstream, Path.of(args[1]), "")) {
            for (int i = 1; i <= 5; i++) {
                try (SmtpClient c = relay.client()) {
                    String r = c.send("apache@web01.internal", List.of("user@gmail.test"),
                            "From: noreply@example.com\r\nSubject: endless\r\n\r\nhello\r\n".getBytes());
                    System.out.println("reply " + i + ": " + r);
                }
            }
        }
        System.out.println("heap used: " + (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1024 / 1024 + " MiB");
        System.exit(0);
    }

    private EndlessReplyChild() {}
}
