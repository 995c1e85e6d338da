package dev.returnpath.rewrite;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.RelayConfig.DomainPolicy;
import dev.returnpath.message.Addresses;

import java.util.Map;
import java.util.Optional;

/**
 * The rewrite policy as a pure function: (envelope sender, header From domain, config) to a
 * {@link RewriteDecision}. No I/O, no clock, no state.
 *
 * <ol>
 * <li>The null sender {@code <>} is never rewritten: bounces must stay bounces.</li>
 * <li>The From domain, or its nearest listed parent, selects a {@link DomainPolicy}. The
 *     envelope sender becomes its {@code return-path} unless it is already aligned with the From
 *     domain (relaxed or strict, per domain) and the domain does not say {@code force}.</li>
 * <li>Otherwise {@code rewrite.unknown-domain} decides: reject (550 5.7.1), default, or keep.</li>
 * </ol>
 */
public final class Rewriter {
    private Rewriter() {}

    public static RewriteDecision decide(String reversePath, Optional<String> fromDomain, String fromProblem,
                                         Map<String, DomainPolicy> domains, RelayConfig.Rewrite policy) {
        Optional<DomainPolicy> listed = fromDomain.flatMap(d -> lookup(domains, d));
        boolean nullSender = reversePath.isEmpty();
        if (listed.isPresent()) {
            DomainPolicy p = listed.get();
            String rule = "domain:" + p.domain();
            if (nullSender) {
                return new RewriteDecision.Keep(rule, "the null sender is never rewritten");
            }
            Optional<String> envelopeDomain = Addresses.domainOf(reversePath);
            boolean strict = p.alignment() == RelayConfig.Alignment.STRICT;
            if (!p.force() && envelopeDomain.isPresent()
                    && OrganizationalDomain.aligned(envelopeDomain.get(), fromDomain.get(), strict)) {
                return new RewriteDecision.Keep(rule, "envelope sender already aligned with From domain "
                        + fromDomain.get() + (strict ? " (strict)" : " (relaxed)"));
            }
            if (p.returnPath().equalsIgnoreCase(reversePath)) {
                return new RewriteDecision.Keep(rule, "envelope sender is already the return-path");
            }
            return new RewriteDecision.Rewrite(p.returnPath(), rule,
                    p.force() ? "force = true" : "envelope sender not aligned with From domain " + fromDomain.get());
        }
        String what = fromDomain.map(d -> "sender domain " + d + " is not configured")
                .orElse(fromProblem.isEmpty() ? "no usable From header" : fromProblem);
        return switch (policy.unknownDomain()) {
            case REJECT -> new RewriteDecision.Reject(550, "5.7.1",
                    fromDomain.map(d -> "sender domain " + d + " is not configured")
                            .orElse("sender domain is not configured (" + what + ")"),
                    "unknown-domain:reject", what);
            case KEEP -> new RewriteDecision.Keep("unknown-domain:keep", what);
            case DEFAULT -> {
                if (nullSender) {
                    yield new RewriteDecision.Keep("unknown-domain:default", "the null sender is never rewritten");
                }
                DomainPolicy d = domains.get(policy.defaultDomain().orElseThrow());
                yield new RewriteDecision.Rewrite(d.returnPath(), "unknown-domain:default", what);
            }
        };
    }

    /** The policy of {@code domain} or of its nearest listed parent domain. */
    static Optional<DomainPolicy> lookup(Map<String, DomainPolicy> domains, String domain) {
        String d = domain.toLowerCase(java.util.Locale.ROOT);
        try {
            d = java.net.IDN.toASCII(d, java.net.IDN.ALLOW_UNASSIGNED).toLowerCase(java.util.Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        while (true) {
            DomainPolicy p = domains.get(d);
            if (p != null) {
                return Optional.of(p);
            }
            int dot = d.indexOf('.');
            if (dot < 0) {
                return Optional.empty();
            }
            d = d.substring(dot + 1);
        }
    }
}
