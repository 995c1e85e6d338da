package dev.returnpath.inbound;

import dev.returnpath.config.ConfigWatcher;
import dev.returnpath.config.ConfigWatcher.Outcome;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hot reload under a running relay, over real sockets: the configuration file changes (in place,
 * by rename, through a ConfigMap-style symlink swap), and the next message takes the new rule;
 * an invalid edit changes nothing; a transaction in flight finishes under the configuration it
 * started with.
 */
class HotReloadTest {
    @TempDir
    Path dir;
    Upstream upstream;
    TestRelay relay;
    Path conf;

    @BeforeEach
    void start() throws Exception {
        upstream = new Upstream();
        Files.createDirectories(dir.resolve("spool"));
        conf = dir.resolve("returnpath.conf");
    }

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        upstream.close();
    }

    String config(String returnPath) {
        return TestRelay.baseHocon(upstream.port(), dir.resolve("spool")) + """
                returnpath.rules = [
                  { name = "app", match { envelope-sender = "apache@*.internal" }, return-path = "%s" }
                ]
                """.formatted(returnPath);
    }

    /** Writes the whole file under another name and renames it over the old one, as editors do. */
    void replaceByRename(Path target, String text) throws Exception {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    String send() throws Exception {
        try (SmtpClient c = relay.client()) {
            String r = c.send("apache@web01.internal", List.of("user@gmail.test"),
                    "From: noreply@example.com\r\nSubject: hi\r\n\r\nhello\r\n".getBytes());
            assertThat(r).startsWith("250 2.0.0");
        }
        return upstream.received.get(upstream.received.size() - 1).reversePath();
    }

    /** Two polls: new content is acted on once it has been seen twice. */
    static Outcome settle(ConfigWatcher w) {
        assertThat(w.poll()).isInstanceOf(Outcome.Settling.class);
        return w.poll();
    }

    @Test
    void theNextMessageTakesTheNewRuleAndAnInvalidEditChangesNothing() throws Exception {
        Files.writeString(conf, config("first@example.com"));
        byte[] digest = ConfigWatcher.digest(conf);
        relay = TestRelay.fromFile(conf);
        ConfigWatcher watcher = new ConfigWatcher(conf, relay.holder, Optional.of(digest));
        assertThat(watcher.poll()).isInstanceOf(Outcome.Unchanged.class);

        try (LogCapture mail = new LogCapture("returnpath.mail"); LogCapture cfg = new LogCapture("returnpath.config")) {
            assertThat(send()).isEqualTo("first@example.com");

            replaceByRename(conf, config("second@example.com"));
            Outcome o = settle(watcher);
            assertThat(o).isInstanceOf(Outcome.Reloaded.class);
            assertThat(((Outcome.Reloaded) o).diff().changed()).containsExactly("rules");
            assertThat(cfg.lines()).singleElement().asString().isEqualTo("config reloaded from " + conf + ": changed: rules");
            assertThat(send()).isEqualTo("second@example.com");
            assertThat(mail.lines()).filteredOn(l -> l.contains("from=<apache@web01.internal>"))
                    .extracting(l -> l.replaceAll(".* (return-path=\\S+) .* (rule=\\S+) .*", "$1 $2"))
                    .containsExactly("return-path=<first@example.com> rule=rule:app", "return-path=<second@example.com> rule=rule:app");

            // an invalid edit, written in place: nothing changes, and the log names file, line and key
            RelayConfig inForce = relay.holder.get();
            Files.writeString(conf, config("third@example.com").replace("envelope-sender = \"apache@*.internal\"",
                    "client = \"10.0.0.0/33\""));
            o = settle(watcher);
            assertThat(o).isInstanceOf(Outcome.Invalid.class);
            assertThat(((Outcome.Invalid) o).error().getMessage())
                    .isEqualTo(conf + ":14: returnpath.rules.0.match.client: prefix length 33 is over 32 in \"10.0.0.0/33\"");
            assertThat(cfg.lines()).last().asString().isEqualTo("config reload refused, the configuration in force is unchanged: "
                    + conf + ":14: returnpath.rules.0.match.client: prefix length 33 is over 32 in \"10.0.0.0/33\"");
            assertThat(relay.holder.get()).isSameAs(inForce);
            assertThat(watcher.poll()).as("logged once, not at every poll").isInstanceOf(Outcome.Unchanged.class);
            assertThat(send()).isEqualTo("second@example.com");

            // fixing the file is the next change
            Files.writeString(conf, config("fourth@example.com"));
            assertThat(settle(watcher)).isInstanceOf(Outcome.Reloaded.class);
            assertThat(send()).isEqualTo("fourth@example.com");
        }
    }

    @Test
    void aTransactionInFlightFinishesUnderTheConfigurationItStartedWith() throws Exception {
        Files.writeString(conf, config("before@example.com"));
        byte[] digest = ConfigWatcher.digest(conf);
        relay = TestRelay.fromFile(conf);
        ConfigWatcher watcher = new ConfigWatcher(conf, relay.holder, Optional.of(digest));
        try (SmtpClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
            assertThat(c.command("RCPT TO:<user@gmail.test>")).startsWith("250");

            replaceByRename(conf, config("after@example.com"));
            assertThat(settle(watcher)).isInstanceOf(Outcome.Reloaded.class);

            assertThat(c.command("DATA")).startsWith("354");
            c.send("From: noreply@example.com\r\nSubject: hi\r\n\r\nhello\r\n.\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0");
        }
        assertThat(upstream.received.get(0).reversePath()).isEqualTo("before@example.com");
        assertThat(send()).isEqualTo("after@example.com");
    }

    @Test
    void aConfigMapSymlinkSwapIsNoticed() throws Exception {
        // the layout kubelet writes: returnpath.conf -> ..data/returnpath.conf, ..data -> ..<timestamp>
        Path cm = Files.createDirectories(dir.resolve("configmap"));
        Path v1 = Files.createDirectories(cm.resolve("..2026_01_01_00_00_00.1"));
        Files.writeString(v1.resolve("returnpath.conf"), config("v1@example.com"));
        Files.createSymbolicLink(cm.resolve("..data"), v1.getFileName());
        Path file = Files.createSymbolicLink(cm.resolve("returnpath.conf"), Path.of("..data/returnpath.conf"));
        byte[] digest = ConfigWatcher.digest(file);
        relay = TestRelay.fromFile(file);
        ConfigWatcher watcher = new ConfigWatcher(file, relay.holder, Optional.of(digest));
        assertThat(send()).isEqualTo("v1@example.com");

        Path v2 = Files.createDirectories(cm.resolve("..2026_01_01_00_05_00.2"));
        Files.writeString(v2.resolve("returnpath.conf"), config("v2@example.com"));
        Files.createSymbolicLink(cm.resolve("..data_tmp"), v2.getFileName());
        Files.move(cm.resolve("..data_tmp"), cm.resolve("..data"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        deleteTree(v1);

        assertThat(settle(watcher)).isInstanceOf(Outcome.Reloaded.class);
        assertThat(send()).isEqualTo("v2@example.com");
    }

    @Test
    void theWatcherThreadTakesAnInPlaceEditWithinSeconds() throws Exception {
        Files.writeString(conf, config("old@example.com"));
        byte[] digest = ConfigWatcher.digest(conf);
        relay = TestRelay.fromFile(conf);
        RelayConfig first = relay.holder.get();
        try (ConfigWatcher watcher = new ConfigWatcher(conf, relay.holder, Optional.of(digest))) {
            watcher.start(Duration.ofMillis(100));
            Files.writeString(conf, config("new@example.com"));
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (relay.holder.get() == first && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }
        assertThat(relay.holder.get()).isNotSameAs(first);
        assertThat(send()).isEqualTo("new@example.com");
    }

    @Test
    void settingsThatNeedARestartAreSaidSoAndTheListenerKeepsItsPort() throws Exception {
        Files.writeString(conf, config("x@example.com"));
        byte[] digest = ConfigWatcher.digest(conf);
        relay = TestRelay.fromFile(conf);
        ConfigWatcher watcher = new ConfigWatcher(conf, relay.holder, Optional.of(digest));
        int port = relay.port();
        try (LogCapture cfg = new LogCapture("returnpath.config")) {
            Files.writeString(conf, config("x@example.com") + """
                    returnpath.listen { port = 2999, max-connections = 10 }
                    returnpath.spf.on-fail = warn
                    returnpath.domains { "example.org" { return-path = "bounce@example.org" } }
                    """);
            Outcome o = settle(watcher);
            assertThat(o).isInstanceOf(Outcome.Reloaded.class);
            assertThat(((Outcome.Reloaded) o).diff().restartNeeded())
                    .containsExactly("listen.port (0 -> 2999)", "listen.max-connections (200 -> 10)");
            assertThat(cfg.lines()).singleElement().asString().isEqualTo("config reloaded from " + conf
                    + ": changed: domains (+example.org), spf.on-fail (tempfail -> warn); needs a restart to take full effect: "
                    + "listen.port (0 -> 2999), listen.max-connections (200 -> 10)");
        }
        assertThat(relay.port()).isEqualTo(port);
        assertThat(send()).isEqualTo("x@example.com");
    }

    @Test
    void aFileThatDisappearsChangesNothingAndIsTakenWhenItComesBack() throws Exception {
        Files.writeString(conf, config("here@example.com"));
        byte[] digest = ConfigWatcher.digest(conf);
        relay = TestRelay.fromFile(conf);
        RelayConfig first = relay.holder.get();
        ConfigWatcher watcher = new ConfigWatcher(conf, relay.holder, Optional.of(digest));
        Files.delete(conf);
        assertThat(watcher.poll()).isInstanceOf(Outcome.Unreadable.class);
        assertThat(relay.holder.get()).isSameAs(first);
        Files.writeString(conf, config("back@example.com"));
        assertThat(settle(watcher)).isInstanceOf(Outcome.Reloaded.class);
        assertThat(send()).isEqualTo("back@example.com");
    }

    private static void deleteTree(Path p) throws Exception {
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
