package dev.returnpath.spf;

import dev.returnpath.dns.Dns;
import dev.returnpath.dns.DnsAnswer;
import dev.returnpath.dns.DomainNames;
import java.net.IDN;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * RFC 7208 {@code check_host()}.
 *
 * <p>{@link #checkHost(InetAddress, String, String, String)} is the RFC's function:
 * {@code check_host(<ip>, <domain>, <sender>)}, plus the HELO name that the {@code %{h}} macro
 * reads. {@link #checkIdentity} picks the identity the way an MTA does: the domain of the
 * reverse-path, or for the null sender the HELO identity {@code postmaster@helo} (§2.4).
 *
 * <p>Each call is one evaluation with its own counters: at most {@value #MAX_DNS_TERMS}
 * DNS-querying terms, {@value #MAX_VOID_LOOKUPS} void lookups, {@value #MAX_MX_NAMES} MX names per
 * {@code mx} and the first {@value #MAX_PTR_NAMES} PTR names per {@code ptr} or {@code %{p}}
 * (§4.6.4), and a time limit (20 s by default, §4.6.4: "SHOULD allow at least 20 seconds") after
 * which the result is temperror. Only TXT records are read (§3, §4.4): the type-99 SPF RR is
 * obsolete and never queried.
 *
 * <p>Choices where RFC 7208 leaves room, each cited where it is made below:
 * <ul>
 *   <li>A target name that is syntactically a domain-spec but cannot be a DNS name after expansion
 *       (an empty label, a label over 63 octets) makes {@code a}, {@code mx}, {@code ptr} and
 *       {@code exists} not match, without a query (the RFC 7208 test suite allows fail or
 *       permerror; this is pyspf's choice). For {@code include} and {@code redirect} it is a
 *       permerror, as check_host() on it would be none (§4.3, §5.2, §6.1).
 *   <li>Void lookups are counted per query on the names the domain owner controls: the targets
 *       of {@code a}, {@code mx} (and each MX host's address lookup) and {@code exists}. The PTR
 *       lookup of {@code ptr} and {@code %{p}} and the address lookups that validate PTR names are
 *       not counted: that data belongs to whoever owns the client's IP address, which is the same
 *       reason §4.6.4 gives for ignoring PTR names beyond ten instead of failing.
 *   <li>The {@code exp=} lookup counts against no limit (§4.6.4) and any problem with it falls
 *       back to the default explanation (§6.2).
 * </ul>
 *
 * <p>It never caches between calls: DNS caching belongs to the {@link Dns} behind it, and result
 * caching to {@link SpfGuard}. It is safe for concurrent use.
 */
public final class SpfEvaluator {
    /** §4.6.4: terms that cause DNS queries (include, a, mx, ptr, exists, redirect). */
    public static final int MAX_DNS_TERMS = 10;
    /** §4.6.4: NXDOMAIN or NODATA answers allowed before permerror. */
    public static final int MAX_VOID_LOOKUPS = 2;
    /** §4.6.4: more MX names than this make {@code mx} a permerror. */
    public static final int MAX_MX_NAMES = 10;
    /** §4.6.4: PTR names beyond this many are ignored. */
    public static final int MAX_PTR_NAMES = 10;
    /** The TTL assumed for a negative answer (dnsjava does not hand over the SOA minimum). */
    public static final Duration NEGATIVE_TTL = Duration.ofMinutes(5);
    /** §4.6.4: an evaluation that takes longer is a temperror. */
    public static final Duration DEFAULT_TIME_LIMIT = Duration.ofSeconds(20);

    private final Dns dns;
    private final String receiver;
    private final Clock clock;
    private final Duration timeLimit;

    /** An evaluator with receiver name "unknown" ({@code %{r}}), the system clock and a 20 s limit. */
    public SpfEvaluator(Dns dns) {
        this(dns, "unknown", Clock.systemUTC(), DEFAULT_TIME_LIMIT);
    }

    /**
     * @param receiver the name {@code %{r}} expands to in explanations (§7.3): this host's name
     * @param clock the time {@code %{t}} expands to
     * @param timeLimit the longest one evaluation may take before it is a temperror
     */
    public SpfEvaluator(Dns dns, String receiver, Clock clock, Duration timeLimit) {
        this.dns = Objects.requireNonNull(dns, "dns");
        this.receiver = Objects.requireNonNull(receiver, "receiver");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.timeLimit = Objects.requireNonNull(timeLimit, "timeLimit");
    }

    /**
     * Checks the identity an MTA would: the reverse-path's domain, or for the null sender
     * ({@code ""} or {@code "<>"}) the HELO identity {@code postmaster@helo} (RFC 7208 §2.4).
     * A reverse-path without {@code @} is taken as a bare domain.
     */
    public SpfOutcome checkIdentity(InetAddress ip, String reversePath, String helo) {
        String path = reversePath == null ? "" : reversePath.strip();
        if (path.startsWith("<") && path.endsWith(">")) {
            path = path.substring(1, path.length() - 1);
        }
        String heloName = helo == null ? "" : helo.strip();
        if (path.isEmpty()) {
            return checkHost(ip, heloName, "postmaster@" + heloName, heloName);
        }
        int at = path.lastIndexOf('@');
        return checkHost(ip, at < 0 ? path : path.substring(at + 1), path, heloName);
    }

    /**
     * RFC 7208 §4: {@code check_host(ip, domain, sender)}; {@code helo} feeds {@code %{h}} only.
     * Never throws for anything DNS or the records say; every problem is a result.
     */
    public SpfOutcome checkHost(InetAddress ip, String domain, String sender, String helo) {
        Objects.requireNonNull(ip, "ip");
        Evaluation evaluation = new Evaluation(IpLiterals.canonical(ip), sender == null ? "" : sender,
                helo == null ? "" : helo);
        return evaluation.run(domain == null ? "" : domain);
    }

    /** §4.3: the initial domain must be a multi-label FQDN; a domain literal or malformed name is "none". */
    static Optional<String> checkHostDomain(String domain) {
        String d = domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
        if (d.isEmpty() || d.startsWith("[") || d.indexOf('.') < 0 || d.length() > 253) {
            return Optional.empty();
        }
        for (int i = 0; i < d.length(); i++) {
            if (d.charAt(i) > 0x7e) {
                try {
                    d = IDN.toASCII(d, IDN.ALLOW_UNASSIGNED); // a U-label domain is looked up as its A-labels
                } catch (IllegalArgumentException e) {
                    return Optional.empty();
                }
                break;
            }
            if (d.charAt(i) <= 0x20) {
                return Optional.empty();
            }
        }
        return DomainNames.isValid(d) ? Optional.of(d) : Optional.empty();
    }

    /** What one (possibly included or redirected) record concluded, and where its exp= came from. */
    private record Verdict(SpfResult result, String domain, Optional<MacroString> exp, String detail) {}

    /** The state of one check_host() call: counters, the PTR names, and the smallest TTL seen. */
    private final class Evaluation {
        private final byte[] ip;
        private final boolean ip6;
        private final String sender;
        private final String localPart;
        private final String senderDomain;
        private final String helo;
        private final long deadline;
        private int dnsTerms;
        private int voidLookups;
        private Duration ttl;
        private List<String> validatedNames;

        Evaluation(byte[] ip, String sender, String helo) {
            this.ip = ip;
            this.ip6 = ip.length == 16;
            int at = sender.lastIndexOf('@');
            String local = at < 0 ? "" : sender.substring(0, at);
            String domainPart = at < 0 ? sender : sender.substring(at + 1);
            if (local.isEmpty()) {
                local = "postmaster"; // §4.3: an empty local-part is "postmaster"
            }
            this.localPart = local;
            this.senderDomain = domainPart;
            this.sender = local + "@" + domainPart;
            this.helo = helo;
            this.deadline = System.nanoTime() + timeLimit.toNanos();
        }

        SpfOutcome run(String domain) {
            Optional<String> checked = checkHostDomain(domain);
            if (checked.isEmpty()) {
                return new SpfOutcome(SpfResult.NONE, "", NEGATIVE_TTL,
                        "\"" + domain + "\" is not a fully qualified domain name (RFC 7208 §4.3)");
            }
            try {
                Verdict verdict = evaluate(checked.get());
                String explanation = verdict.result() == SpfResult.FAIL ? explain(verdict) : "";
                return new SpfOutcome(verdict.result(), explanation, ttl == null ? NEGATIVE_TTL : ttl, verdict.detail());
            } catch (CheckHostError e) {
                Duration outcomeTtl = e.result() == SpfResult.TEMPERROR ? Duration.ZERO : (ttl == null ? NEGATIVE_TTL : ttl);
                return new SpfOutcome(e.result(), "", outcomeTtl, e.getMessage());
            }
        }

        /** §4.4 to §4.7 for one domain: fetch, select, parse, evaluate the terms, then redirect. */
        private Verdict evaluate(String domain) throws CheckHostError {
            DnsAnswer answer = lookup(domain, Type.TXT);
            List<String> spf = new ArrayList<>();
            switch (answer) {
                case DnsAnswer.Failure f -> throw CheckHostError.temperror("TXT lookup for " + domain + " failed: " + f.message());
                case DnsAnswer.NxDomain n -> {
                    return new Verdict(SpfResult.NONE, domain, Optional.empty(), domain + " does not exist");
                }
                case DnsAnswer.NoData n -> {
                    return new Verdict(SpfResult.NONE, domain, Optional.empty(), domain + " has no TXT record");
                }
                case DnsAnswer.Records r -> {
                    for (Record record : r.records()) {
                        if (record instanceof TXTRecord txt) {
                            String text = joined(txt);
                            if (SpfRecord.isSpf1(text)) {
                                spf.add(text);
                            }
                        }
                    }
                }
            }
            if (spf.isEmpty()) {
                return new Verdict(SpfResult.NONE, domain, Optional.empty(), domain + " has no v=spf1 record");
            }
            if (spf.size() > 1) {
                throw CheckHostError.permerror(domain + " has " + spf.size() + " v=spf1 records (RFC 7208 §4.5)");
            }
            SpfRecord record = SpfRecord.parse(spf.get(0));
            for (SpfRecord.Directive directive : record.directives()) {
                if (matches(directive.mechanism(), domain)) {
                    return new Verdict(directive.qualifier(), domain, record.exp(),
                            "matched \"" + directive.text() + "\" in " + domain);
                }
            }
            if (record.redirect().isPresent()) {
                // §6.1: only when no mechanism matched; the target's result (and exp=) replace ours
                countDnsTerm();
                String target = expandDomain(record.redirect().get(), domain)
                        .flatMap(SpfEvaluator::checkHostDomain)
                        .orElseThrow(() -> CheckHostError.permerror(
                                "redirect=" + record.redirect().get() + " is not a valid domain (RFC 7208 §6.1)"));
                Verdict redirected = evaluate(target);
                if (redirected.result() == SpfResult.NONE) {
                    throw CheckHostError.permerror("redirect=" + target + ": " + redirected.detail() + " (RFC 7208 §6.1)");
                }
                return redirected;
            }
            // §4.7: no match and no redirect
            return new Verdict(SpfResult.NEUTRAL, domain, record.exp(), "no term matched in " + domain);
        }

        private boolean matches(SpfRecord.Mechanism mechanism, String domain) throws CheckHostError {
            return switch (mechanism) {
                case SpfRecord.Mechanism.All all -> true;
                case SpfRecord.Mechanism.Include include -> {
                    countDnsTerm();
                    String target = expandDomain(include.domain(), domain)
                            .flatMap(SpfEvaluator::checkHostDomain)
                            .orElseThrow(() -> CheckHostError.permerror(
                                    "include:" + include.domain() + " is not a valid domain (RFC 7208 §5.2)"));
                    Verdict included = evaluate(target);
                    // §5.2: pass matches; fail, softfail, neutral do not; none is a permerror
                    // (temperror and permerror have already ended the evaluation)
                    yield switch (included.result()) {
                        case PASS -> true;
                        case FAIL, SOFTFAIL, NEUTRAL -> false;
                        case NONE, PERMERROR, TEMPERROR -> throw CheckHostError.permerror(
                                "include:" + target + ": " + included.detail() + " (RFC 7208 §5.2)");
                    };
                }
                case SpfRecord.Mechanism.A a -> {
                    countDnsTerm();
                    Optional<String> target = a.domain().isPresent() ? expandDomain(a.domain().get(), domain) : Optional.of(domain);
                    yield target.isPresent() && addressesMatch(target.get(), a.cidr4(), a.cidr6());
                }
                case SpfRecord.Mechanism.Mx mx -> {
                    countDnsTerm();
                    Optional<String> target = mx.domain().isPresent() ? expandDomain(mx.domain().get(), domain) : Optional.of(domain);
                    yield target.isPresent() && mxMatches(target.get(), mx.cidr4(), mx.cidr6());
                }
                case SpfRecord.Mechanism.Ptr ptr -> {
                    countDnsTerm();
                    Optional<String> target = ptr.domain().isPresent() ? expandDomain(ptr.domain().get(), domain) : Optional.of(domain);
                    yield target.isPresent() && ptrMatches(target.get());
                }
                // §5.6: ip4 matches IPv4 clients only, ip6 IPv6 clients only (mapped addresses are IPv4)
                case SpfRecord.Mechanism.Ip4 ip4 -> !ip6 && IpLiterals.sameNetwork(ip, ip4.network(), ip4.cidr());
                case SpfRecord.Mechanism.Ip6 v6 -> ip6 && IpLiterals.sameNetwork(ip, v6.network(), v6.cidr());
                case SpfRecord.Mechanism.Exists exists -> {
                    countDnsTerm();
                    Optional<String> target = expandDomain(exists.domain(), domain);
                    if (target.isEmpty()) {
                        yield false;
                    }
                    // §5.7: always an A lookup, even for an IPv6 client
                    yield switch (lookup(target.get(), Type.A)) {
                        case DnsAnswer.Records r -> true;
                        case DnsAnswer.NxDomain n -> countVoid(target.get());
                        case DnsAnswer.NoData n -> countVoid(target.get());
                        case DnsAnswer.Failure f -> throw CheckHostError.temperror("exists:" + target.get() + ": " + f.message());
                    };
                }
            };
        }

        /** §5.3: does any A (IPv4 client) or AAAA (IPv6 client) record of {@code name} cover the client? */
        private boolean addressesMatch(String name, int cidr4, int cidr6) throws CheckHostError {
            for (byte[] address : addresses(name, true)) {
                if (IpLiterals.sameNetwork(ip, address, ip6 ? cidr6 : cidr4)) {
                    return true;
                }
            }
            return false;
        }

        /** The client-family addresses of {@code name}; a DNS error is a temperror (§5). */
        private List<byte[]> addresses(String name, boolean countVoids) throws CheckHostError {
            int type = ip6 ? Type.AAAA : Type.A;
            List<byte[]> out = new ArrayList<>();
            switch (lookup(name, type)) {
                case DnsAnswer.Records r -> {
                    for (Record record : r.records()) {
                        if (record instanceof ARecord a) {
                            out.add(a.getAddress().getAddress());
                        } else if (record instanceof AAAARecord aaaa) {
                            out.add(aaaa.getAddress().getAddress());
                        }
                    }
                }
                case DnsAnswer.NxDomain n -> {
                    if (countVoids) {
                        countVoid(name);
                    }
                }
                case DnsAnswer.NoData n -> {
                    if (countVoids) {
                        countVoid(name);
                    }
                }
                case DnsAnswer.Failure f -> throw CheckHostError.temperror(Type.string(type) + " " + name + ": " + f.message());
            }
            return out;
        }

        /** §5.4: MX lookup, then an address lookup per MX name; more than 10 names is a permerror (§4.6.4). */
        private boolean mxMatches(String name, int cidr4, int cidr6) throws CheckHostError {
            List<String> exchanges = new ArrayList<>();
            switch (lookup(name, Type.MX)) {
                case DnsAnswer.Records r -> {
                    for (Record record : r.records()) {
                        if (record instanceof MXRecord mx) {
                            exchanges.add(literal(mx.getTarget()));
                        }
                    }
                }
                case DnsAnswer.NxDomain n -> {
                    return countVoid(name);
                }
                case DnsAnswer.NoData n -> {
                    return countVoid(name);
                }
                case DnsAnswer.Failure f -> throw CheckHostError.temperror("MX " + name + ": " + f.message());
            }
            if (exchanges.size() > MAX_MX_NAMES) {
                throw CheckHostError.permerror(name + " has " + exchanges.size() + " MX records, more than "
                        + MAX_MX_NAMES + " (RFC 7208 §4.6.4)");
            }
            for (String exchange : exchanges) {
                if (exchange.isEmpty() || !DomainNames.isValid(exchange)) {
                    continue; // "MX 0 ." is RFC 7505's null MX: no host to look up
                }
                if (addressesMatch(exchange, cidr4, cidr6)) {
                    return true;
                }
            }
            return false;
        }

        /** §5.5: a validated PTR name equal to, or a subdomain of, the target. */
        private boolean ptrMatches(String target) throws CheckHostError {
            String suffix = "." + target.toLowerCase(Locale.ROOT);
            for (String name : validatedNames()) {
                String lower = name.toLowerCase(Locale.ROOT);
                if (lower.equals(target.toLowerCase(Locale.ROOT)) || lower.endsWith(suffix)) {
                    return true;
                }
            }
            return false;
        }

        /**
         * §5.5: the PTR names of the client (the first {@value #MAX_PTR_NAMES}, §4.6.4) whose own
         * address records include the client. A DNS error on the PTR lookup means no names; an
         * error on an address lookup skips that name. Computed once per evaluation.
         */
        private List<String> validatedNames() throws CheckHostError {
            if (validatedNames != null) {
                return validatedNames;
            }
            List<String> names = new ArrayList<>();
            if (lookup(IpLiterals.reverseName(ip), Type.PTR) instanceof DnsAnswer.Records r) {
                for (Record record : r.records()) {
                    if (record instanceof PTRRecord ptr && names.size() < MAX_PTR_NAMES) {
                        names.add(literal(ptr.getTarget()));
                    }
                }
            }
            List<String> validated = new ArrayList<>();
            for (String name : names) {
                if (!DomainNames.isValid(name)) {
                    continue;
                }
                DnsAnswer answer = lookup(name, ip6 ? Type.AAAA : Type.A);
                if (answer instanceof DnsAnswer.Records r) {
                    for (Record record : r.records()) {
                        byte[] address = record instanceof ARecord a ? a.getAddress().getAddress()
                                : record instanceof AAAARecord aaaa ? aaaa.getAddress().getAddress() : null;
                        if (address != null && IpLiterals.sameNetwork(ip, address, ip.length * 8)) {
                            validated.add(name);
                            break;
                        }
                    }
                }
            }
            validatedNames = List.copyOf(validated);
            return validatedNames;
        }

        /** §7.3 {@code %{p}}: the domain itself if validated, else a validated subdomain, else any, else "unknown". */
        private String validatedName(String domain) throws CheckHostError {
            List<String> names = validatedNames();
            String lower = domain.toLowerCase(Locale.ROOT);
            for (String name : names) {
                if (name.toLowerCase(Locale.ROOT).equals(lower)) {
                    return name;
                }
            }
            for (String name : names) {
                if (name.toLowerCase(Locale.ROOT).endsWith("." + lower)) {
                    return name;
                }
            }
            return names.isEmpty() ? "unknown" : names.get(0);
        }

        /**
         * Expands a domain-spec into a target name (§4.8, §7.3): one trailing dot dropped, labels
         * removed from the left until it fits 253 characters, and empty when the result still
         * cannot be a DNS name (see the class comment for why that is not a permerror).
         */
        private Optional<String> expandDomain(MacroString spec, String domain) throws CheckHostError {
            String name = spec.expand(values(domain));
            if (name.endsWith(".")) {
                name = name.substring(0, name.length() - 1);
            }
            while (name.length() > 253 && name.indexOf('.') >= 0) {
                name = name.substring(name.indexOf('.') + 1);
            }
            return DomainNames.isValid(name) ? Optional.of(name) : Optional.empty();
        }

        private MacroString.Values values(String domain) {
            return letter -> switch (letter) {
                case 's' -> sender;
                case 'l' -> localPart;
                case 'o' -> senderDomain;
                case 'd' -> domain;
                case 'i' -> IpLiterals.dotted(ip);
                case 'p' -> validatedName(domain);
                case 'v' -> ip6 ? "ip6" : "in-addr";
                case 'h' -> helo;
                case 'c' -> IpLiterals.readable(ip);
                case 'r' -> receiver;
                case 't' -> Long.toString(clock.instant().getEpochSecond());
                default -> throw new IllegalStateException("macro letter " + letter); // parse() rejects others
            };
        }

        /**
         * §6.2: the explanation for a fail. The exp= TXT record is fetched once, after the result is
         * known; an invalid target, a DNS error, no record or several, non-ASCII text or a macro
         * error all mean "as if no exp modifier was given".
         */
        private String explain(Verdict verdict) {
            String fallback = "domain of " + sender + " does not designate " + IpLiterals.readable(ip)
                    + " as permitted sender";
            if (verdict.exp().isEmpty() || System.nanoTime() > deadline) {
                return fallback;
            }
            try {
                Optional<String> target = expandDomain(verdict.exp().get(), verdict.domain());
                if (target.isEmpty()) {
                    return fallback;
                }
                if (!(dns.lookup(target.get(), Type.TXT) instanceof DnsAnswer.Records r)
                        || r.records().size() != 1
                        || !(r.records().get(0) instanceof TXTRecord txt)) {
                    return fallback;
                }
                String text = joined(txt);
                for (int i = 0; i < text.length(); i++) {
                    if (text.charAt(i) < 0x20 || text.charAt(i) > 0x7e) {
                        return fallback;
                    }
                }
                return MacroString.parse(text, MacroString.Context.EXPLANATION).expand(values(verdict.domain()));
            } catch (CheckHostError e) {
                return fallback;
            }
        }

        private void countDnsTerm() throws CheckHostError {
            if (++dnsTerms > MAX_DNS_TERMS) {
                throw CheckHostError.permerror("more than " + MAX_DNS_TERMS + " DNS-querying terms (RFC 7208 §4.6.4)");
            }
        }

        /** Counts a void lookup and returns false (the mechanism does not match). */
        private boolean countVoid(String name) throws CheckHostError {
            if (++voidLookups > MAX_VOID_LOOKUPS) {
                throw CheckHostError.permerror("more than " + MAX_VOID_LOOKUPS
                        + " void DNS lookups, the last for " + name + " (RFC 7208 §4.6.4)");
            }
            return false;
        }

        private DnsAnswer lookup(String name, int type) throws CheckHostError {
            if (System.nanoTime() > deadline) {
                throw CheckHostError.temperror("SPF evaluation took longer than " + timeLimit.toSeconds()
                        + " s (RFC 7208 §4.6.4)");
            }
            DnsAnswer answer = dns.lookup(name, type);
            Duration seen = switch (answer) {
                case DnsAnswer.Records r -> r.ttl();
                case DnsAnswer.NxDomain n -> NEGATIVE_TTL;
                case DnsAnswer.NoData n -> NEGATIVE_TTL;
                case DnsAnswer.Failure f -> null;
            };
            if (seen != null && (ttl == null || seen.compareTo(ttl) < 0)) {
                ttl = seen;
            }
            return answer;
        }
    }

    /** §3.3: the character-strings of one TXT record, joined with no separator, one char per octet. */
    static String joined(TXTRecord txt) {
        StringBuilder text = new StringBuilder();
        for (byte[] part : txt.getStringsAsByteArrays()) {
            text.append(new String(part, StandardCharsets.ISO_8859_1));
        }
        return text.toString();
    }

    /** A DNS name as literal text without the final dot, its octets taken one char each. */
    static String literal(Name name) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < name.labels(); i++) {
            byte[] label = name.getLabel(i);
            if (label.length <= 1) {
                continue; // the root label
            }
            if (!text.isEmpty()) {
                text.append('.');
            }
            text.append(new String(label, 1, label[0] & 0xff, StandardCharsets.ISO_8859_1));
        }
        return text.toString();
    }
}
