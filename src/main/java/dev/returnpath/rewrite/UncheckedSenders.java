package dev.returnpath.rewrite;

import dev.returnpath.config.Glob;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.Rule;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The parts of a configuration through which any allowed client can send any header From
 * unchecked: the domain map is what stops a From domain the relay does not own, and these
 * bypass it on conditions the client itself chooses.
 *
 * <ul>
 * <li>A {@code keep = true} rule with {@code from-header = keep} whose match has no
 *     {@code client} condition: envelope sender, header From and recipient domain are all
 *     written by the client ({@code MAIL FROM:<root@x.internal>} matches the README's own
 *     {@code cron} rule from any allowed host).</li>
 * <li>{@code rewrite.unknown-domain = keep}: a From domain not listed leaves as it came.</li>
 * </ul>
 *
 * <p>{@link #of} is pure (no I/O); {@code serve} logs each warning at start and {@code doctor}
 * reports each as a WARN.
 */
public final class UncheckedSenders {
    private UncheckedSenders() {}

    /**
     * @param check   a stable name, as doctor's checks have ({@code rewrite.keep-rule},
     *                {@code rewrite.unknown-domain})
     * @param subject what it is about: the rule's label, or {@code config}
     * @param found   what the configuration lets through
     * @param fix     how to close it
     */
    public record Warning(String check, String subject, String found, String fix) {
        /** One line for the log. */
        public String line() {
            return subject + ": " + found + "; " + fix;
        }
    }

    public static List<Warning> of(RelayConfig config) {
        List<Warning> out = new ArrayList<>();
        for (Rule rule : config.rules()) {
            if (rule.action() instanceof Rule.Action.Keep && rule.fromHeader() == Rule.FromHeaderMode.KEEP
                    && rule.match().client().isEmpty()) {
                out.add(new Warning("rewrite.keep-rule", rule.label(),
                        "keeps the envelope sender " + conditions(rule.match()) + ", which the client chooses: any client "
                                + "in listen.allowed-networks can send with any From through it, unchecked",
                        "add match.client with the hosts that send such mail, or from-header = align"));
            }
        }
        if (config.rewrite().unknownDomain() == RelayConfig.UnknownDomain.KEEP) {
            out.add(new Warning("rewrite.unknown-domain", "config",
                    "rewrite.unknown-domain = keep: a From domain not listed under domains leaves unchecked, with the "
                            + "envelope sender the client chose; any client in listen.allowed-networks can send as any domain",
                    "use unknown-domain = reject (the default), or default with rewrite.default-domain"));
        }
        return out;
    }

    private static String conditions(Rule.Match m) {
        List<String> c = new ArrayList<>();
        if (!m.envelopeSender().isEmpty()) {
            c.add("envelope-sender " + globs(m.envelopeSender()));
        }
        if (!m.headerFrom().isEmpty()) {
            c.add("header-from " + globs(m.headerFrom()));
        }
        if (!m.recipientDomain().isEmpty()) {
            c.add("recipient-domain " + globs(m.recipientDomain()));
        }
        if (!m.authUser().isEmpty()) {
            c.add("auth-user " + globs(m.authUser()));
        }
        return c.isEmpty() ? "of every message" : "of messages whose " + String.join(" and ", c) + " match";
    }

    private static String globs(List<Glob> g) {
        return g.stream().map(x -> "\"" + x.pattern() + "\"").collect(Collectors.joining(" or "));
    }
}
