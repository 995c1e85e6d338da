package dev.returnpath.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigResolver;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import dev.returnpath.config.RelayConfig.DomainPolicy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads the operator's HOCON file over {@code reference.conf} and turns it into a
 * {@link RelayConfig}, or a {@link ConfigException} that names file, line and key.
 *
 * <p>The layers are Typesafe's: system properties over the operator's file over
 * {@code reference.conf}, resolved once, with {@code ${?VAR}} looked up in the environment
 * given (the process's, or a map in tests). The reference is taken unresolved so that its
 * {@code ${?RETURNPATH_...}} defaults are resolved here, with that same environment.
 *
 * <p>Typesafe Config checks only that paths exist and types match; every value is checked
 * by one parser per section ({@code ListenSection}, {@code DomainsSection}, {@code RulesSection},
 * {@code RewriteSection}, {@code DeliverySection}, {@code QueueSection}, {@code DnsSection},
 * {@code SpfSection}, {@code ManagementSection}, {@code LogSection}) through a
 * {@link ConfigReader}; the top-level {@code hostname}, {@code shutdown} and {@code doctor} are
 * read here. Unknown keys are errors, inside {@code returnpath { }} and outside it, because a
 * typo such as {@code allowed-network}, or a fragment pasted after the closing brace, would
 * otherwise silently leave the safe default in force.
 */
public final class ConfigLoader {
    private static final String P = "returnpath.";

    private ConfigLoader() {}

    /** Loads {@code file}; a missing file is an error, never an empty configuration. */
    public static RelayConfig load(Path file) throws ConfigException {
        return load(file, System.getenv());
    }

    /**
     * Loads {@code file} with {@code ${?VAR}} substitutions taken from {@code environment}
     * instead of the process's, so that a test can set {@code RETURNPATH_*} variables without
     * touching the JVM's.
     */
    public static RelayConfig load(Path file, Map<String, String> environment) throws ConfigException {
        String name = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(name, 0, null, Files.exists(file) ? "not a regular file" : missing(file));
        }
        if (!Files.isReadable(file)) {
            throw new ConfigException(name, 0, null, "not readable");
        }
        Config parsed;
        try {
            parsed = ConfigFactory.parseFile(file.toFile(),
                    ConfigParseOptions.defaults().setAllowMissing(false).setSyntax(ConfigSyntax.CONF));
        } catch (com.typesafe.config.ConfigException e) {
            throw translate(e, name);
        }
        return fromParsed(parsed, name, file, environment);
    }

    /** For tests and {@code rewrite-test}: a configuration given as HOCON text. */
    public static RelayConfig parseString(String hocon, String name) throws ConfigException {
        return fromParsed(parse(hocon, name), name, Path.of(name), System.getenv());
    }

    /** The resolved tree of {@code hocon} over the reference, as a section parser reads it (tests). */
    static ConfigReader reader(String hocon, String name, Map<String, String> environment) throws ConfigException {
        return new ConfigReader(resolve(parse(hocon, name), name, environment), name);
    }

    private static Config parse(String hocon, String name) throws ConfigException {
        try {
            return ConfigFactory.parseString(hocon, ConfigParseOptions.defaults().setOriginDescription(name));
        } catch (com.typesafe.config.ConfigException e) {
            throw translate(e, name);
        }
    }

    /** "no such file", with where it was looked for and how to name another. */
    private static String missing(Path file) {
        String cwd = Path.of("").toAbsolutePath().toString();
        return "no such file (" + (file.isAbsolute() ? "the working directory is " : "relative to the working directory ")
                + cwd + "); --config FILE reads another file";
    }

    private static RelayConfig fromParsed(Config parsed, String name, Path source, Map<String, String> environment)
            throws ConfigException {
        checkTopLevelKeys(parsed, name);
        Config root = resolve(parsed, name, environment);
        ConfigReader reader = new ConfigReader(root, name);
        checkUnknownKeys(root, resolveReference(name, environment), name);
        return build(reader, source);
    }

    private static Config resolve(Config parsed, String name, Map<String, String> environment) throws ConfigException {
        try {
            return ConfigFactory.defaultOverrides()
                    .withFallback(parsed)
                    .withFallback(ConfigFactory.defaultReferenceUnresolved())
                    .resolve(options(environment));
        } catch (com.typesafe.config.ConfigException e) {
            throw translate(e, name);
        }
    }

    /**
     * The keys a file may set: reference.conf's, and what system properties add under
     * {@code returnpath.} ({@code -Dreturnpath.log.target}, which {@code Main} sets for the log
     * layout, is no key of the file), as Typesafe's own {@code defaultReference()} layers them.
     */
    private static Config resolveReference(String name, Map<String, String> environment) throws ConfigException {
        try {
            return ConfigFactory.defaultOverrides().withFallback(ConfigFactory.defaultReferenceUnresolved())
                    .resolve(options(environment));
        } catch (com.typesafe.config.ConfigException e) {
            throw translate(e, name);
        }
    }

    /**
     * reference.conf's block at {@code path}, resolved with no environment: the defaults of a
     * block written again inside a list (a route's {@code smarthost}), which must not take the
     * {@code ${?RETURNPATH_SMARTHOST_PASSWORD}} meant for the top-level block.
     */
    static Config referenceDefaults(String path) {
        return ConfigFactory.defaultReferenceUnresolved().resolve(options(Map.of())).getConfig(path);
    }

    private static ConfigResolveOptions options(Map<String, String> environment) {
        return ConfigResolveOptions.defaults()
                .setUseSystemEnvironment(false)
                .appendResolver(new EnvironmentResolver(environment));
    }

    private static ConfigException translate(com.typesafe.config.ConfigException e, String name) {
        ConfigOrigin o = e.origin();
        String file = o != null && o.filename() != null ? o.filename() : name;
        int line = o != null ? o.lineNumber() : -1;
        String msg = e.getMessage();
        // Typesafe prefixes its message with the origin; we print our own.
        if (o != null && msg.startsWith(o.description())) {
            msg = msg.substring(o.description().length()).replaceFirst("^:\\s*", "");
        }
        return new ConfigException(file, line, null, msg);
    }

    private static RelayConfig build(ConfigReader r, Path source) throws ConfigException {
        String hostname = r.optString(P + "hostname").orElseGet(ConfigLoader::defaultHostname);
        r.checkHostname(P + "hostname", hostname);

        RelayConfig.Listen listen = ListenSection.parse(r);
        Optional<HashKey> hashKey = RewriteSection.hashKey(r);
        Map<String, DomainPolicy> domains = DomainsSection.parse(r, hashKey);
        List<Rule> rules = RulesSection.parse(r, domains, hashKey);
        RelayConfig.Rewrite rewrite = RewriteSection.parse(r, domains, hashKey);
        RelayConfig.Delivery delivery = DeliverySection.parse(r);
        RelayConfig.Queue queue = QueueSection.parse(r);
        RelayConfig.Dns dns = DnsSection.parse(r);
        RelayConfig.Spf spf = SpfSection.parse(r);
        RelayConfig.Management management = ManagementSection.parse(r);

        Duration grace = r.durationIn(P + "shutdown.grace-period", Duration.ZERO, Duration.ofMinutes(10));
        Duration doctorInterval = r.durationIn(P + "doctor.interval", Duration.ZERO, Duration.ofDays(7));
        Optional<String> doctorToDomain = r.optString(P + "doctor.to-domain");
        if (doctorToDomain.isPresent()) {
            try {
                doctorToDomain = Optional.of(ConfigReader.normalizeDomain(doctorToDomain.get()));
            } catch (IllegalArgumentException e) {
                throw r.error(P + "doctor.to-domain", e.getMessage());
            }
        }
        RelayConfig.LogFormat logFormat = LogSection.parse(r);
        Optional<BouncesSection.Imap> bouncesImap = BouncesSection.parse(r);

        return new RelayConfig(source, hostname, listen, domains, rules, rewrite, delivery, queue, dns, spf, management,
                grace, doctorInterval, doctorToDomain, logFormat, bouncesImap);
    }

    // ---------------------------------------------------------------- unknown keys

    /**
     * Every setting lives inside {@code returnpath { }}. Typesafe would merge anything else into
     * the tree and nobody would read it: {@code delivery { mode = smarthost }} pasted after the
     * closing brace left the relay delivering direct. Only the operator's own file is checked
     * here; system properties ({@code java.home}, ...) are merged later, and are not keys of it.
     */
    private static void checkTopLevelKeys(Config parsed, String name) throws ConfigException {
        Config reference = ConfigFactory.defaultReferenceUnresolved();
        for (Map.Entry<String, ConfigValue> e : parsed.root().entrySet()) {
            String key = e.getKey();
            if (key.equals("returnpath")) {
                continue;
            }
            boolean known = reference.hasPathOrNull("returnpath") && reference.getObject("returnpath").containsKey(key);
            ConfigValue v = e.getValue();
            throw new ConfigException(ConfigReader.fileOf(v.origin(), name), v.origin().lineNumber(), key,
                    "unknown top-level key: every setting goes inside returnpath { }"
                            + (known ? " (write returnpath." + key + ", or move it into the block)" : ""));
        }
    }

    /** Inside {@code returnpath}: every key must be one that {@code reference.conf} has. */
    private static void checkUnknownKeys(Config root, Config reference, String name) throws ConfigException {
        if (!root.hasPath("returnpath")) {
            return;
        }
        for (Map.Entry<String, ConfigValue> e : root.getConfig("returnpath").entrySet()) {
            String path = P + e.getKey();
            if (path.startsWith(P + "domains.")) {
                continue; // checked per domain
            }
            if (path.startsWith(P + "rules.")) {
                continue; // rules given as an object: RulesSection says it must be a list
            }
            if (!reference.hasPathOrNull(path)) {
                ConfigValue v = e.getValue();
                throw new ConfigException(ConfigReader.fileOf(v.origin(), name), v.origin().lineNumber(), path,
                        "unknown key");
            }
        }
    }

    private static String defaultHostname() {
        try {
            return InetAddress.getLocalHost().getCanonicalHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    /**
     * {@code ${?VAR}} from a map: the process's environment in production, a test's map
     * otherwise. The origin names the variable, so that an error in its value says where it
     * came from.
     */
    private record EnvironmentResolver(Map<String, String> environment) implements ConfigResolver {
        EnvironmentResolver {
            environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
        }

        @Override
        public ConfigValue lookup(String path) {
            String v = environment.get(path);
            return v == null ? null : ConfigValueFactory.fromAnyRef(v, "environment variable " + path);
        }

        @Override
        public ConfigResolver withFallback(ConfigResolver fallback) {
            ConfigResolver self = this;
            return new ConfigResolver() {
                @Override
                public ConfigValue lookup(String path) {
                    ConfigValue v = self.lookup(path);
                    return v != null ? v : fallback.lookup(path);
                }

                @Override
                public ConfigResolver withFallback(ConfigResolver next) {
                    return self.withFallback(fallback.withFallback(next));
                }
            };
        }
    }
}
