package dev.returnpath.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.returnpath.message.Addresses;

import java.net.IDN;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Typed reads of the resolved configuration tree, each checked, each failing with a
 * {@link ConfigException} that names the file, the line and the key of the value it read. The
 * section parsers ({@code ListenSection}, {@code DeliverySection}, ...) read through it and
 * never touch Typesafe's getters, whose exceptions speak Java ({@code PT0.005S},
 * {@code WrongType}) and name no line an operator can go to.
 *
 * <p>A value that comes from {@code reference.conf} (a default the operator did not write) is
 * reported against the operator's file, without a line; one that came from an environment
 * variable names the variable.
 */
final class ConfigReader {
    private final Config root;
    private final String fileName;
    /** Where an absent key is reported (an entry of a list, see {@link #entry}); null: the file, no line. */
    private final ConfigValue anchor;

    ConfigReader(Config root, String fileName) {
        this(root, fileName, null);
    }

    private ConfigReader(Config root, String fileName, ConfigValue anchor) {
        this.root = root;
        this.fileName = fileName;
        this.anchor = anchor;
    }

    /**
     * A reader over {@code entry}, an object inside a list (which has no Typesafe path), as though
     * it stood at {@code path} ({@code returnpath.delivery.routes.0}), over {@code defaults}: so
     * that the path-based reads and their messages serve a list entry too, each error at the
     * value's own file and line, and an absent key at the entry's line.
     */
    ConfigReader entry(ConfigObject entry, String path, Config defaults) {
        return new ConfigReader(entry.toConfig().withFallback(defaults).atPath(path), fileName, entry);
    }

    /** The operator's file, as the messages name it. */
    String fileName() {
        return fileName;
    }

    // ------------------------------------------------------------ structure

    /** Present and not null. */
    boolean has(String path) {
        return root.hasPath(path);
    }

    ConfigValue value(String path) {
        return root.getValue(path);
    }

    /** The object at {@code path} (which the caller checked is one), e.g. {@code returnpath.domains}. */
    ConfigObject object(String path) {
        return root.getObject(path);
    }

    // ------------------------------------------------------------ scalars by path

    Optional<String> optString(String path) throws ConfigException {
        if (!root.hasPath(path)) {
            return Optional.empty(); // absent or null
        }
        String s = string(path).trim();
        return s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    String string(String path) throws ConfigException {
        if (!root.hasPath(path)) {
            throw error(path, "missing");
        }
        ConfigValue v = root.getValue(path);
        if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
            throw error(path, "must be a string, not " + v.valueType().name().toLowerCase(Locale.ROOT));
        }
        return String.valueOf(v.unwrapped());
    }

    boolean bool(String path) throws ConfigException {
        try {
            return root.getBoolean(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be true or false, got \"" + string(path) + "\"");
        }
    }

