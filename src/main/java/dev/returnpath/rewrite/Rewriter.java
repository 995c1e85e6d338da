package dev.returnpath.rewrite;

import dev.returnpath.config.Cidr;
import dev.returnpath.config.Glob;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.RelayConfig.DomainPolicy;
import dev.returnpath.config.ReturnPathTemplate;
import dev.returnpath.config.Rule;
import dev.returnpath.message.Addresses;
import dev.returnpath.message.FromAlignment;
import dev.returnpath.message.FromHeader;
import dev.returnpath.message.HeaderBlock;
import dev.returnpath.rewrite.RewriteDecision.Miss;
import dev.returnpath.rewrite.RewriteDecision.Trace;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The rewrite policy as a pure function: ({@link RewriteInput}, configuration) to a
 * {@link RewriteDecision}. No I/O, no clock, no state.
 *
 * <ol>
 * <li>{@code returnpath.rules}, in order: the first rule whose {@code match} holds decides. It
 *     strips the fields it names, aligns From if it says so, then sets the return-path, rejects,
 *     keeps the envelope sender, or (with none of the three) leaves it to the domain map, which
 *     then sees the From as the rule left it.</li>
 * <li>The domain map: the From domain, or its nearest listed parent, selects a
 *     {@link DomainPolicy}. The envelope sender becomes its {@code return-path} unless it is
 *     already aligned with the From domain (relaxed or strict, per domain) and the domain does
 *     not say {@code force}.</li>
 * <li>Otherwise {@code rewrite.unknown-domain}: reject (550 5.7.1), default, or keep.</li>
 * </ol>
 * The null sender {@code <>} is never rewritten, whatever a rule says: bounces must stay bounces.
 */
public final class Rewriter {
    private Rewriter() {}

    public static RewriteDecision decide(RewriteInput in, RelayConfig cfg) {
        FromHeader from = FromHeader.of(in.headers());
        List<Miss> misses = new ArrayList<>();
        for (Rule rule : cfg.rules()) {
            Optional<String> why = whyNot(rule.match(), in, from);
            if (why.isPresent()) {
                misses.add(new Miss(rule.label(), why.get()));
                continue;
            }
            return withAlignmentNote(apply(rule, in, from, cfg, misses));
        }
        return withAlignmentNote(domainMap(in, HeaderEdits.none(in.headers()), from, cfg, "", misses, new ArrayList<>()));
    }

    // ---------------------------------------------------------------- rules

    /** Why {@code m} does not hold for this message; empty when it does. */
    static Optional<String> whyNot(Rule.Match m, RewriteInput in, FromHeader from) {
        if (!m.envelopeSender().isEmpty() && !anyMatches(m.envelopeSender(), in.reversePath())) {
            return Optional.of("envelope-sender <" + in.reversePath() + "> does not match " + list(m.envelopeSender()));
        }
        if (!m.headerFrom().isEmpty()) {
            if (from.addresses().isEmpty()) {
                return Optional.of("header-from: the message has no From address (" + from.problem() + ")");
            }
            for (String a : from.addresses()) {
                if (!anyMatches(m.headerFrom(), a)) {
                    return Optional.of("header-from <" + a + "> does not match " + list(m.headerFrom()));
                }
            }
        }
        if (!m.client().isEmpty() && !m.clientMatches(in.client())) {
            return Optional.of("client " + in.client().getHostAddress() + " is not in "
                    + m.client().stream().map(Cidr::toString).collect(Collectors.joining(", ")));
        }
        if (!m.authUser().isEmpty()) {
            if (in.authUser().isEmpty()) {
                return Optional.of("auth-user: the client did not authenticate");
            }
            if (!anyMatches(m.authUser(), in.authUser().get())) {
                return Optional.of("auth-user " + in.authUser().get() + " does not match " + list(m.authUser()));
            }
        }
        if (!m.recipientDomain().isEmpty()) {
            if (in.forwardPaths().isEmpty()) {
                return Optional.of("recipient-domain: no recipients");
            }
            for (String r : in.forwardPaths()) {
                String d = Addresses.domainOf(r).orElse("");
                if (!anyMatches(m.recipientDomain(), d)) {
                    return Optional.of("recipient-domain " + d + " (of <" + r + ">) does not match " + list(m.recipientDomain()));
                }
            }
        }
        return Optional.empty();
    }

    private static boolean anyMatches(List<Glob> globs, String subject) {
        return globs.stream().anyMatch(g -> g.matches(subject));
    }

    private static String list(List<Glob> globs) {
        return globs.stream().map(g -> "\"" + g.pattern() + "\"").collect(Collectors.joining(" or "));
    }

