package dev.returnpath.delivery;

import dev.returnpath.config.Cidr;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.dns.Dns;
import dev.returnpath.dns.DnsAnswer;
import dev.returnpath.message.Addresses;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

import javax.net.ssl.SSLSocketFactory;
import java.net.IDN;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Delivery to the recipients' own mail servers ({@code delivery.mode = direct}), found in DNS.
 *
 * <p>Recipients are grouped by domain, and each domain is delivered on its own, at the same
 * time: one slow or failing domain does not hold the others back, and its outcome is its own.
 * For one domain (RFC 5321 §5.1):
 * <ul>
 *   <li>the MX records, in preference order, in random order among equal preferences;
 *   <li>a null MX (a single {@code MX 0 .}, RFC 7505) fails at once, permanently, with 5.1.10;
 *   <li>no MX record: the domain itself is the host (its A/AAAA records), the "implicit MX";
 *   <li>a domain that does not exist fails permanently (5.1.2); a DNS failure is temporary (4.4.3);
 *   <li>each host's IPv4 then IPv6 addresses are tried in turn, at most {@link #MAX_ADDRESSES}
 *       in all (Postfix's smtp_mx_address_limit); a connection failure, a refusing greeting or
 *       a 4xx moves on to the next address, and so do the recipients that one server deferred;
 *       a 2xx or 5xx for a recipient is final.
 * </ul>
 * The session is the engine's ({@link SmtpClient}): EHLO with {@code hostname}, STARTTLS per
 * {@code delivery.direct.tls}, on {@code delivery.direct.port}, one connection per attempt
 * (not pooled, so that equal-preference MX hosts share the load, RFC 5321 §5.1).
 */
public final class DirectDelivery implements Delivery {
    /** How many addresses (over all MX hosts) one domain's delivery tries. */
    static final int MAX_ADDRESSES = 5;

    private final Dns dns;
    private final RelayConfig.Direct direct;
    private final SSLSocketFactory verified;
    private final SmtpClient engine;
    private final boolean ownsEngine;
    // one virtual thread per domain of a message; holds nothing while idle, so it needs no close
    private final ExecutorService domains = Executors.newVirtualThreadPerTaskExecutor();
    private final Random random;

    public DirectDelivery(RelayConfig config, Dns dns) {
        this(config, dns, null, new Random());
    }

    /**
     * @param verified the TLS used with {@code tls = required}: the JDK's trust store when null;
     *                 tests pass one that trusts their own CA
     */
    DirectDelivery(RelayConfig config, Dns dns, SSLSocketFactory verified, Random random) {
        this(config, dns, verified, random, new SmtpClient(SmarthostDelivery.settings(config)), true);
    }

    DirectDelivery(RelayConfig config, Dns dns, SSLSocketFactory verified, Random random, SmtpClient engine,
                   boolean ownsEngine) {
        this.dns = dns;
        this.random = random;
        this.direct = config.delivery().direct();
        this.verified = verified == null ? Tls.jdk() : verified;
        this.engine = engine;
        this.ownsEngine = ownsEngine;
    }

    @Override
    public DeliveryOutcome deliver(Envelope envelope, OutboundMessage message) {
        long start = System.nanoTime();
        List<Router.Leg> legs = Router.byDomain(Router.DEFAULT_ROUTE, direct, envelope.forwardPaths());
        List<RecipientOutcome> all = Legs.deliver(legs, envelope, domains,
                leg -> deliverDomain((NextHop.Mx) leg.hop(), envelope.reversePath(), leg.forwardPaths(), message));
        String relay = all.isEmpty() ? "none" : all.get(0).relay();
        return new DeliveryOutcome(relay, all, (System.nanoTime() - start) / 1e9);
    }

    private static List<RecipientOutcome> deferredAll(List<String> rcpts, String why) {
        Reply r = Reply.of(451, "4.3.0", why);
        return rcpts.stream().map(x -> new RecipientOutcome(x, Status.DEFERRED, r, false, "none")).toList();
    }

    // ---------------------------------------------------------------- one domain

    /** Where to connect, or why not. */
    sealed interface Route {
        record Hosts(List<String> names) implements Route {}

        record Literal(InetAddress address) implements Route {}

        record Fail(Status status, Reply reply) implements Route {}
    }

    /** The recipients of one MX hop (one domain), in the order given. */
    List<RecipientOutcome> deliverDomain(NextHop.Mx hop, String reversePath, List<String> rcpts, OutboundMessage message) {
        String domain = hop.domain();
        Route route = route(domain);
        List<Target> targets = new ArrayList<>();
        Reply lookupTrouble = null;
        switch (route) {
            case Route.Fail f -> {
                return rcpts.stream().map(r -> new RecipientOutcome(r, f.status(), f.reply(), false, "none")).toList();
            }
            case Route.Literal l -> targets.add(new Target(l.address().getHostAddress(), l.address()));
            case Route.Hosts h -> {
                for (String host : h.names()) {
                    Found found = addresses(host);
                    targets.addAll(found.targets());
                    if (found.trouble() != null) {
                        lookupTrouble = found.trouble();
                    }
                    if (targets.size() >= MAX_ADDRESSES) {
                        break;
                    }
                }
            }
        }
        if (targets.isEmpty()) {
            Reply why = lookupTrouble != null ? lookupTrouble
                    : Reply.of(550, "5.4.4", "no address (A or AAAA) for the mail server(s) of " + domain);
            Status s = why.isPermanent() ? Status.BOUNCED : Status.DEFERRED;
            return rcpts.stream().map(r -> new RecipientOutcome(r, s, why, false, "none")).toList();
        }

        RecipientOutcome[] result = new RecipientOutcome[rcpts.size()];
        List<Integer> remaining = new ArrayList<>();
        for (int i = 0; i < rcpts.size(); i++) {
            remaining.add(i);
        }
        List<Target> tries = targets.subList(0, Math.min(MAX_ADDRESSES, targets.size()));
        for (int t = 0; t < tries.size() && !remaining.isEmpty(); t++) {
            Target target = tries.get(t);
            boolean last = t == tries.size() - 1;
            List<String> now = remaining.stream().map(rcpts::get).toList();
            SmtpConnection.Dial dial = dial(target);
            SmtpClient.Attempt r = engine.deliver(hop, dial, false, reversePath, now, message, true);
            if (r.tlsFailed() && direct.tls() == RelayConfig.DirectTls.OPPORTUNISTIC) {
                // opportunistic TLS that fails its handshake: the same server, in plain text
                r = engine.deliver(hop, dial, false, reversePath, now, message, false);
            }
            List<Integer> next = new ArrayList<>();
            for (int k = 0; k < now.size(); k++) {
                RecipientOutcome o = r.outcomes().get(k);
                int i = remaining.get(k);
                result[i] = o;
                boolean settled = o.status() == Status.SENT || o.status() == Status.BOUNCED && !(r.tryNext() && !last);
                if (!settled) {
                    next.add(i);
                }
            }
            remaining = next;
        }
        return List.of(result);
    }

    private record Target(String name, InetAddress address) {}

    private SmtpConnection.Dial dial(Target t) {
        String relay = t.name() + "[" + t.address().getHostAddress() + "]:" + direct.port();
        SmtpConnection.TlsMode tls = switch (direct.tls()) {
            case NONE -> SmtpConnection.TlsMode.NONE;
            case OPPORTUNISTIC -> SmtpConnection.TlsMode.OPPORTUNISTIC;
            case REQUIRED -> SmtpConnection.TlsMode.STARTTLS;
        };
        return new SmtpConnection.Dial(t.name(), t.address(), direct.port(), relay, relay, tls, verified, Optional.empty(), true);
    }

    /**
     * The doctor's check of direct delivery to {@code domain}, without sending mail: the MX route
     * (null MX, no address), then the first reachable address: greeting and EHLO, and STARTTLS
     * with a certificate that verifies against the JDK's trust store. With {@code tls =
     * opportunistic} an unverifiable certificate is a warning (it is still used, as MTAs do
     * without DANE or MTA-STS); with {@code required} it fails.
     */
    public List<UpstreamProbe.Step> probe(String domain) {
        List<UpstreamProbe.Step> out = new ArrayList<>();
        List<Target> targets = new ArrayList<>();
        switch (route(domain)) {
            case Route.Fail f -> {
                out.add(new UpstreamProbe.Step("connect", UpstreamProbe.Verdict.FAILED, f.reply().toString()));
                return out;
            }
            case Route.Literal l -> targets.add(new Target(l.address().getHostAddress(), l.address()));
            case Route.Hosts h -> {
                for (String host : h.names()) {
                    targets.addAll(addresses(host).targets());
                }
            }
        }
        if (targets.isEmpty()) {
            out.add(new UpstreamProbe.Step("connect", UpstreamProbe.Verdict.FAILED, "no address for the mail servers of " + domain));
            return out;
        }
        String failures = "";
        for (Target t : targets.subList(0, Math.min(MAX_ADDRESSES, targets.size()))) {
            SmtpConnection.Dial plain = dial(t);
            String where = plain.where();
            SmtpConnection c;
            try {
                c = engine.open(withTls(plain, SmtpConnection.TlsMode.NONE, plain.verified()), false);
            } catch (SmtpConnection.Refused r) {
                failures += (r.upstreamSaid ? where + " said " : "") + r.reply.text() + "; ";
                continue;
            }
            boolean starttls = c.offers("STARTTLS");
            c.quit();
            out.add(new UpstreamProbe.Step("connect", UpstreamProbe.Verdict.OK, where + " accepted EHLO"));
            boolean required = direct.tls() == RelayConfig.DirectTls.REQUIRED;
            if (direct.tls() == RelayConfig.DirectTls.NONE) {
                out.add(new UpstreamProbe.Step("tls", UpstreamProbe.Verdict.WARN, "delivery.direct.tls = none: mail crosses the network in clear"));
            } else if (!starttls) {
                out.add(new UpstreamProbe.Step("tls", required ? UpstreamProbe.Verdict.FAILED : UpstreamProbe.Verdict.WARN,
                        where + " does not offer STARTTLS"));
            } else {
                try {
                    // the certificate is checked as tls = required checks it, whatever the setting
                    engine.open(withTls(plain, SmtpConnection.TlsMode.STARTTLS, verified), true).quit();
                    out.add(new UpstreamProbe.Step("tls", UpstreamProbe.Verdict.OK, where + ": STARTTLS, certificate verified for " + t.name()));
                } catch (SmtpConnection.Refused r) {
                    out.add(new UpstreamProbe.Step("tls", required || !r.tlsFailed ? UpstreamProbe.Verdict.FAILED : UpstreamProbe.Verdict.WARN,
                            r.tlsFailed ? where + ": the certificate does not verify (" + r.reply.text() + ")"
                                    + (required ? "" : "; opportunistic TLS still uses it")
                                    : where + " refused STARTTLS: " + r.reply.text()));
                }
            }
            return out;
        }
        out.add(new UpstreamProbe.Step("connect", UpstreamProbe.Verdict.FAILED, "no mail server of " + domain + " answered: " + failures));
        return out;
    }

    private static SmtpConnection.Dial withTls(SmtpConnection.Dial d, SmtpConnection.TlsMode tls, SSLSocketFactory f) {
        return new SmtpConnection.Dial(d.host(), d.address(), d.port(), d.where(), d.relay(), tls, f, d.login(), d.mx());
    }

    // ---------------------------------------------------------------- DNS

    /** RFC 5321 §5.1 with RFC 7505: the hosts to try for {@code domain}, in order. */
    Route route(String domain) {
        if (domain.startsWith("[") && domain.endsWith("]")) {
            return literal(domain.substring(1, domain.length() - 1));
        }
        String ascii;
        try {
            ascii = IDN.toASCII(domain, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return new Route.Fail(Status.BOUNCED, Reply.of(550, "5.1.2", "\"" + domain + "\" is not a valid domain name"));
        }
        DnsAnswer mx = dns.lookup(ascii, Type.MX);
        return switch (mx) {
            case DnsAnswer.NxDomain n -> new Route.Fail(Status.BOUNCED,
                    Reply.of(550, "5.1.2", "domain " + ascii + " does not exist (DNS: NXDOMAIN)"));
            case DnsAnswer.NoData n -> new Route.Hosts(List.of(ascii)); // the implicit MX
            case DnsAnswer.Failure f -> new Route.Fail(Status.DEFERRED,
                    Reply.of(451, "4.4.3", "DNS lookup of the MX of " + ascii + " failed: " + f.message()));
            case DnsAnswer.Records r -> hosts(ascii, r.records());
        };
    }

    private Route hosts(String domain, List<Record> records) {
        TreeMap<Integer, List<String>> byPreference = new TreeMap<>();
        boolean nullMx = false;
        for (Record rec : records) {
            if (rec instanceof MXRecord mx) {
                if (mx.getTarget().equals(Name.root)) {
                    nullMx = true; // RFC 7505: "MX 0 ."
                    continue;
                }
                byPreference.computeIfAbsent(mx.getPriority(), k -> new ArrayList<>()).add(strip(mx.getTarget()));
            }
        }
        if (nullMx && byPreference.isEmpty()) {
            return new Route.Fail(Status.BOUNCED, Reply.of(550, "5.1.10",
                    "domain " + domain + " does not accept mail (null MX, RFC 7505)"));
        }
        if (byPreference.isEmpty()) {
            return new Route.Hosts(List.of(domain));
        }
        List<String> order = new ArrayList<>();
        for (List<String> same : byPreference.values()) {
            List<String> shuffled = new ArrayList<>(same);
            synchronized (random) {
                Collections.shuffle(shuffled, random); // RFC 5321 §5.1: spread the load among equals
            }
            order.addAll(shuffled);
        }
        return new Route.Hosts(order);
    }

    private static String strip(Name n) {
        String s = n.toString();
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private static Route literal(String text) {
        String t = text.regionMatches(true, 0, "IPv6:", 0, 5) ? text.substring(5) : text;
        if (!Cidr.isIpLiteral(t)) {
            return new Route.Fail(Status.BOUNCED, Reply.of(550, "5.1.2", "[" + text + "] is not an address literal"));
        }
        try {
            return new Route.Literal(InetAddress.getByName(t)); // a literal: no DNS query
        } catch (UnknownHostException e) {
            return new Route.Fail(Status.BOUNCED, Reply.of(550, "5.1.2", "[" + text + "] is not an address literal"));
        }
    }

    private record Found(List<Target> targets, Reply trouble) {}

    /** A host's IPv4 then IPv6 addresses; a lookup that failed is remembered, a missing one is not. */
    private Found addresses(String host) {
        List<Target> out = new ArrayList<>();
        Reply trouble = null;
        for (int type : new int[] {Type.A, Type.AAAA}) {
            switch (dns.lookup(host, type)) {
                case DnsAnswer.Records r -> {
                    for (Record rec : r.records()) {
                        Optional<InetAddress> a = rec instanceof ARecord ar ? Optional.of(ar.getAddress())
                                : rec instanceof AAAARecord aaaa ? Optional.of(aaaa.getAddress()) : Optional.empty();
                        a.ifPresent(x -> out.add(new Target(host, x)));
                    }
                }
                case DnsAnswer.Failure f -> trouble = Reply.of(451, "4.4.3",
                        "DNS lookup of " + Type.string(type) + " " + host + " failed: " + f.message());
                case DnsAnswer.NxDomain n -> {
                }
                case DnsAnswer.NoData n -> {
                }
            }
        }
        return new Found(out, trouble);
    }

    /**
     * Stops the engine when it is this delivery's own: sessions are not pooled, and each closes
     * its own connection. Messages still being delivered through this instance after a reload
     * replaced it finish normally.
     */
    @Override
    public void close() {
        if (ownsEngine) {
            engine.close();
        }
    }
}
