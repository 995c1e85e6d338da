package dev.returnpath.message;

import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What DMARC aligns with: the domain of the header {@code From:} (RFC 7489 §3.1). Parsed
 * leniently with Jakarta Mail's address parser; display names and encoded words are not
 * decoded (only the address part matters here).
 *
 * <p>A message with no From, several From fields, an unparsable one, or addresses in more than
 * one domain has no author domain: it is then treated as an unlisted domain. {@code addresses}
 * still lists every address found (in every From field, group members included), so that rules
 * can match on them; {@code problem} says what is wrong, and is empty when {@code domain} is set.
 */
public record FromHeader(List<String> addresses, Optional<String> domain, String problem) {

    public static FromHeader of(HeaderBlock headers) {
        FromHeader known = headers.from;
        if (known == null) {
            // cleanup asks for the received block, the rewriter's and the outgoing one: a copy
            // with the very same From fields has the same answer, parsed once per message
            List<HeaderBlock.Field> from = headers.all("From");
            HeaderBlock parent = headers.parent();
            known = parent != null && same(from, parent.all("From")) ? of(parent) : parse(from);
            headers.from = known;
        }
        return known;
    }

    private static boolean same(List<HeaderBlock.Field> a, List<HeaderBlock.Field> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }

    private static FromHeader parse(List<HeaderBlock.Field> from) {
        if (from.isEmpty()) {
            return new FromHeader(List.of(), Optional.empty(), "no From header");
        }
        List<String> addresses = new ArrayList<>();
        for (HeaderBlock.Field f : from) {
            Optional<List<String>> parsed = addressesOf(f.value());
            if (parsed.isEmpty()) {
                return new FromHeader(List.copyOf(addresses), Optional.empty(),
                        from.size() > 1 ? "several From headers" : "unparsable From header");
            }
            addresses.addAll(parsed.get());
        }
        if (from.size() > 1) {
            return new FromHeader(List.copyOf(addresses), Optional.empty(), "several From headers");
        }
        Set<String> domains = new LinkedHashSet<>();
        for (String a : addresses) {
            if (!Addresses.isValidMailbox(a)) {
                return new FromHeader(List.copyOf(addresses), Optional.empty(), "From address without a valid domain");
            }
            domains.add(Addresses.domainOf(a).orElseThrow().toLowerCase(Locale.ROOT));
        }
        if (addresses.isEmpty()) {
            return new FromHeader(List.of(), Optional.empty(), "From header without an address");
        }
        if (domains.size() > 1) {
            return new FromHeader(List.copyOf(addresses), Optional.empty(), "From addresses in several domains");
        }
        return new FromHeader(List.copyOf(addresses), Optional.of(domains.iterator().next()), "");
    }

    /**
     * The addresses of an address list (RFC 5322 §3.4), group members included; empty when the
     * text does not parse. An address without a domain is returned as it is.
     */
    static Optional<List<String>> addressesOf(String value) {
        InternetAddress[] parsed;
        try {
            parsed = InternetAddress.parseHeader(value, false);
        } catch (AddressException e) {
            return Optional.empty();
        }
        List<String> out = new ArrayList<>();
        for (InternetAddress a : parsed) {
            if (a.isGroup()) {
                try {
                    for (InternetAddress m : a.getGroup(false)) {
                        if (m.getAddress() != null) {
                            out.add(m.getAddress());
                        }
                    }
                } catch (AddressException e) {
                    return Optional.empty();
                }
            } else if (a.getAddress() != null) {
                out.add(a.getAddress());
            }
        }
        return Optional.of(out);
    }

    /** The first address, for the log line; empty when there is none. */
    public String firstAddress() {
        return addresses.isEmpty() ? "" : addresses.get(0);
    }
}