    private static RewriteDecision apply(Rule rule, RewriteInput in, FromHeader from, RelayConfig cfg, List<Miss> misses) {
        String label = rule.label();
        List<RewriteDecision.Fallback> fallbacks = new ArrayList<>();
        if (rule.action() instanceof Rule.Action.Reject r) {
            return new RewriteDecision.Reject(r.code(), r.enhanced(), r.text(), label,
                    label + " matched: reject", new Trace(misses, fallbacks));
        }
        HeaderEdits edits = editHeaders(rule, in.headers(), from);
        FromHeader newFrom = edits.from().isPresent() ? FromHeader.of(edits.headers()) : from;
        String matched = label + " matched";
        return switch (rule.action()) {
            case Rule.Action.Reject r -> throw new AssertionError("handled above");
            case Rule.Action.Keep k -> new RewriteDecision.Keep(edits, label, matched + ": keep the envelope sender",
                    new Trace(misses, fallbacks));
            case Rule.Action.SetReturnPath s -> {
                if (in.reversePath().isEmpty()) {
                    yield new RewriteDecision.Keep(edits, label, matched + ", but the null sender is never rewritten",
                            new Trace(misses, fallbacks));
                }
                String rp = expand(s.returnPath(), in.reversePath(), cfg, fallbacks);
                if (rp.equalsIgnoreCase(in.reversePath())) {
                    yield new RewriteDecision.Keep(edits, label, matched + ": the envelope sender is already " + rp,
                            new Trace(misses, fallbacks));
                }
                yield new RewriteDecision.Rewrite(rp, edits, label, matched + ": return-path " + s.returnPath().text(),
                        new Trace(misses, fallbacks));
            }
            case Rule.Action.DomainMap dm -> domainMap(in, edits, newFrom, cfg, label + "+", misses, fallbacks);
        };
    }

    /** strip-headers, then from-header = align (so that a stripped Reply-To is replaced). */
    private static HeaderEdits editHeaders(Rule rule, HeaderBlock headers, FromHeader from) {
        HeaderBlock h = headers;
        List<String> stripped = new ArrayList<>();
        List<String> changes = new ArrayList<>();
        for (String name : rule.stripHeaders()) {
            int n = h.all(name).size();
            if (n > 0) {
                h = h.without(f -> f.is(name));
                for (int i = 0; i < n; i++) {
                    stripped.add(name);
                }
                changes.add("removed " + n + " " + name + " field" + (n == 1 ? "" : "s"));
            }
        }
        Optional<String> newFrom = Optional.empty();
        Optional<String> replyTo = Optional.empty();
        if (rule.fromHeader() == Rule.FromHeaderMode.ALIGN) {
            String to = rule.alignTo().orElseThrow();
            String toDomain = Addresses.domainOf(to).orElseThrow();
            if (from.domain().isPresent() && OrganizationalDomain.aligned(from.domain().get(), toDomain, false)) {
                changes.add("From left as it is: " + from.domain().get() + " is already aligned with " + toDomain);
            } else {
                FromAlignment.Result r = FromAlignment.align(h, to);
                h = r.headers();
                newFrom = Optional.of(r.from());
                changes.add("From: " + r.from() + " (was " + describe(from) + ")");
                replyTo = r.replyTo();
                if (r.replyTo().isPresent()) {
                    changes.add("Reply-To: " + r.replyTo().get() + " (added)");
                } else if (r.replyToKept()) {
                    changes.add("Reply-To left as it is (the message has one)");
                } else {
                    changes.add("no Reply-To added: the old From had no address to reply to");
                }
            }
        }
        return new HeaderEdits(h, newFrom, replyTo, List.copyOf(stripped), List.copyOf(changes));
    }

    private static String describe(FromHeader from) {
        if (from.addresses().isEmpty()) {
            return from.problem();
        }
        return from.addresses().stream().map(a -> "<" + a + ">").collect(Collectors.joining(", "));
    }

    // ---------------------------------------------------------------- domain map

