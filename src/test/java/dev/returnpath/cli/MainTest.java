package dev.returnpath.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {
    @TempDir
    Path dir;

    @Test
    void unknownCommandIsAUsageError() {
        assertThat(Main.execute("bogus")).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void noCommandIsAUsageError() {
        assertThat(Main.execute()).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void versionAndHelpExitZero() {
        assertThat(Main.execute("--version")).isZero();
        assertThat(Main.execute("serve", "--help")).isZero();
    }

    @Test
    void serveWithAMissingConfigExits78() {
        assertThat(Main.execute("serve", "--config", dir.resolve("missing.conf").toString())).isEqualTo(Main.EXIT_CONFIG);
    }

    @Test
    void serveWithAnInvalidConfigExits78() throws Exception {
        Path f = dir.resolve("bad.conf");
        Files.writeString(f, "returnpath.listen.port = -1\n");
        assertThat(Main.execute("serve", "--config", f.toString())).isEqualTo(Main.EXIT_CONFIG);
    }

    @Test
    void healthcheckFailsWhenNothingListens() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertThat(Main.execute("healthcheck", "--port", String.valueOf(port), "--timeout-ms", "500")).isEqualTo(1);
    }
}
