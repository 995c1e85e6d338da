package dev.returnpath.config;

import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.returnpath.config.RelayConfig.DomainPolicy;
import dev.returnpath.config.RelayConfig.Rewrite;
import dev.returnpath.config.RelayConfig.UnknownDomain;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * {@code returnpath.rewrite}: what a From domain that is not listed gets, and the key of the
 * {@code {hash}} placeholder. The key is read first ({@link #hashKey}), because the templates of
 * {@code domains} and {@code rules} are checked against it; it is never printed, not even when
 * it is refused.
 */
final class RewriteSection {
    private static final String P = "returnpath.rewrite.";

    private RewriteSection() {}

    static Optional<HashKey> hashKey(ConfigReader r) throws ConfigException {
        String path = P + "hash-key";
        if (!r.has(path)) {
            return Optional.empty();
        }
        ConfigValue v = r.value(path);
        if (v.valueType() != ConfigValueType.STRING) {
            throw r.error(path, "must be a string (better: set RETURNPATH_HASH_KEY)");
        }
        byte[] k = ((String) v.unwrapped()).getBytes(StandardCharsets.UTF_8);
        if (k.length == 0) {
            return Optional.empty();
        }
        if (k.length < HashKey.MIN_BYTES) {
            throw r.error(path, "too short: at least " + HashKey.MIN_BYTES + " bytes (e.g. openssl rand -base64 24)");
        }
        return Optional.of(new HashKey(k));
    }

    /** {@code domains} is the parsed domain map, which {@code default-domain} must name. */
    static Rewrite parse(ConfigReader r, Map<String, DomainPolicy> domains, Optional<HashKey> hashKey)
            throws ConfigException {
        UnknownDomain unknown = r.enumOf(P + "unknown-domain", UnknownDomain.class);
        Optional<String> defaultDomain = r.optString(P + "default-domain");
        if (defaultDomain.isPresent()) {
            try {
                defaultDomain = Optional.of(ConfigReader.normalizeDomain(defaultDomain.get()));
            } catch (IllegalArgumentException e) {
                throw r.error(P + "default-domain", e.getMessage());
            }
        }
        if (unknown == UnknownDomain.DEFAULT) {
            if (defaultDomain.isEmpty()) {
                throw r.error(P + "unknown-domain", "\"default\" needs rewrite.default-domain, a domain listed under returnpath.domains");
            }
            if (!domains.containsKey(defaultDomain.get())) {
                throw r.error(P + "default-domain", "\"" + defaultDomain.get() + "\" is not listed under returnpath.domains");
            }
        }
        return new Rewrite(unknown, defaultDomain, hashKey);
    }
}
