package dev.returnpath.ops;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.RelayConfig.DomainPolicy;
import dev.returnpath.delivery.UpstreamProbe;
import dev.returnpath.dns.Dns;
import dev.returnpath.dns.DnsAnswer;
import dev.returnpath.rewrite.OrganizationalDomain;
import dev.returnpath.spf.SpfEvaluator;
import dev.returnpath.spf.SpfLint;
import dev.returnpath.spf.SpfOutcome;
import dev.returnpath.spf.SpfResult;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The deliverability doctor: checks the deployment the configuration describes, as a receiver
 * such as Gmail will (its sender guidelines for SPF, DMARC, PTR and TLS), and says how to fix each problem.
 *
 * <p>Per sending domain: SPF at the return-path's domain (one record, valid, at most 10 DNS
 * lookups, {@code pass} for every outbound IP), return-path alignment with the From domain,
 * DMARC (at the domain, then at its organizational domain). Per outbound IP: PTR, forward
 * confirmation, and a PTR name equal to {@code hostname}. The host name: an FQDN that
 * resolves. The upstream of the default route and of each of {@code delivery.routes}: connection
 * and EHLO, STARTTLS with a valid certificate, AUTH. With {@code bounces.imap}: the
 * authentication bounces the intake counted since the doctor last ran.
 *
 * <p>It only reads: DNS lookups, SMTP sessions that never send mail, and the bounce intake's
 * file in {@code queue.dir}.
 */
public final class Doctor {

    public enum Status { PASS, WARN, FAIL }

    /** One line of the report. {@code fix} is empty when nothing is to be done. */
    public record Check(String check, String subject, Status status, String found, String fix) {}

    private final RelayConfig config;
    private final Dns dns;
    private final SpfEvaluator spf;
    private final SmarthostProbe upstream;
    private final java.util.Optional<String> toDomain;

    /** Probes one smarthost, {@code delivery.smarthost} or a route's ({@link UpstreamProbe#probe(RelayConfig, RelayConfig.Smarthost)}). */
    @FunctionalInterface
    public interface SmarthostProbe {
        List<UpstreamProbe.Step> probe(RelayConfig config, RelayConfig.Smarthost smarthost);
    }

    public Doctor(RelayConfig config, Dns dns, SmarthostProbe upstream) {
        this(config, dns, upstream, java.util.Optional.empty());
    }

    /**
     * @param upstream the smarthost probe, run for {@code delivery.smarthost} and each route's
     * @param toDomain in direct mode, the domain whose MX is checked as the upstream
     */
    public Doctor(RelayConfig config, Dns dns, SmarthostProbe upstream,
                  java.util.Optional<String> toDomain) {
        this.config = config;
        this.dns = dns;
        this.spf = new SpfEvaluator(dns);
        this.upstream = upstream;
        this.toDomain = toDomain;
    }

    public List<Check> run() {
        List<Check> out = new ArrayList<>();
        hostname(out);
        if (config.spf().outboundIps().isEmpty()) {
            out.add(new Check("spf.outbound-ips", "config", Status.WARN, "spf.outbound-ips is empty: SPF cannot be checked and the SPF guard is off",
                    "set returnpath.spf.outbound-ips to the public IPs your mail leaves from"));
        }
        if (config.domains().isEmpty()) {
            out.add(new Check("domains", "config", Status.WARN, "no sending domain is configured: every message is refused or kept",
                    "list your From domains under returnpath.domains with their return-path"));
        }
        for (dev.returnpath.rewrite.UncheckedSenders.Warning w : dev.returnpath.rewrite.UncheckedSenders.of(config)) {
            out.add(new Check(w.check(), w.subject(), Status.WARN, w.found(), w.fix()));
        }
        java.util.Set<String> spfChecked = new java.util.HashSet<>();
        for (DomainPolicy d : config.domains().values()) {
            domain(d, out, spfChecked);
        }
        // a rule's return-path leaves with its own domain: SPF must pass there too
        for (dev.returnpath.config.Rule rule : config.rules()) {
            if (rule.action() instanceof dev.returnpath.config.Rule.Action.SetReturnPath set
                    && spfChecked.add(set.returnPath().domain())) {
                spfChecks(set.returnPath().domain(), sender(set.returnPath()), out);
            }
        }
        for (InetAddress ip : config.spf().outboundIps()) {
            ptr(ip, out);
        }
        routeDomains(out);
        upstream(out);
        authBounces(out);
        return out;
    }

