package dev.returnpath.spf;

import dev.returnpath.dns.Dns;
import dev.returnpath.dns.DnsAnswer;
import org.xbill.DNS.Record;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * A static look at a domain's SPF record for the doctor: how many {@code v=spf1} records there
 * are (RFC 7208 §4.5: exactly one), whether the record parses, and how many DNS-querying terms
 * an evaluation can reach through {@code include} and {@code redirect} (§4.6.4: at most 10).
 * Targets that use macros cannot be followed without a message; they count once.
 */
public final class SpfLint {

    /**
     * @param records     the {@code v=spf1} TXT records found (joined strings)
     * @param lookupError a DNS failure, if the record could not be fetched
     * @param syntaxError the first parse error in the record or one it includes
     * @param lookups     DNS-querying terms reachable from the record
     */
    public record Report(List<String> records, Optional<String> lookupError, Optional<String> syntaxError, int lookups) {}

    private SpfLint() {}

    public static Report lint(Dns dns, String domain) {
        Fetched f = fetch(dns, domain);
        if (f.error != null) {
            return new Report(f.records, Optional.of(f.error), Optional.empty(), 0);
        }
        if (f.records.size() != 1) {
            return new Report(f.records, Optional.empty(), Optional.empty(), 0);
        }
        int[] count = {0};
        String[] syntax = {null};
        walk(dns, domain, f.records.get(0), count, syntax, new HashSet<>(), 0);
        return new Report(f.records, Optional.empty(), Optional.ofNullable(syntax[0]), count[0]);
    }

    private record Fetched(List<String> records, String error) {}

    private static Fetched fetch(Dns dns, String domain) {
        DnsAnswer a = dns.lookup(domain, Type.TXT);
        List<String> out = new ArrayList<>();
        return switch (a) {
            case DnsAnswer.Records r -> {
                for (Record rec : r.records()) {
                    if (rec instanceof TXTRecord txt) {
                        String text = SpfEvaluator.joined(txt);
                        if (SpfRecord.isSpf1(text)) {
                            out.add(text);
                        }
                    }
                }
                yield new Fetched(out, null);
            }
            case DnsAnswer.NxDomain n -> new Fetched(out, null);
            case DnsAnswer.NoData n -> new Fetched(out, null);
            case DnsAnswer.Failure fail -> new Fetched(out, "DNS lookup of TXT " + domain + " failed: " + fail.message());
        };
    }

    private static void walk(Dns dns, String domain, String text, int[] count, String[] syntax, Set<String> seen, int depth) {
        if (depth > 10 || !seen.add(domain.toLowerCase(Locale.ROOT))) {
            return;
        }
        SpfRecord rec;
        try {
            rec = SpfRecord.parse(text);
        } catch (CheckHostError e) {
            if (syntax[0] == null) {
                syntax[0] = (depth == 0 ? "" : "in the record of " + domain + ": ") + e.getMessage();
            }
            return;
        }
        for (SpfRecord.Directive d : rec.directives()) {
            switch (d.mechanism()) {
                case SpfRecord.Mechanism.Include inc -> {
                    count[0]++;
                    follow(dns, inc.domain(), count, syntax, seen, depth);
                }
                case SpfRecord.Mechanism.A x -> count[0]++;
                case SpfRecord.Mechanism.Mx x -> count[0]++;
                case SpfRecord.Mechanism.Ptr x -> count[0]++;
                case SpfRecord.Mechanism.Exists x -> count[0]++;
                case SpfRecord.Mechanism.All x -> {
                }
                case SpfRecord.Mechanism.Ip4 x -> {
                }
                case SpfRecord.Mechanism.Ip6 x -> {
                }
            }
        }
        if (rec.redirect().isPresent()) {
            count[0]++;
            follow(dns, rec.redirect().get(), count, syntax, seen, depth);
        }
    }

    private static void follow(Dns dns, MacroString target, int[] count, String[] syntax, Set<String> seen, int depth) {
        String t = target.toString();
        if (t.contains("%")) {
            return; // depends on the message: counted, not followed
        }
        Fetched f = fetch(dns, t);
        if (f.records.size() == 1) {
            walk(dns, t, f.records.get(0), count, syntax, seen, depth + 1);
        }
    }
}
