package dev.returnpath.cli;

import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.UpstreamProbe;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.ops.AuthBounces;
import dev.returnpath.ops.Doctor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code doctor [--config FILE] [--json]}: checks SPF, DMARC, PTR, the host name and the
 * upstream as the configuration describes them, and says how to fix each problem. Exit 0 when
 * nothing FAILs (WARNs allowed), 1 when something does, 78 for a bad configuration.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check the deployment: SPF, DMARC, PTR, HELO name and upstream, with the fix for each problem.")
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", defaultValue = "conf/returnpath.conf",
            description = "Configuration file (default: ${DEFAULT-VALUE}).")
    Path config;

    @Option(names = "--json", description = "Print one JSON object with the list of checks.")
    boolean json;

    @Option(names = "--to-domain", paramLabel = "DOMAIN",
            description = "With delivery.mode = direct: check the MX of this domain as the upstream.")
    String toDomain;

    @Override
    public Integer call() {
        RelayConfig cfg;
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("returnpath: configuration error: " + e.getMessage());
            return Main.EXIT_CONFIG;
        }
        // read before the checks: a bounce that comes during the run is shown again next time, never lost
        long authTotal = AuthBounces.read(cfg.queue().dir()).total();
        java.time.Instant started = java.time.Instant.now();
        List<Doctor.Check> checks = new Doctor(cfg, DnsjavaDns.create(cfg.dns().servers(), cfg.dns().timeout()),
                UpstreamProbe::probe, toDomain != null ? java.util.Optional.of(toDomain) : cfg.doctorToDomain()).run();
        System.out.print(json ? Doctor.json(checks) + System.lineSeparator() : Doctor.text(checks));
        System.out.flush();
        markRun(cfg, started, authTotal);
        return Doctor.worst(checks) == Doctor.Status.FAIL ? Main.EXIT_CHECK_FAILED : 0;
    }

    /**
     * Notes this run for the next one's {@code bounces.auth}: what it saw has been shown. Only
     * where serve keeps its files; a doctor run on another machine, or by a user who cannot
     * write there, says so on stderr and leaves the state as it was.
     */
    private static void markRun(RelayConfig cfg, java.time.Instant at, long total) {
        if (cfg.bouncesImap().isEmpty() || !java.nio.file.Files.isDirectory(cfg.queue().dir())) {
            return;
        }
        try {
            AuthBounces.markRun(cfg.queue().dir(), at, total);
        } catch (java.io.IOException | RuntimeException e) {
            System.err.println("returnpath: cannot note this run in " + cfg.queue().dir() + " (bounces.auth will report "
                    + "the same bounces next time): " + e.getMessage());
        }
    }
}
