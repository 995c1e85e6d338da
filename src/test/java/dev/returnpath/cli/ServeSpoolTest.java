package dev.returnpath.cli;

import dev.returnpath.testkit.TestRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** serve in spool mode refuses, with exit 78, a spool it cannot use. */
class ServeSpoolTest {
    @TempDir
    Path dir;

    Path config(Path spool) throws Exception {
        Path conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, """
                returnpath {
                  listen.port = 0
                  management.port = 0
                  domains { "example.com" { return-path = "bounce@example.com" } }
                  delivery.smarthost.host = "127.0.0.1"
                  queue { mode = spool, dir = "%s" }
                }
                """.formatted(spool.toString()));
        return conf;
    }

    @Test
    void aSpoolDirectoryThatCannotBeCreatedExits78() throws Exception {
        Path file = dir.resolve("not-a-directory");
        Files.writeString(file, "x");
        Path conf = config(file.resolve("spool"));
        int rc = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Main.execute("serve", "--config", conf.toString()));
        assertThat(rc).isEqualTo(Main.EXIT_CONFIG);
    }

    @Test
    void aSpoolInUseByAnotherServeExits78() throws Exception {
        Path spool = dir.resolve("spool");
        try (TestRelay running = new TestRelay(25, spool, "returnpath.queue.mode = spool")) {
            Path conf = config(spool);
            int rc = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Main.execute("serve", "--config", conf.toString()));
            assertThat(rc).isEqualTo(Main.EXIT_CONFIG);
            assertThat(running.spool.ids()).isEmpty();
        }
    }
}
