package dev.returnpath.cli;

import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.ConfigWatcher;
import dev.returnpath.config.DurationText;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.assembly.RelayAssembly;
import dev.returnpath.queue.Spool;
import dev.returnpath.ops.Management;
import dev.returnpath.ops.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import dev.returnpath.delivery.UpstreamProbe;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.ops.Doctor;
import dev.returnpath.ops.JsonLogLayout;
import dev.returnpath.ops.ListenerProbe;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code serve [--config FILE]}: runs the relay until SIGTERM. Everything is wired here. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the relay.")
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (default: ${DEFAULT-VALUE}).",
            defaultValue = "conf/returnpath.conf")
    Path config;

    @Override
    public Integer call() throws Exception {
        Logger log = LoggerFactory.getLogger("returnpath");
        long t0 = System.nanoTime();
        RelayConfig cfg;
        Optional<byte[]> loadedDigest;
        try {
            // taken before the load, so that an edit made while starting is reloaded, not missed
            loadedDigest = Optional.of(ConfigWatcher.digest(config));
        } catch (java.io.IOException e) {
            loadedDigest = Optional.empty(); // the load below says what is wrong
        }
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigException e) {
            log.error("configuration error: {}", e.getMessage());
            System.err.println("returnpath: configuration error: " + e.getMessage());
            return Main.EXIT_CONFIG;
        }
        if (cfg.logFormat() == RelayConfig.LogFormat.JSON) {
            JsonLogLayout.install();
        }
        ConfigHolder holder = new ConfigHolder(cfg);
        Clock clock = Clock.systemDefaultZone();
        Metrics metrics = new Metrics();
        try {
            dev.returnpath.queue.SpoolDirectory.prepare(cfg.queue().dir()); // 0700, no symbolic links, our own
        } catch (java.io.IOException e) {
            String m = config + ": returnpath.queue.dir: cannot use \"" + cfg.queue().dir() + "\": " + e.getMessage();
            log.error("configuration error: {}", m);
            System.err.println("returnpath: configuration error: " + m);
            return Main.EXIT_CONFIG;
        }
        RelayAssembly relay;
        try {
            relay = new RelayAssembly(holder, RelayAssembly.options().clock(clock).metrics(metrics));
        } catch (java.io.IOException e) {
            String m = config + ": returnpath.queue.dir: cannot use \"" + cfg.queue().dir() + "\""
                    + (cfg.queue().mode() == RelayConfig.QueueMode.SPOOL ? " as the spool: " : ": ")
                    + (e instanceof Spool.BusyException ? e.getMessage() : e.toString());
            log.error("configuration error: {}", m);
            System.err.println("returnpath: configuration error: " + m);
            return Main.EXIT_CONFIG;
        }
        try {
            relay.start();
        } catch (java.io.IOException | RuntimeException e) {
            // a port in use or an address that is not ours: one line, not a stack trace
            String m = "cannot listen on " + cfg.listen().endpoint() + ": " + rootMessage(e);
            log.error("{}", m);
            System.err.println("returnpath: " + m);
            relay.close();
            return Main.EXIT_OSERR;
        }
        Management.Readiness readiness = new Management.Readiness();
        readiness.configLoaded(true);
        // /readyz: an SMTP session with the listener itself (hostname and port need a restart to change)
        readiness.listener(new ListenerProbe(cfg.listen().host(), relay.port(), cfg.hostname(), Duration.ofSeconds(3)));
        Management management = null;
        if (cfg.management().port() != 0) {
            try {
                management = new Management(cfg.management().host(), cfg.management().port(), metrics, readiness,
                        relay::isRunning);
            } catch (java.io.IOException e) {
                String m = "cannot listen on " + cfg.management().endpoint()
                        + " (management): " + rootMessage(e);
                log.error("{}", m);
                System.err.println("returnpath: " + m);
                relay.close();
                return Main.EXIT_OSERR;
            }
        }
        Management managementListener = management;
        log.info("returnpath listening on {} as {} (delivery {} {}{}, {} domain(s), queue {}, management {}) in {} ms",
                new dev.returnpath.config.Endpoint(cfg.listen().host(), relay.port()), cfg.hostname(),
                cfg.delivery().mode().name().toLowerCase(java.util.Locale.ROOT),
                cfg.delivery().mode() == RelayConfig.DeliveryMode.DIRECT
                        ? "to MX port " + cfg.delivery().direct().port() + " tls " + cfg.delivery().direct().tls().name().toLowerCase(java.util.Locale.ROOT)
                        : cfg.delivery().smarthost().endpoint().map(Object::toString).orElse(""),
                cfg.delivery().routes().isEmpty() ? "" : ", routes " + String.join(" ",
                        cfg.delivery().routes().stream().map(RelayConfig.Route::name).toList()),
                cfg.domains().size(), cfg.queue().mode().name().toLowerCase(java.util.Locale.ROOT),
                management == null ? "off" : new dev.returnpath.config.Endpoint(cfg.management().host(), management.port()).toString(),
                (System.nanoTime() - t0) / 1_000_000);
        dev.returnpath.rewrite.UncheckedSenders.of(cfg).forEach(w -> log.warn("{}", w.line()));
        cfg.domains().values().stream().flatMap(d -> d.dkim().stream())
                .filter(dev.returnpath.dkim.DkimKey::belowRecommendedSize)
                .forEach(k -> log.warn("dkim: {} is a {}-bit RSA key; receivers such as Gmail ask for {} bits: "
                        + "make a new selector with returnpath dkim-keygen", k.label(), k.bits(),
                        dev.returnpath.dkim.DkimKey.RECOMMENDED_RSA_BITS));
        if (cfg.spf().outboundIps().isEmpty()) {
            log.warn("spf.outbound-ips is empty: the SPF guard is off, mail leaves without an SPF check");
        }
        ScheduledExecutorService doctorTimer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofVirtual().name("doctor").factory());
        Runnable doctor = () -> runDoctor(holder.get(), readiness, metrics, log);
        doctorTimer.execute(doctor); // at start, without delaying the listener
        if (!cfg.doctorInterval().isZero()) {
            long every = cfg.doctorInterval().toMillis();
            doctorTimer.scheduleWithFixedDelay(doctor, every, every, TimeUnit.MILLISECONDS);
        }
        // Hot reload: a valid edit is swapped in for new transactions; see ConfigWatcher.
        ConfigWatcher watcher = new ConfigWatcher(config, holder, loadedDigest);
        watcher.start(Duration.ofSeconds(1));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            watcher.close();
            Duration grace = holder.get().shutdownGrace();
            log.info("shutting down: no new connections or transactions; waiting up to {} for those in flight", DurationText.of(grace));
            relay.shutdown(grace);
            doctorTimer.shutdownNow();
            if (managementListener != null) {
                managementListener.close();
            }
            log.info("stopped");
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
        return 0;
    }

    /** The innermost message of {@code e}: "Address already in use", not a wrapper's text. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /**
     * The doctor inside serve: its FAILs are logged as warnings, listed on /readyz and exported as
     * returnpath_doctor_check. It never stops relaying: the SPF guard decides per message. An
     * unreachable upstream makes /readyz answer 503 until the next check.
     */
    static void runDoctor(RelayConfig cfg, Management.Readiness readiness, Metrics metrics, Logger log) {
        try {
            List<Doctor.Check> checks = new Doctor(cfg, DnsjavaDns.create(cfg.dns().servers(), cfg.dns().timeout()),
                    UpstreamProbe::probe, cfg.doctorToDomain()).run();
            Map<Map.Entry<String, String>, Integer> states = new LinkedHashMap<>();
            List<String> fails = new ArrayList<>();
            for (Doctor.Check c : checks) {
                states.put(Map.entry(c.check(), c.subject()), c.status().ordinal());
                if (c.status() == Doctor.Status.FAIL) {
                    fails.add(c.check() + " " + c.subject() + ": " + c.found() + (c.fix().isEmpty() ? "" : "; fix: " + c.fix()));
                    log.warn("doctor: FAIL {} {}: {}; fix: {}", c.check(), c.subject(), c.found(), c.fix());
                }
            }
            metrics.doctor(states);
            readiness.doctorFails(fails);
            Optional<Doctor.Check> connect = checks.stream().filter(c -> c.check().equals("upstream.connect")).findFirst();
            readiness.upstream(connect.map(c -> c.status() != Doctor.Status.FAIL).orElse(true),
                    connect.map(Doctor.Check::found).orElse(""));
            log.info("doctor: {} checks, {} FAIL, {} WARN", checks.size(), fails.size(),
                    checks.stream().filter(c -> c.status() == Doctor.Status.WARN).count());
        } catch (RuntimeException e) {
            log.warn("doctor: could not run: {}", e.toString());
            readiness.upstream(false, "the check could not run: " + e);
        }
    }
}
