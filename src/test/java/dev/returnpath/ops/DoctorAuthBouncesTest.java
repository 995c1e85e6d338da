package dev.returnpath.ops;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.ops.Doctor.Check;
import dev.returnpath.ops.Doctor.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bounces.auth}: the intake's count of authentication bounces against the doctor's last run. */
class DoctorAuthBouncesTest {
    @TempDir
    Path dir;
    final Instant t = Instant.parse("2026-12-03T07:00:00Z");

    RelayConfig config(boolean imap) throws Exception {
        return ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.good.example"
                  domains { "good.example" { return-path = "bounce@good.example" } }
                  queue.dir = "%s"
                  %s
                }
                """.formatted(dir, imap ? "bounces.imap { host = \"imap.example.com\", username = \"u\", password = \"p\" }" : ""),
                "doctor.conf");
    }

    Optional<Check> authCheck(RelayConfig cfg) {
        List<Check> checks = new Doctor(cfg, DnsjavaDns.over(ZoneResolver.of("/doctor/doctor.zone"), Duration.ofSeconds(2)),
                (c, s) -> List.of()).run();
        return checks.stream().filter(c -> c.check().equals("bounces.auth")).findFirst();
    }

    AuthBounces.Entry entry(int minutes, String domain, String status, String fix) {
        return new AuthBounces.Entry(t.plusSeconds(60L * minutes), domain, status, "unauthenticated", fix);
    }

    @Test
    void withoutBounceIntakeThereIsNoCheck() throws Exception {
        assertThat(authCheck(config(false))).isEmpty();
    }

    @Test
    void nothingRecordedPasses() throws Exception {
        Check c = authCheck(config(true)).orElseThrow();
        assertThat(c.status()).isEqualTo(Status.PASS);
        assertThat(c.found()).isEqualTo("no authentication bounce recorded");
    }

    @Test
    void bouncesSinceTheLastRunWarnWithCountDomainsStatusesAndFixes() throws Exception {
        AuthBounces w = AuthBounces.open(dir);
        w.record(entry(0, "web01.internal", "5.7.26", "publish SPF"));
        AuthBounces.markRun(dir, t.plusSeconds(30), 1);
        w.record(entry(1, "web02.internal", "5.7.27", "add the IP to SPF"));
        w.record(entry(2, "web01.internal", "5.7.26", "publish SPF"));
        Check c = authCheck(config(true)).orElseThrow();
        assertThat(c.status()).isEqualTo(Status.WARN);
        assertThat(c.found()).isEqualTo("2 authentication bounce(s) since the doctor's last run (2026-12-03T07:00:30Z): "
                + "domain web01.internal, web02.internal, status 5.7.26, 5.7.27 (the bounce: lines of class auth say which messages)");
        assertThat(c.fix()).isEqualTo("add the IP to SPF; publish SPF");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(AuthBounces.STATE)))).isEqualTo("rw-------");

        AuthBounces.markRun(dir, t.plusSeconds(300), 3);
        assertThat(authCheck(config(true)).orElseThrow().status()).isEqualTo(Status.PASS);
    }

    @Test
    void theCountSurvivesARestartAndTheRecentListIsBounded() throws Exception {
        AuthBounces w = AuthBounces.open(dir);
        for (int i = 0; i < AuthBounces.RECENT + 10; i++) {
            w.record(entry(i, "web01.internal", "5.7.26", "publish SPF"));
        }
        AuthBounces again = AuthBounces.open(dir); // serve restarted
        again.record(entry(100, "web03.internal", "5.7.515", "Outlook"));
        AuthBounces.State s = AuthBounces.read(dir);
        assertThat(s.total()).isEqualTo(AuthBounces.RECENT + 11);
        assertThat(s.recent()).hasSize(AuthBounces.RECENT);
        assertThat(s.recent().get(s.recent().size() - 1).domain()).isEqualTo("web03.internal");
        Check c = authCheck(config(true)).orElseThrow();
        assertThat(c.found()).startsWith((AuthBounces.RECENT + 11) + " authentication bounce(s) recorded: ");
    }

    @Test
    void aStateFileThatWasResetCountsFromZeroAgain() throws Exception {
        AuthBounces.markRun(dir, t, 40); // the doctor saw 40, then queue.dir was emptied
        AuthBounces.open(dir).record(entry(5, "web01.internal", "5.7.26", "publish SPF"));
        Check c = authCheck(config(true)).orElseThrow();
        assertThat(c.status()).isEqualTo(Status.WARN);
        assertThat(c.found()).startsWith("1 authentication bounce(s) ");
    }

    @Test
    void tabsAndLineBreaksFromTheWireStayInTheirCell() throws Exception {
        AuthBounces.open(dir).record(entry(0, "web01.internal", "5.7.26", "fix\twith\ntabs"));
        AuthBounces.State s = AuthBounces.read(dir);
        assertThat(s.total()).isEqualTo(1);
        assertThat(s.recent()).singleElement().satisfies(e -> assertThat(e.fix()).doesNotContain("\t").doesNotContain("\n"));
    }
}
