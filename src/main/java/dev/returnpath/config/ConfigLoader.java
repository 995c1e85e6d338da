package dev.returnpath.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.returnpath.config.RelayConfig.*;
import dev.returnpath.message.Addresses;

import java.net.IDN;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the operator's HOCON file over {@code reference.conf} and turns it into a
 * {@link RelayConfig}, or a {@link ConfigException} that names file, line and key.
 *
 * <p>Typesafe Config checks only that paths exist and types match; every value is checked
 * here (sizes, durations, CIDRs, addresses, host names, enum words), and unknown keys are
 * errors too, because a typo such as {@code allowed-network} would otherwise silently leave
 * the safe default in force.
 */
public final class ConfigLoader {

    /** Keys an operator may set inside {@code domains."D" { ... }}. */
    static final Set<String> DOMAIN_KEYS = Set.of("return-path", "fallback", "force", "alignment", "from-address",
            "dkim-selector");

    /** Keys of one entry of {@code returnpath.rules}. */
    static final Set<String> RULE_KEYS = Set.of("name", "match", "return-path", "fallback", "reject", "keep",
            "from-header", "from-address", "strip-headers");

    /** Keys of a rule's {@code match}. */
    static final Set<String> MATCH_KEYS = Set.of("envelope-sender", "header-from", "client", "recipient-domain");

    /** Fields a rule may not strip: RFC 5322 §3.6 requires them in every message. */
    static final Set<String> UNSTRIPPABLE = Set.of("from", "date");

    private final Config root;
    private final Config reference;
    private final String fileName;

    private ConfigLoader(Config root, Config reference, String fileName) {
        this.root = root;
        this.reference = reference;
        this.fileName = fileName;
    }

    /** Loads {@code file}; a missing file is an error, never an empty configuration. */
    public static RelayConfig load(Path file) throws ConfigException {
        String name = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(name, 0, null, Files.exists(file) ? "not a regular file" : "no such file");
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
        return fromParsed(parsed, name, file);
    }

    /** For tests and {@code rewrite-test}: a configuration given as HOCON text. */
    public static RelayConfig parseString(String hocon, String name) throws ConfigException {
        Config parsed;
        try {
            parsed = ConfigFactory.parseString(hocon, ConfigParseOptions.defaults().setOriginDescription(name));
        } catch (com.typesafe.config.ConfigException e) {
            throw translate(e, name);
        }
        return fromParsed(parsed, name, Path.of(name));
    }