    // ----------------------------------------------------------------- bounces

    /**
     * {@code bounces.auth}, with {@code bounces.imap} set: a WARN when the bounce intake counted
     * authentication bounces ({@code class=auth}) since the {@code doctor} command last ran
     * ({@link AuthBounces}, in {@code queue.dir}), with their count, domains, statuses and fixes;
     * else a PASS. The command notes its run afterwards ({@link AuthBounces#markRun}); serve's
     * own periodic check does not, so its WARN stays until the operator has run {@code doctor}.
     */
    private void authBounces(List<Check> out) {
        if (config.bouncesImap().isEmpty()) {
            return;
        }
        java.nio.file.Path dir = config.queue().dir();
        AuthBounces.State state = AuthBounces.read(dir);
        java.util.Optional<AuthBounces.LastRun> last = AuthBounces.lastRun(dir);
        long seen = last.map(AuthBounces.LastRun::total).filter(t -> t <= state.total()).orElse(0L);
        long fresh = state.total() - seen;
        String since = last.map(l -> "since the doctor's last run (" + l.at() + ")").orElse("recorded");
        if (fresh <= 0) {
            out.add(new Check("bounces.auth", "bounce intake", Status.PASS,
                    "no authentication bounce " + since, ""));
            return;
        }
        java.time.Instant after = last.filter(l -> l.total() <= state.total()).map(AuthBounces.LastRun::at)
                .orElse(java.time.Instant.MIN);
        java.util.Set<String> domains = new java.util.TreeSet<>();
        java.util.Set<String> statuses = new java.util.TreeSet<>();
        java.util.Set<String> fixes = new java.util.LinkedHashSet<>();
        for (AuthBounces.Entry e : state.recent()) {
            if (e.at().isAfter(after)) {
                domains.add(e.domain());
                statuses.add(e.status());
                fixes.add(e.fix());
            }
        }
        out.add(new Check("bounces.auth", "bounce intake", Status.WARN, fresh + " authentication bounce(s) " + since
                + (domains.isEmpty() ? "" : ": domain " + String.join(", ", domains) + ", status " + String.join(", ", statuses))
                + " (the bounce: lines of class auth say which messages)",
                fixes.isEmpty() ? "see the bounce: lines of class auth" : String.join("; ", fixes)));
    }

    // ----------------------------------------------------------------- per domain

    /** The address SPF is checked with: a template's plain fallback, since macros may read it. */
    private static String sender(dev.returnpath.config.ReturnPathTemplate t) {
        return t.isPlain() ? t.text() : t.fallback();
    }

    private void domain(DomainPolicy d, List<Check> out, java.util.Set<String> spfChecked) {
        String rpDomain = d.template().domain();
        boolean strict = d.alignment() == RelayConfig.Alignment.STRICT;
        if (OrganizationalDomain.aligned(rpDomain, d.domain(), strict)) {
            out.add(new Check("returnpath.alignment", d.domain(), Status.PASS,
                    "return-path " + d.returnPath() + " is aligned with " + d.domain() + (strict ? " (strict)" : " (relaxed)"), ""));
        } else {
            out.add(new Check("returnpath.alignment", d.domain(), Status.FAIL,
                    "return-path " + d.returnPath() + " is not aligned with " + d.domain() + (strict ? " (strict)" : " (relaxed)")
                            + ": SPF can pass but DMARC will not align it",
                    "use a return-path under " + (strict ? d.domain() : OrganizationalDomain.of(d.domain()))));
        }
        if (spfChecked.add(rpDomain)) {
            spfChecks(rpDomain, sender(d.template()), out);
        }
        dmarc(d.domain(), out);
        for (dev.returnpath.dkim.DkimKey k : d.dkim()) {
            signingKey(k, out);
        }
        d.dkimSelector().filter(sel -> d.dkim().stream().noneMatch(k -> k.selector().equals(sel)))
                .ifPresent(sel -> dkim(d.domain(), sel, out));
    }

