package dev.returnpath.config;

import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.returnpath.dkim.DkimKey;
import dev.returnpath.message.Addresses;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code domains."D".dkim}: the domain's signing keys, a list of
 * {@code { selector = "rp2026", key-file = "/etc/returnpath/dkim/D.rp2026.pem" }}. Every key is
 * read here, at start and on each reload, so that a key that cannot be read, is too short or
 * of an unknown type is a configuration error (file, line and key), never a surprise at the
 * first message. The error names the key file, never its content.
 */
final class DkimSection {
    static final Set<String> KEYS = Set.of("selector", "key-file");

    private DkimSection() {}

    static List<DkimKey> parse(ConfigReader r, String domainKey, String domain) throws ConfigException {
        String key = domainKey + ".dkim";
        if (!r.has(key)) {
            return List.of();
        }
        ConfigValue v = r.value(key);
        if (v.valueType() != ConfigValueType.LIST) {
            throw r.error(key, "must be a list such as [{ selector = \"rp2026\", key-file = \"/etc/returnpath/dkim/"
                    + domain + ".rp2026.pem\" }]");
        }
        List<DkimKey> out = new ArrayList<>();
        Set<String> selectors = new HashSet<>();
        int i = 0;
        for (ConfigValue e : (ConfigList) v) {
            String at = key + "[" + i++ + "]";
            if (e.valueType() != ConfigValueType.OBJECT) {
                throw r.at(e, at, "must be an object { selector = \"...\", key-file = \"...\" }");
            }
            ConfigObject o = (ConfigObject) e;
            for (String k : o.keySet()) {
                if (!KEYS.contains(k)) {
                    throw r.at(o.get(k), at + "." + k, "unknown key (allowed: " + String.join(", ", new TreeSet<>(KEYS)) + ")");
                }
            }
            ConfigValue sel = o.get("selector");
            ConfigValue file = o.get("key-file");
            if (sel == null || file == null) {
                throw r.at(e, at, "needs both selector and key-file");
            }
            String selector = r.scalar(sel, at + ".selector").toLowerCase(Locale.ROOT);
            if (!Addresses.isValidDomain(selector)) {
                throw r.at(sel, at + ".selector", "\"" + selector + "\" is not a DKIM selector (DNS labels)");
            }
            if (!selectors.add(selector)) {
                throw r.at(sel, at + ".selector", "selector \"" + selector + "\" is listed twice for " + domain);
            }
            String path = r.scalar(file, at + ".key-file");
            try {
                out.add(DkimKey.load(domain, selector, Path.of(path)));
            } catch (DkimKey.KeyException ex) {
                throw r.at(file, at + ".key-file", ex.getMessage());
            } catch (java.nio.file.InvalidPathException ex) {
                throw r.at(file, at + ".key-file", "\"" + path + "\" is not a path");
            }
        }
        return List.copyOf(out);
    }
}