    private static RelayConfig fromParsed(Config parsed, String name, Path source) throws ConfigException {
        Config reference = ConfigFactory.defaultReference();
        Config root;
        try {
            root = ConfigFactory.defaultOverrides().withFallback(parsed).withFallback(reference).resolve();
        } catch (com.typesafe.config.ConfigException e) {
            throw translate(e, name);
        }
        return new ConfigLoader(root, reference, name).build(source);
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

    private RelayConfig build(Path source) throws ConfigException {
        checkUnknownKeys();
        String p = "returnpath.";
        String hostname = optString(p + "hostname").orElseGet(ConfigLoader::defaultHostname);
        checkHostname(p + "hostname", hostname);

        Listen listen = new Listen(
                host(p + "listen.host"),
                port(p + "listen.port", true),
                cidrs(p + "listen.allowed-networks"),
                bytesIn(p + "listen.max-message-size", 1024, Integer.MAX_VALUE),
                intIn(p + "listen.max-recipients", 1, 100_000),
                intIn(p + "listen.max-connections", 1, 100_000),
                enumOf(p + "listen.bare-newline", BareNewline.class),
                durationIn(p + "listen.idle-timeout", Duration.ofSeconds(1), Duration.ofHours(1)));

        Optional<HashKey> hashKey = hashKey(p + "rewrite.hash-key");
        Map<String, DomainPolicy> domains = domains(p + "domains", hashKey);
        List<Rule> rules = rules(p + "rules", domains, hashKey);

        UnknownDomain unknown = enumOf(p + "rewrite.unknown-domain", UnknownDomain.class);
        Optional<String> defaultDomain = optString(p + "rewrite.default-domain").map(d -> normalizeDomain(d));
        if (unknown == UnknownDomain.DEFAULT) {
            if (defaultDomain.isEmpty()) {
                throw error(p + "rewrite.unknown-domain", "\"default\" needs rewrite.default-domain, a domain listed under returnpath.domains");
            }
            if (!domains.containsKey(defaultDomain.get())) {
                throw error(p + "rewrite.default-domain", "\"" + defaultDomain.get() + "\" is not listed under returnpath.domains");
            }
        }
        Rewrite rewrite = new Rewrite(unknown, defaultDomain, hashKey);

        DeliveryMode mode = enumOf(p + "delivery.mode", DeliveryMode.class);
        String s = p + "delivery.smarthost.";
        Optional<String> smHost = optString(s + "host");
        if (smHost.isPresent()) {
            checkHostOrLiteral(s + "host", smHost.get());
        } else if (mode == DeliveryMode.SMARTHOST) {
            throw error(s + "host", "required when delivery.mode = smarthost");
        }
        Optional<Path> caFile = optString(s + "ca-file").map(Path::of);
        if (caFile.isPresent() && !Files.isReadable(caFile.get())) {
            throw error(s + "ca-file", "cannot read \"" + caFile.get() + "\"");
        }
        Optional<String> user = optString(s + "username");
        Optional<String> pass = optString(s + "password");
        if (user.isPresent() != pass.isPresent()) {
            throw error(user.isPresent() ? s + "username" : s + "password",
                    "username and password go together (set both, e.g. through RETURNPATH_SMARTHOST_USERNAME and RETURNPATH_SMARTHOST_PASSWORD)");
        }
        Smarthost smarthost = new Smarthost(smHost, port(s + "port", false),
                enumOf(s + "tls", SmarthostTls.class), caFile, user, pass);
        if (smarthost.tls() == SmarthostTls.NONE && user.isPresent()) {
            throw error(s + "tls", "AUTH would send the password in clear text: use starttls or implicit with a username");
        }
        Direct direct = direct(p + "delivery.direct.");
        Delivery delivery = new Delivery(mode, smarthost, direct,
                durationIn(p + "delivery.connect-timeout", Duration.ofMillis(100), Duration.ofMinutes(10)),
                durationIn(p + "delivery.command-timeout", Duration.ofMillis(100), Duration.ofHours(1)));

        Queue queue = queue(p + "queue.");

        List<String> servers = new ArrayList<>();
        for (String server : stringList(p + "dns.servers")) {
            checkHostPort(p + "dns.servers", server);
            servers.add(server.trim());
        }
        Dns dns = new Dns(List.copyOf(servers),
                durationIn(p + "dns.timeout", Duration.ofMillis(50), Duration.ofMinutes(1)));

        List<InetAddress> outbound = new ArrayList<>();
        for (String ip : stringList(p + "spf.outbound-ips")) {
            outbound.add(ipLiteral(p + "spf.outbound-ips", ip));
        }
        Spf spf = new Spf(List.copyOf(outbound), enumOf(p + "spf.on-fail", OnFail.class));

        Management management = new Management(host(p + "management.host"), port(p + "management.port", true));
        Duration grace = durationIn(p + "shutdown.grace-period", Duration.ZERO, Duration.ofMinutes(10));
        Duration doctorInterval = durationIn(p + "doctor.interval", Duration.ZERO, Duration.ofDays(7));
        Optional<String> doctorToDomain = optString(p + "doctor.to-domain");
        if (doctorToDomain.isPresent()) {
            try {
                doctorToDomain = Optional.of(normalizeDomain(doctorToDomain.get()));
            } catch (IllegalArgumentException e) {
                throw error(p + "doctor.to-domain", e.getMessage());
            }
        }
        LogFormat logFormat = enumOf(p + "log.format", LogFormat.class);

        return new RelayConfig(source, hostname, listen, domains, rules, rewrite, delivery, queue, dns, spf, management, grace,
                doctorInterval, doctorToDomain, logFormat);
    }

    /** {@code delivery.direct}: MX delivery (port for tests and port-25-blocked networks, STARTTLS policy). */
    private Direct direct(String d) throws ConfigException {
        return new Direct(port(d + "port", false), enumOf(d + "tls", DirectTls.class));
    }

    /** {@code queue}: passthrough or spool, where, and the retry schedule (Postfix's defaults). */
    private Queue queue(String q) throws ConfigException {
        Duration firstRetry = durationIn(q + "first-retry", Duration.ofSeconds(1), Duration.ofDays(1));
        Duration maxRetry = durationIn(q + "max-retry-interval", Duration.ofSeconds(1), Duration.ofDays(7));
        if (maxRetry.compareTo(firstRetry) < 0) {
            throw error(q + "max-retry-interval", "must not be shorter than queue.first-retry (" + firstRetry + ")");
        }
        String dir = string(q + "dir");
        if (dir.isBlank()) {
            throw error(q + "dir", "must not be empty");
        }
        Duration maxAge = durationIn(q + "max-age", Duration.ofMinutes(1), Duration.ofDays(60));
        Duration delayWarning = durationIn(q + "delay-warning", Duration.ZERO, Duration.ofDays(60));
        if (!delayWarning.isZero() && delayWarning.compareTo(maxAge) >= 0) {
            throw error(q + "delay-warning", "must be shorter than queue.max-age (" + maxAge + "), or 0 for off");
        }
        int total = intIn(q + "max-concurrency", 1, 10_000);
        int perDestination = intIn(q + "destination-concurrency", 1, 10_000);
        return new Queue(enumOf(q + "mode", QueueMode.class), Path.of(dir), firstRetry, maxRetry, maxAge,
                delayWarning, total, perDestination);
    }

    // ---------------------------------------------------------------- checks

    private void checkUnknownKeys() throws ConfigException {
        for (Map.Entry<String, ConfigValue> e : root.getConfig("returnpath").entrySet()) {
            String path = "returnpath." + e.getKey();
            if (path.startsWith("returnpath.domains.")) {
                continue; // checked per domain
            }
            if (path.startsWith("returnpath.rules.")) {
                continue; // rules given as an object: rules() says it must be a list
            }
            if (!reference.hasPathOrNull(path)) {
                throw new ConfigException(fileOf(e.getValue()), lineOf(e.getValue()), path, "unknown key");
            }
        }
    }

    private Map<String, DomainPolicy> domains(String path, Optional<HashKey> hashKey) throws ConfigException {
        Map<String, DomainPolicy> out = new LinkedHashMap<>();
        if (!root.hasPath(path)) {
            return out;
        }
        for (Map.Entry<String, ConfigValue> e : root.getObject(path).entrySet()) {
            String key = path + ".\"" + e.getKey() + "\"";
            if (e.getValue().valueType() != ConfigValueType.OBJECT) {
                throw error(key, "must be an object such as { return-path = \"bounce@" + e.getKey() + "\" }");
            }
            String domain;
            try {
                domain = normalizeDomain(e.getKey());
            } catch (IllegalArgumentException ex) {
                throw error(key, ex.getMessage());
            }
            Config d = ((com.typesafe.config.ConfigObject) e.getValue()).toConfig();
            for (String k : d.root().keySet()) {
                if (!DOMAIN_KEYS.contains(k)) {
                    ConfigValue v = d.root().get(k);
                    throw new ConfigException(fileOf(v), lineOf(v), key + "." + k,
                            "unknown key (allowed: " + String.join(", ", new java.util.TreeSet<>(DOMAIN_KEYS)) + ")");
                }
            }
            ReturnPathTemplate template = template(key, string(key + ".return-path"), optString(key + ".fallback"), hashKey);
            boolean force = root.hasPath(key + ".force") && bool(key + ".force");
            Alignment alignment = root.hasPath(key + ".alignment") ? enumOf(key + ".alignment", Alignment.class) : Alignment.RELAXED;
            Optional<String> fromAddress = optString(key + ".from-address");
            if (fromAddress.isPresent()) {
                String fa = fromAddress.get();
                if (!Addresses.isValidMailbox(fa)) {
                    throw error(key + ".from-address", "\"" + fa + "\" is not a valid address (local@domain)");
                }
                if (!isAtOrUnder(Addresses.domainOf(fa).orElseThrow(), domain)) {
                    throw error(key + ".from-address", "\"" + fa + "\" is not in " + domain + " or below it: "
                            + "the aligned From must belong to the domain that sends it");
                }
            }
            Optional<String> dkimSelector = optString(key + ".dkim-selector");
            if (dkimSelector.isPresent() && !Addresses.isValidDomain(dkimSelector.get())) {
                throw error(key + ".dkim-selector", "\"" + dkimSelector.get() + "\" is not a DKIM selector (DNS labels)");
            }
            if (out.put(domain, new DomainPolicy(domain, template, force, alignment, fromAddress, dkimSelector)) != null) {
                throw error(key, "domain \"" + domain + "\" is listed twice");
            }
        }
        return Map.copyOf(out);
    }

    /** {@code return-path} (with its {@code fallback}) at {@code key}, as a checked template. */
    private ReturnPathTemplate template(String key, String text, Optional<String> fallback, Optional<HashKey> hashKey)
            throws ConfigException {
        ReturnPathTemplate t;
        try {
            t = ReturnPathTemplate.parse(text, fallback);
        } catch (IllegalArgumentException ex) {
            boolean aboutFallback = ex.getMessage().startsWith("fallback");
            throw error(key + (aboutFallback ? ".fallback" : ".return-path"), ex.getMessage());
        }
        if (t.usesHash() && hashKey.isEmpty()) {
            throw error(key + ".return-path", "\"" + text + "\" uses {hash}, which needs a key: set "
                    + "rewrite.hash-key, e.g. through RETURNPATH_HASH_KEY (at least " + HashKey.MIN_BYTES + " bytes)");
        }
        return t;
    }

    private Optional<HashKey> hashKey(String path) throws ConfigException {
        if (!root.hasPath(path)) {
            return Optional.empty();
        }
        ConfigValue v = root.getValue(path);
        if (v.valueType() != ConfigValueType.STRING) {
            throw error(path, "must be a string (better: set RETURNPATH_HASH_KEY)");
        }
        byte[] k = ((String) v.unwrapped()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (k.length == 0) {
            return Optional.empty();
        }
        if (k.length < HashKey.MIN_BYTES) {
            // never print the key, not even a bad one
            throw error(path, "too short: at least " + HashKey.MIN_BYTES + " bytes (e.g. openssl rand -base64 24)");
        }
        return Optional.of(new HashKey(k));
    }

    private static boolean isAtOrUnder(String domain, String parent) {
        String d;
        try {
            d = normalizeDomain(domain);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return d.equals(parent) || d.endsWith("." + parent);
    }

    // ---------------------------------------------------------------- rules

    private List<Rule> rules(String path, Map<String, DomainPolicy> domains, Optional<HashKey> hashKey)
            throws ConfigException {
        if (!root.hasPath(path)) {
            return List.of();
        }
        ConfigValue v = root.getValue(path);
        if (v.valueType() != ConfigValueType.LIST) {
            throw error(path, "must be a list such as [ { match { envelope-sender = \"*@*.internal\" }, "
                    + "return-path = \"bounce@example.com\" } ]");
        }
        List<Rule> out = new ArrayList<>();
        Set<String> names = new java.util.HashSet<>();
        com.typesafe.config.ConfigList list = (com.typesafe.config.ConfigList) v;
        for (int i = 0; i < list.size(); i++) {
            Rule r = rule(path + "." + i, i, list.get(i), domains, hashKey);
            if (!names.add(r.name())) {
                ConfigObject o = (ConfigObject) list.get(i);
                throw at(o.get("name"), path + "." + i + ".name", "\"" + r.name() + "\" is the name of an earlier rule");
            }
            out.add(r);
        }
        return List.copyOf(out);
    }

    private Rule rule(String key, int index, ConfigValue value, Map<String, DomainPolicy> domains,
                      Optional<HashKey> hashKey) throws ConfigException {
        if (value.valueType() != ConfigValueType.OBJECT) {
            throw at(value, key, "must be an object such as { match { envelope-sender = \"*@*.internal\" }, "
                    + "return-path = \"bounce@example.com\" }");
        }
        ConfigObject o = (ConfigObject) value;
        for (Map.Entry<String, ConfigValue> e : o.entrySet()) {
            if (!RULE_KEYS.contains(e.getKey())) {
                throw at(e.getValue(), key + "." + e.getKey(),
                        "unknown key (allowed: " + String.join(", ", new java.util.TreeSet<>(RULE_KEYS)) + ")");
            }
        }

        String name = String.valueOf(index);
        if (o.containsKey("name")) {
            name = scalar(o.get("name"), key + ".name");
            if (!name.matches("[A-Za-z][A-Za-z0-9._-]{0,63}")) {
                throw at(o.get("name"), key + ".name", "\"" + name + "\" must start with a letter and hold only "
                        + "letters, digits, '.', '_' and '-' (at most 64): it appears in log lines as rule=rule:NAME");
            }
        }

        Rule.Match match = new Rule.Match(List.of(), List.of(), List.of(), List.of());
        if (o.containsKey("match")) {
            match = match(o.get("match"), key + ".match");
        }

        List<String> actions = new ArrayList<>();
        for (String a : List.of("return-path", "reject", "keep")) {
            if (o.containsKey(a) && !(a.equals("keep") && !bool(o.get(a), key + ".keep"))) {
                actions.add(a);
            }
        }
        if (actions.size() > 1) {
            throw at(o.get(actions.get(1)), key + "." + actions.get(1), "a rule takes one of return-path, reject "
                    + "and keep = true, not " + String.join(" and ", actions));
        }
        if (o.containsKey("fallback") && !o.containsKey("return-path")) {
            throw at(o.get("fallback"), key + ".fallback", "fallback goes with return-path");
        }
        Rule.Action action = new Rule.Action.DomainMap();
        Optional<ReturnPathTemplate> template = Optional.empty();
        if (actions.contains("return-path")) {
            Optional<String> fb = o.containsKey("fallback")
                    ? Optional.of(scalar(o.get("fallback"), key + ".fallback")) : Optional.empty();
            String text = scalar(o.get("return-path"), key + ".return-path");
            try {
                template = Optional.of(ReturnPathTemplate.parse(text, fb));
            } catch (IllegalArgumentException ex) {
                boolean aboutFallback = ex.getMessage().startsWith("fallback");
                String k = aboutFallback ? "fallback" : "return-path";
                throw at(o.get(k), key + "." + k, ex.getMessage());
            }
            if (template.get().usesHash() && hashKey.isEmpty()) {
                throw at(o.get("return-path"), key + ".return-path", "\"" + text + "\" uses {hash}, which needs a key: "
                        + "set rewrite.hash-key, e.g. through RETURNPATH_HASH_KEY (at least " + HashKey.MIN_BYTES + " bytes)");
            }
            action = new Rule.Action.SetReturnPath(template.get());
        } else if (actions.contains("reject")) {
            action = rejectAction(o.get("reject"), key + ".reject");
        } else if (actions.contains("keep")) {
            action = new Rule.Action.Keep();
        }

        Rule.FromHeaderMode fromHeader = Rule.FromHeaderMode.KEEP;
        if (o.containsKey("from-header")) {
            String fh = scalar(o.get("from-header"), key + ".from-header").trim();
            fromHeader = switch (fh.toLowerCase(Locale.ROOT)) {
                case "keep" -> Rule.FromHeaderMode.KEEP;
                case "align" -> Rule.FromHeaderMode.ALIGN;
                default -> throw at(o.get("from-header"), key + ".from-header", "must be one of keep | align, got \"" + fh + "\"");
            };
        }
        Optional<String> alignTo = Optional.empty();
        if (o.containsKey("from-address")) {
            ConfigValue fv = o.get("from-address");
            String fa = scalar(fv, key + ".from-address").trim();
            if (fromHeader != Rule.FromHeaderMode.ALIGN) {
                throw at(fv, key + ".from-address", "is used only with from-header = align");
            }
            if (!Addresses.isValidMailbox(fa)) {
                throw at(fv, key + ".from-address", "\"" + fa + "\" is not a valid address (local@domain)");
            }
            if (RelayConfig.lookup(domains, Addresses.domainOf(fa).orElseThrow()).isEmpty()) {
                throw at(fv, key + ".from-address", "\"" + fa + "\" is not in a domain listed under returnpath.domains");
            }
            alignTo = Optional.of(fa);
        } else if (fromHeader == Rule.FromHeaderMode.ALIGN) {
            // Which address From becomes, when the rule does not say: the from-address of the
            // domain its return-path is in; else the only from-address there is. Never a guess
            // between several.
            Optional<DomainPolicy> owner = template.flatMap(t -> RelayConfig.lookup(domains, t.domain()));
            List<String> all = domains.values().stream().flatMap(d -> d.fromAddress().stream()).sorted().toList();
            if (owner.isPresent() && owner.get().fromAddress().isPresent()) {
                alignTo = owner.get().fromAddress();
            } else if (owner.isPresent()) {
                throw at(o.get("from-header"), key + ".from-header", "align needs an address for From: set from-address "
                        + "in this rule or in domains.\"" + owner.get().domain() + "\"");
            } else if (template.isEmpty() && all.size() == 1) {
                alignTo = Optional.of(all.get(0));
            } else {
                throw at(o.get("from-header"), key + ".from-header", "align needs an address for From: set from-address "
                        + "in this rule" + (template.isPresent()
                        ? " (the return-path domain " + template.get().domain() + " is not listed under returnpath.domains)"
                        : all.isEmpty() ? " (no domain has a from-address)"
                        : " (several domains have one: " + String.join(", ", all) + ")"));
            }
        }

        List<String> strip = new ArrayList<>();
        if (o.containsKey("strip-headers")) {
            ConfigValue sv = o.get("strip-headers");
            for (String h : stringsOf(sv, key + ".strip-headers")) {
                String n = h.trim();
                if (!n.matches("[!-9;-~]+")) {
                    throw at(sv, key + ".strip-headers", "\"" + h + "\" is not a header field name");
                }
                if (UNSTRIPPABLE.contains(n.toLowerCase(Locale.ROOT))) {
                    throw at(sv, key + ".strip-headers", n + " cannot be stripped: every message needs one (RFC 5322 section 3.6)"
                            + (n.equalsIgnoreCase("from") ? "; use from-header = align to change it" : ""));
                }
                strip.add(n);
            }
        }
        if (actions.isEmpty() && fromHeader == Rule.FromHeaderMode.KEEP && strip.isEmpty()) {
            throw at(value, key, "does nothing: give it return-path, reject, keep = true, from-header = align or strip-headers");
        }
        return new Rule(index, name, match, action, fromHeader, alignTo, List.copyOf(strip));
    }

    private Rule.Match match(ConfigValue value, String key) throws ConfigException {
        if (value.valueType() != ConfigValueType.OBJECT) {
            throw at(value, key, "must be an object such as { envelope-sender = \"*@*.internal\", client = \"10.0.0.0/8\" }");
        }
        ConfigObject m = (ConfigObject) value;
        for (Map.Entry<String, ConfigValue> e : m.entrySet()) {
            if (!MATCH_KEYS.contains(e.getKey())) {
                throw at(e.getValue(), key + "." + e.getKey(),
                        "unknown key (allowed: " + String.join(", ", new java.util.TreeSet<>(MATCH_KEYS)) + ")");
            }
        }
        List<Glob> sender = globs(m, "envelope-sender", key);
        List<Glob> from = globs(m, "header-from", key);
        List<Glob> rcpt = globs(m, "recipient-domain", key);
        List<Cidr> client = new ArrayList<>();
        if (m.containsKey("client")) {
            for (String c : stringsOf(m.get("client"), key + ".client")) {
                try {
                    client.add(Cidr.parse(c));
                } catch (IllegalArgumentException ex) {
                    throw at(m.get("client"), key + ".client", ex.getMessage());
                }
            }
        }
        return new Rule.Match(sender, from, List.copyOf(client), rcpt);
    }

    private List<Glob> globs(ConfigObject m, String name, String key) throws ConfigException {
        if (!m.containsKey(name)) {
            return List.of();
        }
        List<Glob> out = new ArrayList<>();
        for (String g : stringsOf(m.get(name), key + "." + name)) {
            if (g.chars().anyMatch(c -> c < 0x20 || c == ' ' || c == 0x7f)) {
                throw at(m.get(name), key + "." + name, "\"" + g + "\": a pattern has no spaces or control characters");
            }
            out.add(Glob.of(g));
        }
        return List.copyOf(out);
    }

    /** {@code "text"} or {@code "550 5.7.1 text"}: an operator may choose the code, 4xx or 5xx. */
    private Rule.Action.Reject rejectAction(ConfigValue v, String key) throws ConfigException {
        String text = scalar(v, key).trim();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([45])(\\d\\d) (([45])\\.\\d{1,3}\\.\\d{1,3}) ?(.*)").matcher(text);
        int code = 550;
        String enhanced = "5.7.1";
        if (m.matches()) {
            if (!m.group(1).equals(m.group(4))) {
                throw at(v, key, "the reply code " + m.group(1) + m.group(2) + " and the enhanced code " + m.group(3)
                        + " disagree (both 4 or both 5)");
            }
            code = Integer.parseInt(m.group(1) + m.group(2));
            enhanced = m.group(3);
            text = m.group(5).trim();
        }
        if (text.isEmpty()) {
            throw at(v, key, "needs a text for the reply, e.g. reject = \"mail from this application is not accepted\"");
        }
        if (text.length() > 400 || !text.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw at(v, key, "the text goes on the SMTP wire: printable ASCII, at most 400 characters");
        }
        return new Rule.Action.Reject(code, enhanced, text);
    }

    private List<String> stringsOf(ConfigValue v, String key) throws ConfigException {
        if (v.valueType() == ConfigValueType.STRING) {
            return List.of((String) v.unwrapped());
        }
        if (v.valueType() == ConfigValueType.LIST) {
            List<String> out = new ArrayList<>();
            for (ConfigValue e : (com.typesafe.config.ConfigList) v) {
                if (e.valueType() != ConfigValueType.STRING) {
                    throw at(e, key, "must be a string or a list of strings");
                }
                out.add((String) e.unwrapped());
            }
            if (out.isEmpty()) {
                throw at(v, key, "an empty list matches nothing: remove the key, or give patterns");
            }
            return out;
        }
        throw at(v, key, "must be a string or a list of strings");
    }

    private String scalar(ConfigValue v, String key) throws ConfigException {
        if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST
                || v.valueType() == ConfigValueType.NULL) {
            throw at(v, key, "must be a string, not " + v.valueType().name().toLowerCase(Locale.ROOT));
        }
        return String.valueOf(v.unwrapped());
    }

    private boolean bool(ConfigValue v, String key) throws ConfigException {
        if (v.valueType() == ConfigValueType.BOOLEAN) {
            return (Boolean) v.unwrapped();
        }
        if (v.valueType() == ConfigValueType.STRING) {
            String s = ((String) v.unwrapped()).trim().toLowerCase(Locale.ROOT);
            if (s.equals("true") || s.equals("yes") || s.equals("on")) {
                return true;
            }
            if (s.equals("false") || s.equals("no") || s.equals("off")) {
                return false;
            }
        }
        throw at(v, key, "must be true or false, got \"" + v.unwrapped() + "\"");
    }

    /** An error at {@code v}, a value inside a list (so that no Typesafe path reaches it). */
    private ConfigException at(ConfigValue v, String key, String problem) {
        if (v == null) {
            return new ConfigException(fileName, -1, key, problem);
        }
        return new ConfigException(fileOf(v), lineOf(v), key, problem);
    }

    /** Lower case, A-label (punycode) form; rejects what cannot be a domain name. */
    static String normalizeDomain(String d) {
        String t = d.trim();
        if (t.endsWith(".")) {
            t = t.substring(0, t.length() - 1);
        }
        String ascii;
        try {
            ascii = IDN.toASCII(t, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + d + "\" is not a domain name");
        }
        if (!Addresses.isValidDomain(ascii)) {
            throw new IllegalArgumentException("\"" + d + "\" is not a domain name");
        }
        return ascii;
    }

    private static String defaultHostname() {
        try {
            return InetAddress.getLocalHost().getCanonicalHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    private void checkHostname(String path, String name) throws ConfigException {
        if (!Addresses.isValidDomain(name.toLowerCase(Locale.ROOT))) {
            throw error(path, "\"" + name + "\" is not a host name");
        }
    }

    private void checkHostOrLiteral(String path, String host) throws ConfigException {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (!Cidr.isIpLiteral(h) && !Addresses.isValidDomain(h.toLowerCase(Locale.ROOT))) {
            throw error(path, "\"" + host + "\" is neither a host name nor an IP address");
        }
    }

    private void checkHostPort(String path, String hostPort) throws ConfigException {
        String hp = hostPort.trim();
        String host = hp;
        String port = null;
        if (hp.startsWith("[")) {
            int end = hp.indexOf(']');
            if (end < 0) {
                throw error(path, "\"" + hostPort + "\": unclosed [");
            }
            host = hp.substring(1, end);
            if (hp.length() > end + 1) {
                if (hp.charAt(end + 1) != ':') {
                    throw error(path, "\"" + hostPort + "\" is not host or host:port");
                }
                port = hp.substring(end + 2);
            }
        } else if (hp.indexOf(':') >= 0 && hp.indexOf(':') == hp.lastIndexOf(':')) {
            host = hp.substring(0, hp.indexOf(':'));
            port = hp.substring(hp.indexOf(':') + 1);
        }
        checkHostOrLiteral(path, host);
        if (port != null && (!port.matches("\\d{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535)) {
            throw error(path, "\"" + hostPort + "\": port must be 1-65535");
        }
    }

    // ---------------------------------------------------------------- typed getters

    private ConfigException error(String path, String problem) {
        ConfigValue v = valueOrNull(path);
        if (v == null || v.origin().filename() == null && v.origin().resource() != null) {
            // the value is a default from reference.conf: name the operator's file, no line
            return new ConfigException(fileName, -1, path, problem);
        }
        return new ConfigException(fileOf(v), lineOf(v), path, problem);
    }

    private ConfigValue valueOrNull(String path) {
        try {
            return root.hasPathOrNull(path) ? root.getValue(path) : null;
        } catch (com.typesafe.config.ConfigException e) {
            return null;
        }
    }

    private String fileOf(ConfigValue v) {
        ConfigOrigin o = v.origin();
        if (o.filename() != null) {
            return o.filename();
        }
        if (o.resource() != null) {
            return o.resource();
        }
        return o.description() == null ? fileName : o.description().replaceFirst(":\\s*\\d+$", "");
    }

    private static int lineOf(ConfigValue v) {
        return v.origin().lineNumber();
    }

    private Optional<String> optString(String path) throws ConfigException {
        if (!root.hasPath(path)) {
            return Optional.empty(); // absent or null
        }
        String s = string(path).trim();
        return s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    private String string(String path) throws ConfigException {
        if (!root.hasPath(path)) {
            throw error(path, "missing");
        }
        ConfigValue v = root.getValue(path);
        if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
            throw error(path, "must be a string, not " + v.valueType().name().toLowerCase(Locale.ROOT));
        }
        return String.valueOf(v.unwrapped());
    }

    private boolean bool(String path) throws ConfigException {
        try {
            return root.getBoolean(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be true or false, got \"" + string(path) + "\"");
        }
    }

    private int intIn(String path, int min, int max) throws ConfigException {
        long v;
        try {
            v = root.getLong(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be a whole number, got \"" + string(path) + "\"");
        }
        if (v < min || v > max) {
            throw error(path, "must be between " + min + " and " + max + ", got " + v);
        }
        return (int) v;
    }

    private int port(String path, boolean zeroAllowed) throws ConfigException {
        return intIn(path, zeroAllowed ? 0 : 1, 65535);
    }

    private long bytesIn(String path, long min, long max) throws ConfigException {
        long v;
        try {
            v = root.getBytes(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be a size such as 25 MiB or 10M, got \"" + string(path) + "\"");
        }
        if (v < min || v > max) {
            throw error(path, "must be between " + min + " and " + max + " bytes, got " + v);
        }
        return v;
    }

    private Duration durationIn(String path, Duration min, Duration max) throws ConfigException {
        Duration d;
        try {
            d = root.getDuration(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be a duration such as 30s, 500ms or 5m, got \"" + string(path) + "\"");
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw error(path, "must be between " + min + " and " + max + ", got " + d);
        }
        return d;
    }

    private <E extends Enum<E>> E enumOf(String path, Class<E> type) throws ConfigException {
        String s = string(path).trim();
        for (E e : type.getEnumConstants()) {
            if (e.name().replace('_', '-').equalsIgnoreCase(s)) {
                return e;
            }
        }
        List<String> words = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            words.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw error(path, "must be one of " + String.join(" | ", words) + ", got \"" + s + "\"");
    }

    private List<String> stringList(String path) throws ConfigException {
        try {
            return root.getStringList(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be a list of strings such as [\"a\", \"b\"]");
        }
    }

    private List<Cidr> cidrs(String path) throws ConfigException {
        List<Cidr> out = new ArrayList<>();
        for (String s : stringList(path)) {
            try {
                out.add(Cidr.parse(s));
            } catch (IllegalArgumentException e) {
                throw error(path, e.getMessage());
            }
        }
        return List.copyOf(out);
    }

    private String host(String path) throws ConfigException {
        String h = string(path).trim();
        checkHostOrLiteral(path, h);
        return h;
    }

    private InetAddress ipLiteral(String path, String s) throws ConfigException {
        String t = s.trim();
        if (!Cidr.isIpLiteral(t)) {
            throw error(path, "\"" + s + "\" is not an IP address");
        }
        try {
            return InetAddress.getByName(t);
        } catch (UnknownHostException e) {
            throw error(path, "\"" + s + "\" is not an IP address");
        }
    }
}
