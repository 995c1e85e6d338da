package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.Delivery;
import dev.returnpath.config.RelayConfig.DeliveryMode;
import dev.returnpath.config.RelayConfig.Direct;
import dev.returnpath.config.RelayConfig.OAuth;
import dev.returnpath.config.RelayConfig.DirectTls;
import dev.returnpath.config.RelayConfig.Smarthost;
import dev.returnpath.config.RelayConfig.SmarthostAuth;
import dev.returnpath.config.RelayConfig.SmarthostTls;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.returnpath.config.RelayConfig.Route;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * {@code returnpath.delivery}: the mode (direct MX or one smarthost), the smarthost with its TLS
 * mode, CA and credentials, direct delivery's port and STARTTLS policy, and the timeouts.
 *
 * <p>The smarthost's host and port are one {@link Endpoint}, present when a host is set; a host
 * is required only when {@code mode = smarthost}, so that the shipped file can carry an example
 * host while delivering direct. Credentials go together, and never over plain text; the
 * password may come from {@code password-file} ({@link Secrets}). {@code auth = xoauth2} takes
 * the username (the mailbox) and an {@code oauth} block ({@link OAuthSection}) instead of a
 * password.
 *
 * <p>{@code delivery.routes} is a list of routes by sender domain, each a {@code smarthost { }}
 * block (read by the same {@link #smarthost} as the default's, over reference.conf's defaults
 * but never its {@code RETURNPATH_SMARTHOST_*} variables) or {@code mode = direct}. Entries of a
 * list have no Typesafe path, so each is read as though it stood at
 * {@code returnpath.delivery.routes.N} ({@link ConfigReader#entry}). A route that could never be
 * chosen (a sender domain at or under one listed before it) is refused, so that "the first
 * route that holds the domain wins" is also "the most specific route wins".
 */
final class DeliverySection {
    private static final String P = "returnpath.delivery.";
    private static final String S = P + "smarthost.";
    private static final String ROUTES = P + "routes";

    /** Keys of one entry of {@code delivery.routes}. */
    static final Set<String> ROUTE_KEYS = Set.of("name", "sender-domains", "smarthost", "mode", "destination-concurrency");

    /** A route's name: it is written in the log ({@code route=NAME}) and in metrics. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private DeliverySection() {}

    static Delivery parse(ConfigReader r) throws ConfigException {
        DeliveryMode mode = r.enumOf(P + "mode", DeliveryMode.class);
        Smarthost smarthost = smarthost(r, S,
                mode == DeliveryMode.SMARTHOST ? Optional.of("required when delivery.mode = smarthost") : Optional.empty(),
                " (set both, e.g. through RETURNPATH_SMARTHOST_USERNAME and RETURNPATH_SMARTHOST_PASSWORD)");
        Direct direct = new Direct(r.port(P + "direct.port", false), r.enumOf(P + "direct.tls", DirectTls.class));
        return new Delivery(mode, smarthost, direct,
                r.durationIn(P + "connect-timeout", Duration.ofMillis(100), Duration.ofMinutes(10)),
                r.durationIn(P + "command-timeout", Duration.ofMillis(100), Duration.ofHours(1)),
                routes(r));
    }

    private static List<Route> routes(ConfigReader r) throws ConfigException {
        if (!r.has(ROUTES)) {
            return List.of();
        }
        ConfigValue v = r.value(ROUTES);
        if (v.valueType() != ConfigValueType.LIST) {
            throw r.error(ROUTES, "must be a list such as [ { name = \"shop\", sender-domains = [\"shop.example.org\"], "
                    + "smarthost { host = \"smtp.example.net\" } } ]");
        }
        Config defaults = ConfigLoader.referenceDefaults("returnpath.delivery.smarthost");
        List<Route> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Map<String, String> domainRoute = new java.util.LinkedHashMap<>(); // domain -> the route that lists it
        ConfigList list = (ConfigList) v;
        for (int i = 0; i < list.size(); i++) {
            String at = ROUTES + "." + i;
            ConfigValue e = list.get(i);
            if (e.valueType() != ConfigValueType.OBJECT) {
                throw r.at(e, at, "must be an object such as { name = \"shop\", sender-domains = [\"shop.example.org\"], "
                        + "smarthost { host = \"smtp.example.net\" } }");
            }
            Route route = route(r, at, (ConfigObject) e, defaults, domainRoute);
            if (!names.add(route.name().toLowerCase(Locale.ROOT))) {
                throw r.at(((ConfigObject) e).get("name"), at + ".name", "\"" + route.name() + "\" is the name of an earlier route");
            }
            out.add(route);
        }
        return List.copyOf(out);
    }

    private static Route route(ConfigReader r, String at, ConfigObject o, Config smarthostDefaults,
                               Map<String, String> domainRoute) throws ConfigException {
        for (String k : o.keySet()) {
            if (!ROUTE_KEYS.contains(k)) {
                throw r.at(o.get(k), at + "." + k, "unknown key (allowed: " + String.join(", ", new TreeSet<>(ROUTE_KEYS)) + ")");
            }
        }
        ConfigValue sm = o.get("smarthost");
        if (sm != null && sm.valueType() != ConfigValueType.OBJECT) {
            throw r.at(sm, at + ".smarthost", "must be a block such as smarthost { host = \"smtp.example.net\", port = 587 }");
        }
        if (sm != null) {
            checkSmarthostKeys(r, at + ".smarthost", (ConfigObject) sm, smarthostDefaults);
        }
        ConfigReader e = r.entry(o, at, sm == null ? ConfigFactory.empty() : smarthostDefaults.atKey("smarthost"));

        if (!e.has(at + ".name")) {
            throw e.error(at + ".name", "every route needs a name (it is written in the log as route=NAME)");
        }
        String name = e.string(at + ".name").trim();
        if (!NAME.matcher(name).matches()) {
            throw e.error(at + ".name", "\"" + name + "\" is not a route name (letters, digits, '.', '_' and '-', at most 64)");
        }
        if (name.equalsIgnoreCase(RelayConfig.DEFAULT_ROUTE)) {
            throw e.error(at + ".name", "\"default\" is the route of delivery.mode (mail no route takes): choose another name");
        }

        List<String> domains = senderDomains(e, at + ".sender-domains", name, domainRoute);

        Optional<DeliveryMode> written = e.has(at + ".mode") ? Optional.of(e.enumOf(at + ".mode", DeliveryMode.class))
                : Optional.empty();
        if (sm == null && written.isEmpty()) {
            throw e.error(at, "route \"" + name + "\" needs a smarthost { host = ... } block or mode = direct");
        }
        if (sm != null && written.orElse(DeliveryMode.SMARTHOST) == DeliveryMode.DIRECT) {
            throw e.error(at + ".mode", "route \"" + name + "\" has a smarthost block and mode = direct: keep one");
        }
        if (sm == null && written.get() == DeliveryMode.SMARTHOST) {
            throw e.error(at + ".mode", "route \"" + name + "\" has mode = smarthost but no smarthost { host = ... } block");
        }
        Optional<Smarthost> smarthost = Optional.empty();
        if (sm != null) {
            smarthost = Optional.of(smarthost(e, at + ".smarthost.", Optional.of("route \"" + name + "\" needs the smarthost's host"), ""));
        }
        OptionalInt concurrency = e.has(at + ".destination-concurrency")
                ? OptionalInt.of(e.intIn(at + ".destination-concurrency", 1, 10_000)) : OptionalInt.empty();
        return new Route(name, domains, sm == null ? DeliveryMode.DIRECT : DeliveryMode.SMARTHOST, smarthost, concurrency);
    }

    /**
     * The route's domains, normalized; none at or under a domain listed before it (in this
     * route or an earlier one), which would make it a domain the route can never be chosen for.
     */
    private static List<String> senderDomains(ConfigReader e, String key, String route, Map<String, String> domainRoute)
            throws ConfigException {
        if (!e.has(key)) {
            throw e.error(key, "route \"" + route + "\" needs sender-domains = [\"example.com\", ...]");
        }
        List<String> written = e.stringList(key);
        if (written.isEmpty()) {
            throw e.error(key, "an empty list matches no sender: give the domains this route sends for");
        }
        List<String> out = new ArrayList<>();
        for (String w : written) {
            String d;
            try {
                d = ConfigReader.normalizeDomain(w);
            } catch (IllegalArgumentException ex) {
                throw e.error(key, ex.getMessage());
            }
            for (Map.Entry<String, String> earlier : domainRoute.entrySet()) {
                if (d.equals(earlier.getKey()) || d.endsWith("." + earlier.getKey())) {
                    String where = earlier.getValue().equals(route) ? "earlier in this route"
                            : "by the earlier route \"" + earlier.getValue() + "\"";
                    throw e.error(key, "\"" + d + "\" is " + (d.equals(earlier.getKey()) ? "" : "under \"" + earlier.getKey()
                            + "\", ") + "listed " + where + ", which wins: this entry would never be used"
                            + (earlier.getValue().equals(route) ? "" : " (put the more specific route first)"));
                }
            }
            domainRoute.put(d, route);
            out.add(d);
        }
        return List.copyOf(out);
    }

    /** A route's smarthost takes the keys {@code delivery.smarthost} takes (reference.conf's), and only them. */
    private static void checkSmarthostKeys(ConfigReader r, String at, ConfigObject block, Config defaults)
            throws ConfigException {
        for (Map.Entry<String, ConfigValue> leaf : block.toConfig().entrySet()) {
            if (!defaults.hasPathOrNull(leaf.getKey())) {
                throw r.at(leaf.getValue(), at + "." + leaf.getKey(),
                        "unknown key (a route's smarthost takes the keys of delivery.smarthost)");
            }
        }
    }

    /**
     * One {@code smarthost { }} block whose keys start with {@code prefix} (which ends in a dot):
     * {@code returnpath.delivery.smarthost.}, or a route's, so that every smarthost is read by
     * this one method and its errors name the block's own keys.
     *
     * @param hostRequired why a host must be set, when it must (the message of its absence)
     * @param credentialsHint appended to the error when only one of username and password is set
     */
    static Smarthost smarthost(ConfigReader r, String prefix, Optional<String> hostRequired, String credentialsHint)
            throws ConfigException {
        String portKey = prefix.substring("returnpath.".length()) + "port";
        Optional<String> host = Optional.empty();
        if (r.optString(prefix + "host").isPresent()) {
            host = Optional.of(r.host(prefix + "host", portKey));
        } else if (hostRequired.isPresent()) {
            throw r.error(prefix + "host", hostRequired.get());
        }
        int port = r.port(prefix + "port", false);
        Optional<Path> caFile = r.optString(prefix + "ca-file").map(Path::of);
        if (caFile.isPresent() && !Files.isReadable(caFile.get())) {
            throw r.error(prefix + "ca-file", "cannot read \"" + caFile.get() + "\"");
        }
        Optional<String> user = r.optString(prefix + "username");
        Optional<String> pass = Secrets.optSecret(r, prefix + "password");
        // a block without the key (read with no reference.conf under it) authenticates as before
        SmarthostAuth auth = r.has(prefix + "auth") ? r.enumOf(prefix + "auth", SmarthostAuth.class) : SmarthostAuth.AUTO;
        Optional<OAuth> oauth = OAuthSection.parse(r, prefix);
        SmarthostTls tls = r.enumOf(prefix + "tls", SmarthostTls.class);
        if (auth == SmarthostAuth.XOAUTH2) {
            if (user.isEmpty()) {
                throw r.error(prefix + "username", "required with auth = xoauth2: the mailbox the token is for (relay@example.com)");
            }
            if (oauth.isEmpty()) {
                throw r.error(prefix + "oauth.provider", "required with auth = xoauth2: microsoft, google or generic");
            }
            if (pass.isPresent()) {
                throw r.error(r.has(prefix + "password-file") ? prefix + "password-file" : prefix + "password",
                        "auth = xoauth2 takes no password: the token comes from the oauth block"
                                + (prefix.equals(S) ? " (unset RETURNPATH_SMARTHOST_PASSWORD if the environment sets it)" : ""));
            }
            if (tls == SmarthostTls.NONE) {
                throw r.error(prefix + "tls", "AUTH XOAUTH2 would send the token in clear text: use starttls or implicit");
            }
            return new Smarthost(host.map(h -> new Endpoint(h, port)), tls, caFile, user, pass, auth, oauth);
        }
        if (oauth.isPresent()) {
            throw r.error(prefix + "oauth.provider", "an oauth block needs auth = xoauth2");
        }
        if (user.isPresent() != pass.isPresent()) {
            throw r.error(user.isPresent() ? prefix + "username"
                            : r.has(prefix + "password-file") ? prefix + "password-file" : prefix + "password",
                    "username and password go together" + credentialsHint);
        }
        if (tls == SmarthostTls.NONE && user.isPresent()) {
            throw r.error(prefix + "tls", "AUTH would send the password in clear text: use starttls or implicit with a username");
        }
        return new Smarthost(host.map(h -> new Endpoint(h, port)), tls, caFile, user, pass, auth, oauth);
    }
}
