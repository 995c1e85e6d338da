package dev.returnpath.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.returnpath.config.RelayConfig.Alignment;
import dev.returnpath.config.RelayConfig.DomainPolicy;
import dev.returnpath.message.Addresses;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code returnpath.domains}: the sending domains, keyed by the header From domain. Keys are
 * stored in A-label form, lower case, so that {@code bücher.example} and
 * {@code xn--bcher-kva.example} are one domain (and listing both is an error). Each domain's
 * {@code return-path} is a checked {@link ReturnPathTemplate}; its {@code from-address} must lie
 * in the domain, since an aligned From that another domain owns would not align.
 */
final class DomainsSection {
    private static final String P = "returnpath.domains";

    /** Keys an operator may set inside {@code domains."D" { ... }}. */
    static final Set<String> DOMAIN_KEYS = Set.of("return-path", "fallback", "force", "alignment", "from-address",
            "dkim-selector", "dkim");

    private DomainsSection() {}

    static Map<String, DomainPolicy> parse(ConfigReader r, Optional<HashKey> hashKey) throws ConfigException {
        Map<String, DomainPolicy> out = new LinkedHashMap<>();
        if (!r.has(P)) {
            return out;
        }
        for (Map.Entry<String, ConfigValue> e : r.object(P).entrySet()) {
            String key = P + ".\"" + e.getKey() + "\"";
            if (e.getValue().valueType() != ConfigValueType.OBJECT) {
                throw r.error(key, "must be an object such as { return-path = \"bounce@" + e.getKey() + "\" }");
            }
            String domain;
            try {
                domain = ConfigReader.normalizeDomain(e.getKey());
            } catch (IllegalArgumentException ex) {
                throw r.error(key, ex.getMessage());
            }
            Config d = ((ConfigObject) e.getValue()).toConfig();
            for (String k : d.root().keySet()) {
                if (!DOMAIN_KEYS.contains(k)) {
                    throw r.at(d.root().get(k), key + "." + k,
                            "unknown key (allowed: " + String.join(", ", new TreeSet<>(DOMAIN_KEYS)) + ")");
                }
            }
            ReturnPathTemplate template = template(r, key, r.string(key + ".return-path"),
                    r.optString(key + ".fallback"), hashKey);
            boolean force = r.has(key + ".force") && r.bool(key + ".force");
            Alignment alignment = r.has(key + ".alignment") ? r.enumOf(key + ".alignment", Alignment.class) : Alignment.RELAXED;
            Optional<String> fromAddress = r.optString(key + ".from-address");
            if (fromAddress.isPresent()) {
                String fa = fromAddress.get();
                if (!Addresses.isValidMailbox(fa)) {
                    throw r.error(key + ".from-address", "\"" + fa + "\" is not a valid address (local@domain)");
                }
                if (!ConfigReader.isAtOrUnder(Addresses.domainOf(fa).orElseThrow(), domain)) {
                    throw r.error(key + ".from-address", "\"" + fa + "\" is not in " + domain + " or below it: "
                            + "the aligned From must belong to the domain that sends it");
                }
            }
            Optional<String> dkimSelector = r.optString(key + ".dkim-selector");
            if (dkimSelector.isPresent() && !Addresses.isValidDomain(dkimSelector.get())) {
                throw r.error(key + ".dkim-selector", "\"" + dkimSelector.get() + "\" is not a DKIM selector (DNS labels)");
            }
            java.util.List<dev.returnpath.dkim.DkimKey> dkim = DkimSection.parse(r, key, domain);
            if (out.put(domain, new DomainPolicy(domain, template, force, alignment, fromAddress, dkimSelector, dkim)) != null) {
                throw r.error(key, "domain \"" + domain + "\" is listed twice");
            }
        }
        return Map.copyOf(out);
    }

    /** {@code return-path} (with its {@code fallback}) at {@code key}, as a checked template. */
    private static ReturnPathTemplate template(ConfigReader r, String key, String text, Optional<String> fallback,
                                               Optional<HashKey> hashKey) throws ConfigException {
        ReturnPathTemplate t;
        try {
            t = ReturnPathTemplate.parse(text, fallback);
        } catch (IllegalArgumentException ex) {
            boolean aboutFallback = ex.getMessage().startsWith("fallback");
            throw r.error(key + (aboutFallback ? ".fallback" : ".return-path"), ex.getMessage());
        }
        if (t.usesHash() && hashKey.isEmpty()) {
            throw r.error(key + ".return-path", "\"" + text + "\" uses {hash}, which needs a key: set "
                    + "rewrite.hash-key, e.g. through RETURNPATH_HASH_KEY (at least " + HashKey.MIN_BYTES + " bytes)");
        }
        return t;
    }
}
