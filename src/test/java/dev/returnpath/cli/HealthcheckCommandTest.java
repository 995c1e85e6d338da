package dev.returnpath.cli;

import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * healthcheck asks the relay that the configuration describes: its listen.port and its hostname,
 * over a real SMTP session on loopback, whatever port that is.
 */
class HealthcheckCommandTest {
    @TempDir
    Path dir;

    record Run(int exit, String out) {}

    static Run healthcheck(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            String[] all = new String[args.length + 1];
            all[0] = "healthcheck";
            System.arraycopy(args, 0, all, 1, args.length);
            int exit = Main.execute(all);
            return new Run(exit, buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(old);
        }
    }

    Path conf(String hostname, int port) throws Exception {
        Path f = dir.resolve(hostname + "-" + port + ".conf");
        Files.writeString(f, """
                returnpath {
                  hostname = "%s"
                  listen { host = "0.0.0.0", port = %d }
                  domains { "example.com" { return-path = "bounce@example.com" } }
                  delivery { mode = smarthost, smarthost { host = "127.0.0.1", port = 9, tls = none } }
                }
                """.formatted(hostname, port));
        return f;
    }

    @Test
    void aRelayOnAnotherPortThan2525IsHealthyWhenTheConfigSaysSo() throws Exception {
        try (Upstream up = new Upstream(); TestRelay relay = new TestRelay(up.port(), dir.resolve("spool"), "")) {
            assertThat(relay.port()).isNotEqualTo(2525);
            Run r = healthcheck("--config", conf("relay.test", relay.port()).toString());
            assertThat(r.exit()).as(r.out()).isZero();
            assertThat(r.out()).startsWith("healthy: 127.0.0.1:" + relay.port() + " answered: 220 relay.test");
        }
    }

    @Test
    void anotherServerAnsweringOnTheConfiguredPortIsUnhealthy() throws Exception {
        try (Upstream other = new Upstream()) {
            Run r = healthcheck("--config", conf("relay.test", other.port()).toString());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.out()).contains("unhealthy:", "is not this relay");
        }
    }

    @Test
    void aRelayThatIsDownIsUnhealthyAndTheFileIsNamed() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path f = conf("relay.test", port);
        Run r = healthcheck("--config", f.toString(), "--timeout-ms", "500");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("unhealthy: 127.0.0.1:" + port, "(from " + f + ")");
    }

    @Test
    void aBrokenConfigurationIsUnhealthyWithItsMessage() throws Exception {
        Path f = dir.resolve("bad.conf");
        Files.writeString(f, "returnpath.listen.port = 70000\n");
        Run r = healthcheck("--config", f.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("unhealthy: configuration error:", "returnpath.listen.port");
    }

    @Test
    void withoutConfigTheFileOfTheServeRunningAsProcess1IsRead() throws Exception {
        Path proc = dir.resolve("proc");
        Path cwd = Files.createDirectories(dir.resolve("work"));
        Path one = Files.createDirectories(proc.resolve("1"));
        Files.createSymbolicLink(one.resolve("cwd"), cwd);
        HealthcheckCommand hc = new HealthcheckCommand();
        hc.proc = proc;

        Files.write(one.resolve("cmdline"), "java\0-XX:+UseSerialGC\0-jar\0/opt/returnpath/returnpath.jar\0serve\0--config\0/etc/returnpath/returnpath.conf\0"
                .getBytes(StandardCharsets.UTF_8));
        assertThat(hc.configOfServe()).contains(Path.of("/etc/returnpath/returnpath.conf"));

        Files.write(one.resolve("cmdline"), "java\0-jar\0returnpath.jar\0serve\0--config=site.conf\0".getBytes(StandardCharsets.UTF_8));
        assertThat(hc.configOfServe()).contains(cwd.toRealPath().resolve("site.conf"));

        Files.write(one.resolve("cmdline"), "java\0-jar\0returnpath.jar\0serve\0".getBytes(StandardCharsets.UTF_8));
        assertThat(hc.configOfServe()).contains(cwd.toRealPath().resolve("conf/returnpath.conf"));

        Files.write(one.resolve("cmdline"), "/sbin/init\0".getBytes(StandardCharsets.UTF_8));
        assertThat(hc.configOfServe()).isEmpty();
    }

    @Test
    void underAnInitTheFirstReturnpathServeIsRead() throws Exception {
        Path proc = dir.resolve("proc");
        Files.createDirectories(proc.resolve("1"));
        Files.write(proc.resolve("1/cmdline"), "/sbin/docker-init\0--\0java\0-jar\0/opt/returnpath/returnpath.jar\0serve\0"
                .getBytes(StandardCharsets.UTF_8));
        for (String pid : new String[] {"7", "12"}) {
            Files.createDirectories(proc.resolve(pid));
        }
        Files.write(proc.resolve("12/cmdline"), "java\0-jar\0/opt/returnpath/returnpath.jar\0serve\0--config\0/etc/returnpath/b.conf\0"
                .getBytes(StandardCharsets.UTF_8));
        Files.write(proc.resolve("7/cmdline"), "java\0-jar\0/opt/returnpath/returnpath.jar\0serve\0--config\0/etc/returnpath/a.conf\0"
                .getBytes(StandardCharsets.UTF_8));
        HealthcheckCommand hc = new HealthcheckCommand();
        hc.proc = proc;
        // process 1 (the init) carries the serve's words but cannot be asked for its cwd: the
        // relay itself, the lowest pid, is read
        assertThat(hc.configOfServe()).contains(Path.of("/etc/returnpath/a.conf"));
    }
}
