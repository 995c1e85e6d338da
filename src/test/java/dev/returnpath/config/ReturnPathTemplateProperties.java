package dev.returnpath.config;

import dev.returnpath.message.Addresses;
import dev.returnpath.rewrite.ReturnPaths;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Return-path templates as properties: whatever envelope sender an app (or an attacker on the
 * allowed network) chooses, the expansion is a valid address at the operator's domain, with a
 * local part of at most 64 octets; a value that cannot be one falls back to the plain address.
 */
class ReturnPathTemplateProperties {
    static final HashKey KEY = new HashKey("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII));

    @Provide
    Arbitrary<String> templates() {
        return Arbitraries.of("bounce+{hash}-{local}={domain}@example.com", "bounce+{local}@example.com",
                "{local}.{domain}@example.com", "b-{hash}@example.com", "bounce@example.com", "{local}@example.com");
    }

    @Provide
    Arbitrary<String> senders() {
        Arbitrary<String> piece = Arbitraries.of("apache", "www-data", "@", ".", "..", "\"", " ", "+", "=", "web01",
                "internal", "z\u00f6e", "\u00e9", "x".repeat(40), "%", "[1.2.3.4]", "-", "_", "\\");
        return piece.list().ofMinSize(1).ofMaxSize(10).map(l -> String.join("", l));
    }

    @Property
    void anExpansionIsAlwaysAValidAddressAtTheTemplatesDomain(@ForAll("templates") String template,
                                                              @ForAll("senders") String sender) {
        ReturnPathTemplate t = ReturnPathTemplate.parse(template,
                template.startsWith("{") ? Optional.of("bounce@example.com") : Optional.empty());
        ReturnPaths.Expansion e = ReturnPaths.expand(t, sender, Optional.of(KEY));
        assertThat(Addresses.isValidMailbox(e.address())).as(e.address()).isTrue();
        assertThat(Addresses.domainOf(e.address())).hasValue("example.com");
        assertThat(Addresses.localPartOf(e.address()).getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(64);
        e.fallback().ifPresent(f -> assertThat(e.address()).isEqualTo(t.fallback()));
    }

    @Property
    void theHashIsAFunctionOfTheSenderAndTheKey(@ForAll("senders") String a, @ForAll("senders") String b) {
        assertThat(ReturnPaths.hash(KEY, a)).hasSize(ReturnPathTemplate.HASH_LENGTH).isEqualTo(ReturnPaths.hash(KEY, a));
        if (!a.equals(b)) {
            // 8 characters of a keyed hash: collisions exist but are not found by a few hundred tries
            assertThat(ReturnPaths.hash(KEY, a)).isNotEqualTo(ReturnPaths.hash(KEY, b));
        }
    }
}
