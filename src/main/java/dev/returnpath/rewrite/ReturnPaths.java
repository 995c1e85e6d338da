package dev.returnpath.rewrite;

import com.google.common.io.BaseEncoding;
import dev.returnpath.config.HashKey;
import dev.returnpath.config.ReturnPathTemplate;
import dev.returnpath.config.ReturnPathTemplate.Part;
import dev.returnpath.message.Addresses;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.IDN;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Locale;
import java.util.Optional;

/**
 * Expands return-path templates. {@code {local}} and {@code {domain}} are the parts of the
 * original envelope sender (the domain in A-label form, lower case); {@code {hash}} is
 * {@link #hash}. When the result is not a valid address, has a local part over 64 octets
 * (RFC 5321 §4.5.3.1.1), or would need SMTPUTF8 where the template did not, the template's
 * plain fallback is used instead, and {@code fallback} says why.
 */
public final class ReturnPaths {
    private ReturnPaths() {}

    public record Expansion(String address, Optional<RewriteDecision.Fallback> fallback) {}

    public static Expansion expand(ReturnPathTemplate t, String original, Optional<HashKey> key) {
        if (t.isPlain()) {
            return new Expansion(t.text(), Optional.empty());
        }
        String local = Addresses.localPartOf(original);
        String domain = Addresses.domainOf(original).map(ReturnPaths::aLabel).orElse("");
        StringBuilder b = new StringBuilder();
        for (Part p : t.localPart()) {
            switch (p) {
                case Part.Literal l -> b.append(l.text());
                case Part.Placeholder ph -> {
                    switch (ph.kind()) {
                        case LOCAL -> b.append(local);
                        case DOMAIN -> b.append(domain);
                        case HASH -> {
                            if (key.isEmpty()) {
                                return fallback(t, t.text(), "needs rewrite.hash-key for {hash}");
                            }
                            b.append(hash(key.get(), original));
                        }
                    }
                }
            }
        }
        String address = b + "@" + t.domain();
        int octets = b.toString().getBytes(StandardCharsets.UTF_8).length;
        if (octets > ReturnPathTemplate.MAX_LOCAL_OCTETS) {
            return fallback(t, address, "has a local part of " + octets + " octets, over "
                    + ReturnPathTemplate.MAX_LOCAL_OCTETS);
        }
        if (!Addresses.isValidMailbox(address)) {
            return fallback(t, address, "is not a valid address");
        }
        if (Addresses.needsUtf8(address) && !Addresses.needsUtf8(t.text())) {
            return fallback(t, address, "would need SMTPUTF8");
        }
        return new Expansion(address, Optional.empty());
    }

    private static Expansion fallback(ReturnPathTemplate t, String attempted, String problem) {
        return new Expansion(t.fallback(), Optional.of(new RewriteDecision.Fallback(attempted, problem, t.fallback())));
    }

    /**
     * The {@code {hash}} of {@code address}: HMAC-SHA256 keyed with {@code rewrite.hash-key} over
     * the address in lower case, in base32 (RFC 4648, lower case, no padding), first
     * {@value ReturnPathTemplate#HASH_LENGTH} characters (40 bits). A bounce processor that knows
     * the key recomputes it from the {@code {local}} and {@code {domain}} it finds in the address
     * and so knows the relay minted it.
     */
    public static String hash(HashKey key, String address) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.bytes(), "HmacSHA256"));
            byte[] h = mac.doFinal(address.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            return BaseEncoding.base32().lowerCase().omitPadding().encode(h).substring(0, ReturnPathTemplate.HASH_LENGTH);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    private static String aLabel(String domain) {
        try {
            return IDN.toASCII(domain, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return domain.toLowerCase(Locale.ROOT);
        }
    }
}