    /**
     * A key returnpath signs with: the selector's record must publish exactly its public half,
     * or every signature fails at the receiver (FAIL, with the record to publish as the fix).
     * An RSA key under 2048 bits is a WARN (RFC 8301 allows 1024; Gmail asks for 2048).
     */
    private void signingKey(dev.returnpath.dkim.DkimKey k, List<Check> out) {
        String name = k.recordName();
        String publish = "publish TXT at " + name + ": \"" + k.record() + "\"";
        if (k.belowRecommendedSize()) {
            out.add(new Check("dkim.key-size", name, Status.WARN, k.bits() + "-bit RSA key in " + k.file(),
                    "make a 2048-bit key under a new selector (returnpath dkim-keygen --bits 2048), publish it, then switch"));
        }
        DnsAnswer a = dns.lookup(name, Type.TXT);
        if (a instanceof DnsAnswer.Failure f) {
            out.add(new Check("dkim.key", name, Status.FAIL, "lookup failed: " + f.message(), publish));
            return;
        }
        List<String> found = new ArrayList<>();
        if (a instanceof DnsAnswer.Records r) {
            for (Record rec : r.records()) {
                if (rec instanceof TXTRecord txt) {
                    Map<String, String> tags = tags(String.join("", txt.getStrings()));
                    if (!tags.containsKey("p")) {
                        continue;
                    }
                    String p = tags.get("p").replaceAll("\\s", "");
                    String type = tags.getOrDefault("k", "rsa").toLowerCase(java.util.Locale.ROOT);
                    if (p.equals(k.publicKeyBase64()) && type.equals(k.algorithm().keyType())) {
                        out.add(new Check("dkim.key", name, Status.PASS, "the published key (k=" + type
                                + ") is the public half of " + k.file(), ""));
                        return;
                    }
                    found.add(p.isEmpty() ? "a revoked key (empty p=)" : "a k=" + type + " key that is not the public half of " + k.file());
                }
            }
        }
        out.add(new Check("dkim.key", name, Status.FAIL, found.isEmpty() ? "no DKIM record at " + name
                + ": every signature with selector " + k.selector() + " fails" : name + " publishes " + String.join(", ", found), publish));
    }

    /** DKIM (RFC 6376 §3.6.1): the selector's key record. A WARN at most: returnpath does not sign. */
    private void dkim(String domain, String selector, List<Check> out) {
        String name = selector + "._domainkey." + domain;
        DnsAnswer a = dns.lookup(name, Type.TXT);
        if (a instanceof DnsAnswer.Records r) {
            for (Record rec : r.records()) {
                if (rec instanceof TXTRecord txt) {
                    Map<String, String> tags = tags(String.join("", txt.getStrings()));
                    String p = tags.getOrDefault("p", "");
                    if (!p.isEmpty()) {
                        out.add(new Check("dkim.key", name, Status.PASS, "key published (k=" + tags.getOrDefault("k", "rsa")
                                + ", " + p.length() + " base64 characters)", ""));
                        return;
                    }
                    if (tags.containsKey("p")) {
                        out.add(new Check("dkim.key", name, Status.WARN, "the key is revoked (empty p=)",
                                "publish the selector's public key, or configure the selector you sign with"));
                        return;
                    }
                }
            }
        }
        out.add(new Check("dkim.key", name, Status.WARN, a instanceof DnsAnswer.Failure f ? "lookup failed: " + f.message()
                : "no DKIM key at " + name, "publish TXT at " + name + ": \"v=DKIM1; k=rsa; p=<public key>\" "
                + "(2048-bit RSA; Gmail requires DKIM from bulk senders)"));
    }