    private static RewriteDecision domainMap(RewriteInput in, HeaderEdits edits, FromHeader from, RelayConfig cfg,
                                             String prefix, List<Miss> misses, List<RewriteDecision.Fallback> fallbacks) {
        String reversePath = in.reversePath();
        Optional<String> fromDomain = from.domain();
        Optional<DomainPolicy> listed = fromDomain.flatMap(d -> RelayConfig.lookup(cfg.domains(), d));
        boolean nullSender = reversePath.isEmpty();
        if (listed.isPresent()) {
            DomainPolicy p = listed.get();
            String rule = prefix + "domain:" + p.domain();
            Trace trace = new Trace(misses, fallbacks);
            if (nullSender) {
                return new RewriteDecision.Keep(edits, rule, "the null sender is never rewritten", trace);
            }
            Optional<String> envelopeDomain = Addresses.domainOf(reversePath);
            boolean strict = p.alignment() == RelayConfig.Alignment.STRICT;
            if (!p.force() && envelopeDomain.isPresent()
                    && OrganizationalDomain.aligned(envelopeDomain.get(), fromDomain.get(), strict)) {
                return new RewriteDecision.Keep(edits, rule, "envelope sender already aligned with From domain "
                        + fromDomain.get() + (strict ? " (strict)" : " (relaxed)"), trace);
            }
            String rp = expand(p.template(), reversePath, cfg, fallbacks);
            trace = new Trace(misses, fallbacks);
            if (rp.equalsIgnoreCase(reversePath)) {
                return new RewriteDecision.Keep(edits, rule, "envelope sender is already the return-path", trace);
            }
            String why = p.force() ? "force = true"
                    : envelopeDomain.map(d -> "envelope domain " + d + " is not " + (strict ? "the same as" : "aligned with")
                    + " From domain " + fromDomain.get() + (strict ? " (strict)" : " (relaxed)"))
                    .orElse("envelope sender has no domain");
            String rpDomain = Addresses.domainOf(rp).orElse("");
            if (strict && !OrganizationalDomain.aligned(rpDomain, fromDomain.get(), true)) {
                // a From in a subdomain of a strict domain: its parent's return-path cannot align
                trace = new Trace(misses, fallbacks, List.of("alignment = strict, but the return-path domain "
                        + rpDomain + " is not the From domain " + fromDomain.get() + ": list \"" + fromDomain.get()
                        + "\" under domains with a return-path of its own"));
            }
            return new RewriteDecision.Rewrite(rp, edits, rule, why, trace);
        }
        String what = fromDomain.map(d -> "sender domain " + d + " is not configured")
                .orElse(from.problem().isEmpty() ? "no usable From header" : from.problem());
        List<Miss> all = new ArrayList<>(misses);
        all.add(new Miss("domains", fromDomain.map(d -> d + " is not listed, nor any domain above it")
                .orElse("no From domain to look up (" + what + ")")));
        String rule = prefix + "unknown-domain:" + cfg.rewrite().unknownDomain().name().toLowerCase(Locale.ROOT);
        return switch (cfg.rewrite().unknownDomain()) {
            case REJECT -> new RewriteDecision.Reject(550, "5.7.1",
                    fromDomain.map(d -> "sender domain " + d + " is not configured")
                            .orElse("sender domain is not configured (" + what + ")"),
                    rule, what, new Trace(all, fallbacks));
            case KEEP -> new RewriteDecision.Keep(edits, rule, what, new Trace(all, fallbacks));
            case DEFAULT -> {
                if (nullSender) {
                    yield new RewriteDecision.Keep(edits, rule, what + "; the null sender is never rewritten",
                            new Trace(all, fallbacks));
                }
                DomainPolicy d = cfg.domains().get(cfg.rewrite().defaultDomain().orElseThrow());
                String rp = expand(d.template(), reversePath, cfg, fallbacks);
                yield new RewriteDecision.Rewrite(rp, edits, rule, what + "; using default-domain " + d.domain(),
                        new Trace(all, fallbacks));
            }
        };
    }

    private static String expand(ReturnPathTemplate t, String original, RelayConfig cfg, List<RewriteDecision.Fallback> fallbacks) {
        ReturnPaths.Expansion e = ReturnPaths.expand(t, original, cfg.rewrite().hashKey());
        e.fallback().ifPresent(fallbacks::add);
        return e.address();
    }

    /**
     * A rewrite that DMARC cannot align through SPF is worth pointing out (rewrite-test shows
     * it): unknown-domain = default for a foreign From, or a rule return-path outside the From's
     * organizational domain.
     */
    private static RewriteDecision withAlignmentNote(RewriteDecision d) {
        if (!(d instanceof RewriteDecision.Rewrite r)) {
            return d;
        }
        FromHeader from = FromHeader.of(r.headers().headers());
        if (from.domain().isEmpty()) {
            return d;
        }
        String rpDomain = Addresses.domainOf(r.reversePath()).orElse("");
        if (OrganizationalDomain.aligned(rpDomain, from.domain().get(), false)) {
            return d;
        }
        List<String> notes = new ArrayList<>(r.trace().notes());
        notes.add("return-path domain " + rpDomain + " is not aligned with From domain " + from.domain().get()
                + ": DMARC can pass only through DKIM");
        return new RewriteDecision.Rewrite(r.reversePath(), r.headers(), r.rule(), r.reason(),
                new Trace(r.trace().notMatched(), r.trace().fallbacks(), notes));
    }

    /** The policy of {@code domain} or of its nearest listed parent domain. */
    static Optional<DomainPolicy> lookup(Map<String, DomainPolicy> domains, String domain) {
        return RelayConfig.lookup(domains, domain);
    }
}
