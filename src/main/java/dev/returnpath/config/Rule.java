package dev.returnpath.config;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * One entry of {@code returnpath.rules}, checked in order before the domain map; the first rule
 * whose {@link Match} holds decides.
 *
 * @param index        its place in the list, from 0
 * @param name         {@code name}, or its index when it has none; the log says {@code rule=rule:NAME}
 * @param action       what happens to the envelope sender
 * @param fromHeader   {@code from-header}: keep, or align the header From with {@code alignTo}
 * @param alignTo      the address From becomes with {@code from-header = align}: the rule's
 *                     {@code from-address}, or the {@code from-address} of the listed domain its
 *                     {@code return-path} belongs to
 * @param stripHeaders field names removed from the message (every field of each name)
 */
public record Rule(int index, String name, Match match, Action action, FromHeaderMode fromHeader,
                   Optional<String> alignTo, List<String> stripHeaders) {

    /** How the rule is named in log lines, metrics and {@code rewrite-test}. */
    public String label() {
        return "rule:" + name;
    }

    /**
     * The conditions; all the ones present must hold, and a rule without any matches every
     * message. Each condition holds when any of its patterns matches.
     */
    public record Match(List<Glob> envelopeSender, List<Glob> headerFrom, List<Cidr> client, List<Glob> recipientDomain,
                        List<Glob> authUser) {
        public Match(List<Glob> envelopeSender, List<Glob> headerFrom, List<Cidr> client, List<Glob> recipientDomain) {
            this(envelopeSender, headerFrom, client, recipientDomain, List.of());
        }

        public boolean clientMatches(InetAddress address) {
            return client.stream().anyMatch(c -> c.contains(address));
        }
    }

    /** What a matching rule does with the envelope sender. */
    public sealed interface Action {
        /** {@code return-path = "..."}: the envelope sender becomes this (the null sender excepted). */
        record SetReturnPath(ReturnPathTemplate returnPath) implements Action {}

        /** {@code reject = "text"}: the message is refused with this reply. */
        record Reject(int code, String enhanced, String text) implements Action {}

        /** {@code keep = true}: the envelope sender stays as it is. */
        record Keep() implements Action {}

        /** None of the three: the domain map decides, with the header From as the rule left it. */
        record DomainMap() implements Action {}
    }

    public enum FromHeaderMode { KEEP, ALIGN }
}