    private void spfChecks(String domain, String returnPath, List<Check> out) {
        SpfLint.Report lint = SpfLint.lint(dns, domain);
        String publish = "publish TXT at " + domain + ": \"v=spf1 " + mechanisms() + " -all\"";
        if (lint.lookupError().isPresent()) {
            out.add(new Check("spf.record", domain, Status.FAIL, lint.lookupError().get(), "check the DNS servers in returnpath.dns.servers"));
            return;
        }
        if (lint.records().isEmpty()) {
            out.add(new Check("spf.record", domain, Status.FAIL, "no SPF record", publish));
            return;
        }
        if (lint.records().size() > 1) {
            out.add(new Check("spf.record", domain, Status.FAIL, lint.records().size() + " SPF records (a permerror for every receiver): "
                    + String.join(" | ", lint.records()), "merge them into one v=spf1 record"));
            return;
        }
        String record = lint.records().get(0);
        out.add(new Check("spf.record", domain, Status.PASS, record, ""));
        if (lint.syntaxError().isPresent()) {
            out.add(new Check("spf.syntax", domain, Status.FAIL, lint.syntaxError().get(), "correct the record: receivers treat it as permerror"));
            return;
        }
        out.add(new Check("spf.syntax", domain, Status.PASS, "valid", ""));
        if (lint.lookups() > SpfEvaluator.MAX_DNS_TERMS) {
            out.add(new Check("spf.lookups", domain, Status.FAIL, lint.lookups() + " DNS-querying terms through includes and redirects, over the limit of 10 (permerror)",
                    "flatten includes into ip4:/ip6: mechanisms, or drop unused ones"));
        } else {
            out.add(new Check("spf.lookups", domain, Status.PASS, lint.lookups() + " of 10 DNS-querying terms", ""));
        }
        for (InetAddress ip : config.spf().outboundIps()) {
            SpfOutcome o = spf.checkHost(ip, domain, returnPath, config.hostname());
            String subject = domain + " " + ip.getHostAddress();
            if (o.result() == SpfResult.PASS) {
                out.add(new Check("spf.pass", subject, Status.PASS, "pass for " + ip.getHostAddress(), ""));
            } else {
                out.add(new Check("spf.pass", subject, Status.FAIL, o.result().wireName() + " for " + ip.getHostAddress()
                        + (o.detail().isEmpty() ? "" : " (" + o.detail() + ")"),
                        "add \"" + mechanism(ip) + "\" to the SPF record of " + domain));
            }
        }
    }

    private String mechanisms() {
        if (config.spf().outboundIps().isEmpty()) {
            return "ip4:YOUR.PUBLIC.IP";
        }
        return String.join(" ", config.spf().outboundIps().stream().map(Doctor::mechanism).toList());
    }

    private static String mechanism(InetAddress ip) {
        return (ip instanceof Inet4Address ? "ip4:" : "ip6:") + ip.getHostAddress();
    }

    private void dmarc(String domain, List<Check> out) {
        String org = OrganizationalDomain.of(domain);
        List<String> names = org.equals(domain) ? List.of("_dmarc." + domain) : List.of("_dmarc." + domain, "_dmarc." + org);
        for (String name : names) {
            DnsAnswer a = dns.lookup(name, Type.TXT);
            if (a instanceof DnsAnswer.Failure f) {
                out.add(new Check("dmarc.record", domain, Status.WARN, "DNS lookup of TXT " + name + " failed: " + f.message(), "check again later"));
                return;
            }
            if (a instanceof DnsAnswer.Records r) {
                for (Record rec : r.records()) {
                    if (rec instanceof TXTRecord txt) {
                        String text = String.join("", txt.getStrings());
                        if (text.toLowerCase(Locale.ROOT).startsWith("v=dmarc1")) {
                            Map<String, String> tags = tags(text);
                            String found = "at " + name + (name.endsWith(org) && !org.equals(domain) && name.equals("_dmarc." + org)
                                    ? " (organizational domain)" : "")
                                    + ": p=" + tags.getOrDefault("p", "?")
                                    + (tags.containsKey("sp") ? " sp=" + tags.get("sp") : "")
                                    + " aspf=" + tags.getOrDefault("aspf", "r") + " adkim=" + tags.getOrDefault("adkim", "r");
                            out.add(new Check("dmarc.record", domain, Status.PASS, found, ""));
                            return;
                        }
                    }
                }
            }
        }
        out.add(new Check("dmarc.record", domain, Status.WARN, "no DMARC record at " + String.join(" or ", names),
                "publish TXT at _dmarc." + org + ": \"v=DMARC1; p=none; rua=mailto:dmarc@" + org
                        + "\" (Gmail requires DMARC from bulk senders)"));
    }

