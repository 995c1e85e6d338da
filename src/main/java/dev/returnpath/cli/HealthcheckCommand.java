package dev.returnpath.cli;

import dev.returnpath.config.ConfigException;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.ops.ListenerProbe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code healthcheck [--config FILE] [--host H] [--port P]}: for a container HEALTHCHECK without
 * curl. One SMTP session with the relay's listener ({@link ListenerProbe}: a 220 greeting that
 * names the relay's hostname, EHLO, QUIT). Exit 0 when healthy, 1 otherwise.
 *
 * <p>The target comes from the configuration the relay runs with, so that a relay on another
 * {@code listen.port} is found, and another server answering on 2525 is not taken for it. Which
 * file: {@code --config}; else, in a container, the {@code --config} of the relay's {@code serve}
 * process (process 1, or the first {@code returnpath.jar serve} under an init such as
 * {@code docker run --init}; a relative path is resolved against that process's working
 * directory); else {@code conf/returnpath.conf}.
 * The file is read with this process's environment, which in a container is the relay's.
 * {@code --host} and {@code --port} override the file's values; given both, and no {@code --config},
 * an unreadable default file is no error (the greeting's name is then not checked).
 */
@Command(name = "healthcheck", mixinStandardHelpOptions = true,
        description = "Exit 0 if the relay's SMTP listener answers a session (for container health checks). "
                + "The host, port and name come from the configuration serve runs with.")
final class HealthcheckCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE",
            description = "Configuration file. Default: that of the running serve (process 1 in a container), else conf/returnpath.conf.")
    Path config;

    @Option(names = "--host", description = "Override listen.host.")
    String host;

    @Option(names = "--port", description = "Override listen.port.")
    Integer port;

    @Option(names = "--timeout-ms", defaultValue = "3000", description = "Default: ${DEFAULT-VALUE}.")
    int timeoutMs;

    /** The processes' command lines and working directories (a test points elsewhere). */
    Path proc = Path.of("/proc");

    @Override
    public Integer call() {
        Path file = Optional.ofNullable(config).or(this::configOfServe).orElse(Path.of("conf/returnpath.conf"));
        String listenHost = host;
        int listenPort = port == null ? 0 : port;
        String hostname;
        try {
            RelayConfig cfg = ConfigLoader.load(file);
            listenHost = host != null ? host : cfg.listen().host();
            listenPort = port != null ? port : cfg.listen().port();
            hostname = cfg.hostname();
        } catch (ConfigException e) {
            if (config != null || host == null || port == null) {
                System.out.println("unhealthy: configuration error: " + e.getMessage());
                return 1;
            }
            hostname = null; // --host and --port without a readable file: any SMTP server will do
        }
        if (listenPort == 0) {
            System.out.println("unhealthy: " + file + " says listen.port = 0 (any free port): give --port");
            return 1;
        }
        ListenerProbe probe = new ListenerProbe(listenHost, listenPort, hostname, Duration.ofMillis(timeoutMs));
        return switch (probe.session()) {
            case ListenerProbe.Answered a -> {
                System.out.println("healthy: " + a.text());
                yield 0;
            }
            case ListenerProbe.Failed f -> {
                System.out.println("unhealthy: " + f.text() + " (from " + file + ")");
                yield 1;
            }
        };
    }

    /** The {@code --config} of process 1 if it is the relay's serve, else of the first returnpath.jar serve. */
    Optional<Path> configOfServe() {
        Optional<Path> first = configOf(proc.resolve("1"), false);
        if (first.isPresent()) {
            return first;
        }
        try (var pids = Files.list(proc)) {
            return pids.filter(p -> p.getFileName().toString().matches("[0-9]+"))
                    .sorted(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString())))
                    .map(p -> configOf(p, true)).flatMap(Optional::stream).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The {@code --config} of {@code java ... -jar ...returnpath.jar serve [--config FILE]} running as {@code pid}. */
    static Optional<Path> configOf(Path pid, boolean needJar) {
        try {
            byte[] raw = Files.readAllBytes(pid.resolve("cmdline"));
            List<String> args = Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0"));
            int serve = args.indexOf("serve");
            if (serve < 0 || needJar && args.stream().limit(serve).noneMatch(a -> a.endsWith("returnpath.jar"))) {
                return Optional.empty();
            }
            String given = null;
            for (int i = serve + 1; i < args.size(); i++) {
                if (args.get(i).equals("--config") && i + 1 < args.size()) {
                    given = args.get(i + 1);
                } else if (args.get(i).startsWith("--config=")) {
                    given = args.get(i).substring("--config=".length());
                }
            }
            Path p = Path.of(given == null ? "conf/returnpath.conf" : given);
            return Optional.of(p.isAbsolute() ? p : pid.resolve("cwd").toRealPath().resolve(p));
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // not readable, not serve: the default file
        }
    }
}
