package dev.returnpath.message;

import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;

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
 * one domain has no author domain: it is then treated as an unlisted domain.
 */
public record FromHeader(List<String> addresses, Optional<String> domain, String problem) {

    public static FromHeader of(HeaderBlock headers) {
        List<HeaderBlock.Field> from = headers.all("From");
        if (from.isEmpty()) {
            return new FromHeader(List.of(), Optional.empty(), "no From header");
        }
        if (from.size() > 1) {
            return new FromHeader(List.of(), Optional.empty(), "several From headers");
        }
        String value = from.get(0).value();
        InternetAddress[] parsed;
        try {
            parsed = InternetAddress.parseHeader(value, false);
        } catch (AddressException e) {
            return new FromHeader(List.of(), Optional.empty(), "unparsable From header");
        }
        List<String> addresses = new java.util.ArrayList<>();
        Set<String> domains = new LinkedHashSet<>();
        for (InternetAddress a : parsed) {
            if (a.isGroup()) {
                try {
                    for (InternetAddress m : a.getGroup(false)) {
                        addresses.add(m.getAddress());
                    }
                } catch (AddressException e) {
                    return new FromHeader(List.of(), Optional.empty(), "unparsable group in From header");
                }
                continue;
            }
            addresses.add(a.getAddress());
        }
        for (String a : addresses) {
            if (a == null || !Addresses.isValidMailbox(a)) {
                return new FromHeader(List.copyOf(addresses.stream().filter(java.util.Objects::nonNull).toList()),
                        Optional.empty(), "From address without a valid domain");
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

    /** The first address, for the log line; empty when there is none. */
    public String firstAddress() {
        return addresses.isEmpty() ? "" : addresses.get(0);
    }
}