    private static Map<String, String> tags(String record) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String part : record.split(";")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                out.put(part.substring(0, eq).strip().toLowerCase(Locale.ROOT), part.substring(eq + 1).strip());
            }
        }
        return out;
    }

    // ----------------------------------------------------------------- host

    private void hostname(List<Check> out) {
        String h = config.hostname().toLowerCase(Locale.ROOT);
        if (!h.contains(".") || h.equals("localhost") || h.endsWith(".localdomain") || h.endsWith(".local")) {
            out.add(new Check("hostname.fqdn", h, Status.FAIL, "\"" + h + "\" is not a public fully qualified domain name; receivers refuse such a HELO",
                    "set returnpath.hostname to the name the outbound IP's PTR record gives"));
            return;
        }
        out.add(new Check("hostname.fqdn", h, Status.PASS, "fully qualified", ""));
        List<InetAddress> addrs = addresses(h);
        if (addrs.isEmpty()) {
            out.add(new Check("hostname.resolves", h, Status.FAIL, h + " has no A or AAAA record", "publish an A record for " + h + " pointing at the outbound IP"));
        } else {
            out.add(new Check("hostname.resolves", h, Status.PASS, h + " resolves to "
                    + String.join(", ", addrs.stream().map(InetAddress::getHostAddress).toList()), ""));
        }
    }

    private void ptr(InetAddress ip, List<Check> out) {
        String subject = ip.getHostAddress();
        DnsAnswer a = dns.lookup(ReverseMap.fromAddress(ip).toString(), Type.PTR);
        if (a instanceof DnsAnswer.Failure f) {
            out.add(new Check("ptr.record", subject, Status.WARN, "PTR lookup failed: " + f.message(), "check again later"));
            return;
        }
        if (!(a instanceof DnsAnswer.Records r)) {
            out.add(new Check("ptr.record", subject, Status.FAIL, "no PTR record (Gmail answers 4.7.23 / 5.7.25)",
                    "ask the owner of " + subject + " (your provider) for a PTR record naming " + config.hostname()));
            return;
        }
        List<String> names = r.records().stream().filter(x -> x instanceof PTRRecord)
                .map(x -> stripDot(((PTRRecord) x).getTarget().toString())).toList();
        out.add(new Check("ptr.record", subject, Status.PASS, "PTR " + String.join(", ", names), ""));
        String confirmed = null;
        for (String name : names) {
            if (addresses(name).contains(ip)) {
                confirmed = name;
                break;
            }
        }
        if (confirmed == null) {
            out.add(new Check("ptr.fcrdns", subject, Status.FAIL, "PTR name " + String.join(", ", names) + " does not resolve back to " + subject,
                    "publish an A/AAAA record for " + names.get(0) + " pointing at " + subject));
            return;
        }
        out.add(new Check("ptr.fcrdns", subject, Status.PASS, confirmed + " resolves back to " + subject, ""));
        if (confirmed.equalsIgnoreCase(config.hostname())) {
            out.add(new Check("ptr.hostname", subject, Status.PASS, "PTR name equals hostname " + config.hostname(), ""));
        } else {
            out.add(new Check("ptr.hostname", subject, Status.WARN, "PTR name " + confirmed + " differs from hostname " + config.hostname(),
                    "set returnpath.hostname = \"" + confirmed + "\" so that HELO matches the PTR"));
        }
    }

    private List<InetAddress> addresses(String name) {
        List<InetAddress> out = new ArrayList<>();
        for (int type : new int[] {Type.A, Type.AAAA}) {
            if (dns.lookup(name, type) instanceof DnsAnswer.Records r) {
                for (Record rec : r.records()) {
                    if (rec instanceof ARecord ar) {
                        out.add(ar.getAddress());
                    } else if (rec instanceof AAAARecord aaaa) {
                        out.add(aaaa.getAddress());
                    }
                }
            }
        }
        return out;
    }

    private static String stripDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    // ----------------------------------------------------------------- routes

    /**
     * A route is chosen by the envelope sender that leaves: the return-path the relay writes.
     * A route none of whose {@code sender-domains} holds such a return-path takes only mail whose
     * sender is kept as it is, which is seldom what was meant (the From domain listed, while the
     * return-path is at the organizational domain): a WARN naming the return-paths there are.
     */
    private void routeDomains(List<Check> out) {
        java.util.Set<String> written = new java.util.TreeSet<>();
        for (DomainPolicy d : config.domains().values()) {
            written.add(RelayConfig.asciiDomain(d.template().domain()).orElse(d.template().domain()));
        }
        for (dev.returnpath.config.Rule rule : config.rules()) {
            if (rule.action() instanceof dev.returnpath.config.Rule.Action.SetReturnPath set) {
                written.add(RelayConfig.asciiDomain(set.returnPath().domain()).orElse(set.returnPath().domain()));
            }
        }
        for (RelayConfig.Route r : config.delivery().routes()) {
            List<String> held = written.stream().filter(r::holds).toList();
            String subject = "route " + r.name();
            if (!held.isEmpty()) {
                out.add(new Check("route.sender-domains", subject, Status.PASS,
                        "takes the mail whose return-path is in " + String.join(", ", held), ""));
            } else {
                out.add(new Check("route.sender-domains", subject, Status.WARN, "no return-path the relay writes is in "
                        + String.join(", ", r.senderDomains()) + " (they are in " + (written.isEmpty() ? "no domain"
                        : String.join(", ", written)) + "): only mail whose envelope sender is kept takes this route",
                        "routes choose by the return-path's domain, not the From domain: list that domain in the "
                                + "route's sender-domains, or give a domain a return-path in it"));
            }
        }
    }

    // ----------------------------------------------------------------- upstream

    /**
     * The default route's upstream (the smarthost, or the MX of {@code --to-domain}), then each
     * route's: its smarthost, or the MX check once more when the route is direct and the default
     * is not (the default's check covers a direct route otherwise: both use {@code delivery.direct}).
     */
    private void upstream(List<Check> out) {
        boolean direct = config.delivery().mode() == RelayConfig.DeliveryMode.DIRECT;
        if (direct) {
            directUpstream(out, "");
        } else {
            RelayConfig.Smarthost sm = config.delivery().smarthost();
            String subject = sm.endpoint().map(Object::toString).orElse(":" + sm.port()); // [v6]:port
            report(out, subject, false, java.util.Optional.empty(), upstream.probe(config, sm));
        }
        for (RelayConfig.Route r : config.delivery().routes()) {
            String route = " (route " + r.name() + ")";
            switch (r.mode()) {
                case SMARTHOST -> {
                    RelayConfig.Smarthost sm = r.smarthost().orElseThrow();
                    report(out, sm.endpoint().map(Object::toString).orElse("") + route, false,
                            java.util.Optional.of(r.name()), upstream.probe(config, sm));
                }
                case DIRECT -> {
                    if (!direct) {
                        directUpstream(out, route);
                    }
                }
            }
        }
    }

    private void directUpstream(List<Check> out, String route) {
        if (toDomain.isEmpty()) {
            out.add(new Check("upstream.connect", "direct" + route, Status.WARN, "direct delivery: no recipient domain given, no MX checked",
                    "run doctor --to-domain gmail.com (or a domain you send to) to check its MX from here"));
            return;
        }
        report(out, "MX of " + toDomain.get() + route, true, java.util.Optional.empty(),
                new dev.returnpath.delivery.DirectDelivery(config, dns).probe(toDomain.get()));
    }

    /** The probe's steps as checks of {@code subject}; {@code route}: the route whose smarthost it is. */
    private void report(List<Check> out, String subject, boolean direct, java.util.Optional<String> route,
                        List<UpstreamProbe.Step> steps) {
        String keys = route.map(n -> "the smarthost of route \"" + n + "\" (delivery.routes)").orElse("delivery.smarthost");
        boolean xoauth2 = steps.stream().anyMatch(st -> st.step().equals("oauth")); // only an xoauth2 smarthost has a token step
        for (UpstreamProbe.Step s : steps) {
            String check = "upstream." + s.step();
            switch (s.verdict()) {
                case OK -> out.add(new Check(check, subject, Status.PASS, s.found(), ""));
                case WARN -> out.add(new Check(check, subject, Status.WARN, s.found(), direct
                        ? "nothing to do on this side: the receiver's TLS is its own"
                        : "use tls = starttls or implicit unless the network to the smarthost is private"));
                case SKIPPED -> out.add(new Check(check, subject, Status.WARN, "not checked: " + s.found(), ""));
                case FAILED -> out.add(new Check(check, subject, Status.FAIL, s.found(), switch (s.step()) {
                    case "connect" -> direct ? directConnectFix(toDomain.get(), s.found())
                            : route.isEmpty() ? "check delivery.smarthost.host and port, and that the relay can reach it"
                            : "check the host and port of " + keys + ", and that the relay can reach it";
                    case "tls" -> "the smarthost must offer STARTTLS with a certificate for its name, trusted by the JDK "
                            + (route.isEmpty() ? "or by delivery.smarthost.ca-file" : "or by the ca-file of " + keys);
                    case "oauth" -> "check the oauth block of " + keys + " (tenant, client-id, client-secret or the service"
                            + " account key file) and that the relay reaches the token endpoint; docs/oauth.md";
                    case "auth" -> xoauth2
                            ? "the token was issued but the server refused it: check the app's SMTP permission, the"
                            + " mailbox permission and that SMTP AUTH is on for the mailbox (Microsoft 365), or the"
                            + " domain-wide delegation (Google); docs/oauth.md"
                            : route.isEmpty() ? "check RETURNPATH_SMARTHOST_USERNAME and RETURNPATH_SMARTHOST_PASSWORD"
                            : "check the username and password (or password-file) of " + keys;
                    default -> "";
                }));
            }
        }
    }

    /**
     * The fix for a direct-delivery probe that reached no server. Only a connection that failed
     * is about the outgoing port: a domain that refuses mail (null MX), does not exist or whose
     * MX lookup failed never got as far as a connection, so no port can be the cause.
     */
    private String directConnectFix(String domain, String found) {
        if (found.startsWith("550 5.1.10")) {
            return domain + " publishes a null MX (RFC 7505): it receives no mail from anyone; give doctor a domain"
                    + " you send to (--to-domain, or doctor.to-domain)";
        }
        if (found.startsWith("550 5.1.2")) {
            return "check the spelling of " + domain + " (--to-domain, or doctor.to-domain): it does not exist in DNS";
        }
        if (found.startsWith("451 4.4.3")) {
            return "check dns.servers and that they answer from here, then run doctor again";
        }
        int port = config.delivery().direct().port();
        return "check that outgoing port " + port + " is open from here"
                + (port == 25 ? " (many clouds block port 25: use a smarthost then)" : " (delivery.direct.port)");
    }

    /** The worst status in {@code checks}. */
    public static Status worst(List<Check> checks) {
        Status w = Status.PASS;
        for (Check c : checks) {
            if (c.status().ordinal() > w.ordinal()) {
                w = c.status();
            }
        }
        return w;
    }

    public static String text(List<Check> checks) {
        StringBuilder b = new StringBuilder();
        for (Check c : checks) {
            b.append(String.format(Locale.ROOT, "%-4s  %-20s %s: %s%n", c.status(), c.check(), c.subject(), c.found()));
            if (!c.fix().isEmpty()) {
                b.append("      fix: ").append(c.fix()).append(System.lineSeparator());
            }
        }
        return b.toString();
    }

    public static String json(List<Check> checks) {
        StringBuilder b = new StringBuilder("{\"checks\":[");
        for (int i = 0; i < checks.size(); i++) {
            Check c = checks.get(i);
            b.append(i == 0 ? "" : ",").append("{\"check\":").append(Json.quote(c.check()))
                    .append(",\"subject\":").append(Json.quote(c.subject()))
                    .append(",\"status\":").append(Json.quote(c.status().name()))
                    .append(",\"found\":").append(Json.quote(c.found()))
                    .append(",\"fix\":").append(Json.quote(c.fix())).append('}');
        }
        Status w = worst(checks);
        return b.append("],\"status\":").append(Json.quote(w.name())).append('}').toString();
    }
}