    int intIn(String path, int min, int max) throws ConfigException {
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

    /** 1-65535, or 0 too when it means "any free port" (a listener) or "off" (management). */
    int port(String path, boolean zeroAllowed) throws ConfigException {
        return intIn(path, zeroAllowed ? 0 : 1, 65535);
    }

    long bytesIn(String path, long min, long max) throws ConfigException {
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

    /** A duration within [min, max]; the message writes durations as the file does (5ms, 1h). */
    Duration durationIn(String path, Duration min, Duration max) throws ConfigException {
        Duration d;
        try {
            d = root.getDuration(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be a duration such as 30s, 500ms or 5m, got \"" + string(path) + "\"");
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw error(path, "must be between " + DurationText.of(min) + " and " + DurationText.of(max)
                    + ", got " + DurationText.of(d));
        }
        return d;
    }

    /** One of {@code type}'s constants, written in lower case with '-' for '_'. */
    <E extends Enum<E>> E enumOf(String path, Class<E> type) throws ConfigException {
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

    List<String> stringList(String path) throws ConfigException {
        try {
            return root.getStringList(path);
        } catch (com.typesafe.config.ConfigException e) {
            throw error(path, "must be a list of strings such as [\"a\", \"b\"]");
        }
    }

    List<Cidr> cidrs(String path) throws ConfigException {
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

    /** A host name or an IP literal ({@code [v6]} or bare), returned without brackets. */
    String host(String path, String portKey) throws ConfigException {
        try {
            return Endpoint.parseHost(string(path), portKey);
        } catch (IllegalArgumentException e) {
            throw error(path, e.getMessage());
        }
    }

    /** Each entry as {@code host[:port]}. */
    List<Endpoint> endpoints(String path, int defaultPort) throws ConfigException {
        List<Endpoint> out = new ArrayList<>();
        for (String s : stringList(path)) {
            try {
                out.add(Endpoint.parse(s, defaultPort));
            } catch (IllegalArgumentException e) {
                throw error(path, e.getMessage());
            }
        }
        return List.copyOf(out);
    }

    InetAddress ipLiteral(String path, String s) throws ConfigException {
        String t = s.trim();
        if (!Cidr.isIpLiteral(t)) {
            throw error(path, "\"" + s + "\" is not an IP address");
        }
        try {
            return InetAddress.getByName(t); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw error(path, "\"" + s + "\" is not an IP address");
        }
    }

    /** A host name (the greeting's, HELO's): DNS labels, no IP literal. */
    void checkHostname(String path, String name) throws ConfigException {
        if (!Addresses.isValidDomain(name.toLowerCase(Locale.ROOT))) {
            throw error(path, "\"" + name + "\" is not a host name");
        }
    }

    // ------------------------------------------------------------ values inside lists and objects

    /** A string, or a list of strings (not empty), at {@code v}. */
    List<String> stringsOf(ConfigValue v, String key) throws ConfigException {
        if (v.valueType() == ConfigValueType.STRING) {
            return List.of((String) v.unwrapped());
        }
        if (v.valueType() == ConfigValueType.LIST) {
            List<String> out = new ArrayList<>();
            for (ConfigValue e : (ConfigList) v) {
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

    String scalar(ConfigValue v, String key) throws ConfigException {
        if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST
                || v.valueType() == ConfigValueType.NULL) {
            throw at(v, key, "must be a string, not " + v.valueType().name().toLowerCase(Locale.ROOT));
        }
        return String.valueOf(v.unwrapped());
    }

    boolean bool(ConfigValue v, String key) throws ConfigException {
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

    // ------------------------------------------------------------ errors

    /** An error about the value at {@code path}, at its file and line. */
    ConfigException error(String path, String problem) {
        ConfigValue v = valueOrNull(path);
        if (anchor != null && (v == null || v.origin().resource() != null)) {
            return at(anchor, path, problem); // absent from a list entry: at the entry
        }
        if (v == null || v.origin().resource() != null) {
            // the value is a default from reference.conf (a resource, in the jar or in
            // target/classes): name the operator's file, no line
            return new ConfigException(fileName, -1, path, problem);
        }
        return new ConfigException(fileOf(v), lineOf(v), path, problem);
    }

    /** An error at {@code v}, a value inside a list (so that no Typesafe path reaches it). */
    ConfigException at(ConfigValue v, String key, String problem) {
        if (v == null) {
            return new ConfigException(fileName, -1, key, problem);
        }
        return new ConfigException(fileOf(v), lineOf(v), key, problem);
    }

    private ConfigValue valueOrNull(String path) {
        try {
            return root.hasPathOrNull(path) ? root.getValue(path) : null;
        } catch (com.typesafe.config.ConfigException e) {
            return null;
        }
    }

    String fileOf(ConfigValue v) {
        return fileOf(v.origin(), fileName);
    }

    static String fileOf(ConfigOrigin o, String fallback) {
        if (o.filename() != null) {
            return o.filename();
        }
        if (o.resource() != null) {
            return o.resource();
        }
        return o.description() == null ? fallback : o.description().replaceFirst(":\\s*\\d+$", "");
    }

    static int lineOf(ConfigValue v) {
        return v.origin().lineNumber();
    }

    // ------------------------------------------------------------ shared value checks

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

    static boolean isAtOrUnder(String domain, String parent) {
        String d;
        try {
            d = normalizeDomain(domain);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return d.equals(parent) || d.endsWith("." + parent);
    }
}
