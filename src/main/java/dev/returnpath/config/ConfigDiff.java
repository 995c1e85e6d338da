package dev.returnpath.config;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What changed between two configurations, in the words of the keys, for the one log line a
 * reload writes. It walks the record trees, so a key added later is covered without being listed
 * here. Values are shown only for numbers, booleans, durations and enum words: a string may be a
 * secret (a password, the hash key), so it is named and never printed.
 *
 * @param changed       keys that took effect, e.g. {@code rules (2 -> 3 entries)}
 * @param restartNeeded keys whose new value the running listener cannot take: it was built with
 *                      the old one (bind address and port, connection limit, greeting name, ...)
 */
public record ConfigDiff(List<String> changed, List<String> restartNeeded) {

    /**
     * Keys read once, when the listener (or the spool, or the management port) is built. The
     * new value is in the configuration, but the part that uses it keeps the old one until a
     * restart. {@code max-message-size} and {@code max-recipients} are enforced per transaction
     * with the new value; only what the listener advertises (SIZE) and SubEtha's own recipient
     * cap stay as they were.
     */
    static final Set<String> RESTART = Set.of("hostname", "listen.host", "listen.port", "listen.max-connections",
            "listen.idle-timeout", "listen.max-message-size", "listen.max-recipients", "queue.mode", "queue.dir",
            "queue.max-concurrency",
            "management.host", "management.port", "listen.implicit-tls-port", "bounces-imap");

    public static ConfigDiff between(RelayConfig before, RelayConfig after) {
        List<String> all = new ArrayList<>();
        walk("", before, after, all);
        List<String> changed = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        for (String c : all) {
            String key = c.contains(" ") ? c.substring(0, c.indexOf(' ')) : c;
            (RESTART.contains(key) ? restart : changed).add(c);
        }
        return new ConfigDiff(List.copyOf(changed), List.copyOf(restart));
    }

    public boolean isEmpty() {
        return changed.isEmpty() && restartNeeded.isEmpty();
    }

    /** One line: {@code changed: a, b; needs a restart to take full effect: c}. */
    public String summary() {
        if (isEmpty()) {
            return "no change in effect (comments or layout only)";
        }
        StringBuilder b = new StringBuilder();
        if (!changed.isEmpty()) {
            b.append("changed: ").append(String.join(", ", changed));
        }
        if (!restartNeeded.isEmpty()) {
            b.append(b.isEmpty() ? "" : "; ").append("needs a restart to take full effect: ")
                    .append(String.join(", ", restartNeeded));
        }
        return b.toString();
    }

    private static void walk(String path, Object a, Object b, List<String> out) {
        if (Objects.equals(a, b)) {
            return;
        }
        if (endpointOrNull(a) != null || endpointOrNull(b) != null) {
            // delivery.smarthost.endpoint is written as two keys, host and port: name those
            Endpoint ea = endpointOrNull(a);
            Endpoint eb = endpointOrNull(b);
            String parent = path.endsWith(".endpoint") ? path.substring(0, path.length() - ".endpoint".length()) : path;
            if (ea == null || eb == null || !ea.host().equals(eb.host())) {
                out.add(parent + ".host");
            }
            if (ea != null && eb != null && ea.port() != eb.port()) {
                out.add(parent + ".port (" + ea.port() + " -> " + eb.port() + ")");
            }
            return;
        }
        if (a instanceof Record && b != null && a.getClass() == b.getClass()) {
            for (RecordComponent c : a.getClass().getRecordComponents()) {
                if (path.isEmpty() && c.getName().equals("source")) {
                    continue; // the same file
                }
                walk(path.isEmpty() ? kebab(c.getName()) : path + "." + kebab(c.getName()), get(c, a), get(c, b), out);
            }
            return;
        }
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            List<String> parts = new ArrayList<>();
            for (Object k : new TreeSet<Object>(ma.keySet())) {
                if (!mb.containsKey(k)) {
                    parts.add("-" + k);
                } else if (!Objects.equals(ma.get(k), mb.get(k))) {
                    parts.add("~" + k);
                }
            }
            for (Object k : new TreeSet<Object>(mb.keySet())) {
                if (!ma.containsKey(k)) {
                    parts.add("+" + k);
                }
            }
            out.add(path + " (" + String.join(" ", parts) + ")");
            return;
        }
        if (a instanceof List<?> la && b instanceof List<?> lb && (isRoutes(la) || isRoutes(lb))
                && (la.isEmpty() || isRoutes(la)) && (lb.isEmpty() || isRoutes(lb))) {
            // delivery.routes: name the routes added, removed or changed (+news ~shop)
            walk(path, byName(la), byName(lb), out);
            return;
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            out.add(path + (la.size() == lb.size() ? "" : " (" + la.size() + " -> " + lb.size() + " entries)"));
            return;
        }
        String va = shown(a);
        String vb = shown(b);
        out.add(path + (va != null && vb != null ? " (" + va + " -> " + vb + ")" : ""));
    }

    private static boolean isRoutes(List<?> l) {
        return !l.isEmpty() && l.stream().allMatch(RelayConfig.Route.class::isInstance);
    }

    private static Map<String, RelayConfig.Route> byName(List<?> routes) {
        Map<String, RelayConfig.Route> m = new java.util.LinkedHashMap<>();
        routes.forEach(r -> m.put(((RelayConfig.Route) r).name(), (RelayConfig.Route) r));
        return m;
    }

    private static Endpoint endpointOrNull(Object v) {
        if (v instanceof Optional<?> o) {
            return o.orElse(null) instanceof Endpoint e ? e : null;
        }
        return v instanceof Endpoint e ? e : null;
    }

    private static String shown(Object v) {
        if (v instanceof Optional<?> o) {
            return o.isEmpty() ? "none" : shown(o.get());
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        if (v instanceof Enum<?> e) {
            return e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
        if (v instanceof Duration d) {
            return DurationText.of(d);
        }
        return null;
    }

    private static Object get(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + c, e);
        }
    }

    /** {@code maxMessageSize} to {@code max-message-size}, the spelling of the keys. */
    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }
}
