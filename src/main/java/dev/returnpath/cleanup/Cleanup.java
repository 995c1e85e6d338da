package dev.returnpath.cleanup;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.dkim.DkimKey;
import dev.returnpath.dkim.DkimSigner;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.inbound.ReceivedMessage;
import dev.returnpath.inbound.Receiver;
import dev.returnpath.inbound.Refusal;
import dev.returnpath.message.FromHeader;
import dev.returnpath.message.HeaderBlock;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import dev.returnpath.rewrite.HeaderEdits;
import dev.returnpath.rewrite.RewriteDecision;
import dev.returnpath.rewrite.RewriteInput;
import dev.returnpath.rewrite.Rewriter;
import dev.returnpath.spf.GuardVerdict;
import dev.returnpath.spf.SpfGuard;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The cleanup stage: turns a {@link ReceivedMessage} into the {@link PreparedMessage} that
 * leaves, as Postfix's cleanup does. In order: the listener's verdicts on DATA (size, header
 * size, bare CR/LF), the hop count, the rewrite decision ({@link Rewriter}, pure), the SPF guard
 * for the envelope sender that will be sent, the arrival log line, and the outgoing header
 * block ({@link #plan}): our Received line on top, the rules' header edits, the app's
 * Return-Path removed; then, last, the DKIM signatures over exactly those bytes
 * ({@link #sign}). It is the one place that decides what leaves.
 *
 * <p>Refuses with a {@link Refusal} (and a {@code status=rejected} line and metric); never
 * writes to the spool and never connects upstream.
 */
public final class Cleanup {
    /**
     * Received fields a message may carry when it arrives (Postfix's {@code hopcount_limit}):
     * more means a mail loop, refused with 554 5.4.6 (RFC 5321 §6.3).
     */
    public static final int HOP_LIMIT = 50;

    private final Function<RelayConfig, SpfGuard> guards;
    private final Metrics metrics;
    private final Clock clock;

    public Cleanup(Function<RelayConfig, SpfGuard> guards, Metrics metrics, Clock clock) {
        this.guards = guards;
        this.metrics = metrics;
        this.clock = clock;
    }

    /**
     * What leaves for one message, decided without I/O: the rewrite decision, the reverse path
     * that will be sent, and the header block (our Received line first). {@code rewrite-test}
     * shows this; {@link #prepare} sends it.
     *
     * @param reversePath the client's reverse path ({@code ""} for the null sender)
     */
    public record Plan(RewriteDecision decision, Optional<String> reversePath, HeaderBlock headers,
                       byte[] receivedLine, boolean returnPathRemoved, List<String> headersAdded) {

        /** Our Received line followed by the header block: the header section that leaves. */
        public byte[] outgoingHeader() {
            byte[] fields = headers.toBytes();
            ByteArrayOutputStream out = new ByteArrayOutputStream(receivedLine.length + fields.length);
            out.writeBytes(receivedLine);
            out.writeBytes(fields);
            return out.toByteArray();
        }
    }

    /** The pure part of cleanup; {@code id} and {@code now} go into our Received line. */
    public static Plan plan(RelayConfig cfg, String id, InetAddress client, String helo, String reversePath,
                            List<String> forwardPaths, HeaderBlock received, ZonedDateTime now) {
        return plan(cfg, id, client, helo, reversePath, forwardPaths, received, now, Optional.empty());
    }

    /** With the name the client authenticated as, for the rules' {@code match.auth-user}. */
    public static Plan plan(RelayConfig cfg, String id, InetAddress client, String helo, String reversePath,
                            List<String> forwardPaths, HeaderBlock received, ZonedDateTime now, Optional<String> authUser) {
        RewriteDecision decision = Rewriter.decide(new RewriteInput(reversePath, forwardPaths, client, received, authUser), cfg);
        HeaderBlock headers;
        Optional<String> sent;
        switch (decision) {
            case RewriteDecision.Rewrite rw -> {
                sent = Optional.of(rw.reversePath());
                headers = rw.headers().headers();
            }
            case RewriteDecision.Keep k -> {
                sent = Optional.of(reversePath);
                headers = k.headers().headers();
            }
            case RewriteDecision.Reject rj -> {
                sent = Optional.empty();
                headers = received;
            }
        }
        // The app's Return-Path is removed: the receiving MTA writes the real one (RFC 5321 §4.4).
        boolean hadReturnPath = !headers.all("Return-Path").isEmpty();
        HeaderBlock out = hadReturnPath ? headers.without(f -> f.is("Return-Path")) : headers;
        // Date and Message-ID where the app left them out (Gmail refuses mail without a
        // Message-ID); before signing, so that they are signed. Present fields stay as they are.
        List<String> added = List.of();
        if (!(decision instanceof RewriteDecision.Reject)) {
            MissingHeaders.Completed c = MissingHeaders.complete(out, id, cfg.hostname(), now);
            out = c.headers();
            added = c.added();
        }
        byte[] line = ReceivedHeader.build(helo, client, cfg.hostname(), id, reversePath, forwardPaths, now);
        return new Plan(decision, sent, out, line, hadReturnPath, added);
    }

    /** Runs cleanup on {@code m}: the prepared message, or the refusal the client gets. */
    public PreparedMessage prepare(ReceivedMessage m) throws Refusal {
        RelayConfig cfg = m.config();
        String id = m.id();
        ReceivedMessage.Data data = m.data();
        MailEvent.Arrival arrival = MailEvent.Arrival.of(id, m.clientAddress(), m.helo(), m.reversePath(), m.authUser());
        if (data.tooBig()) {
            reject("size", arrival.withSize(data.size()), 552, "5.3.4", "Message size exceeds fixed limit of "
                    + cfg.listen().maxMessageSize() + " bytes");
        }
        if (data.headerTooBig()) {
            reject("header-size", arrival, 552, "5.3.4", "Message header exceeds fixed limit of "
                    + Receiver.MAX_HEADER_BYTES + " bytes");
        }
        if (data.bareNewline() && cfg.listen().bareNewline() == RelayConfig.BareNewline.REJECT) {
            reject("bare-newline", arrival, 550, "5.5.2",
                    "Message contains bare CR or LF: line ends must be CRLF (RFC 5321 section 2.3.8)");
        }
        HeaderBlock received = HeaderBlock.parse(data.header());
        int hops = received.all("Received").size();
        if (hops > HOP_LIMIT) {
            reject("hops", arrival, 554, "5.4.6", "Too many hops: the message has " + hops
                    + " Received header fields (limit " + HOP_LIMIT + "); a mail loop?");
        }
        FromHeader from = FromHeader.of(received);
        Plan plan = plan(cfg, id, m.client(), m.helo(), m.reversePath(), m.forwardPaths(), received, now(), m.authUser());
        RewriteDecision decision = plan.decision();
        metrics.rewrite(decision.rule());
        if (decision instanceof RewriteDecision.Reject rj) {
            reject(decision.rule(), arrival.withRewrite(MailEvent.Rewritten.rejectedBy(from.firstAddress(), decision.rule())),
                    rj.code(), rj.enhanced(), rj.text());
        }
        for (RewriteDecision.Fallback f : decision.trace().fallbacks()) {
            MailLog.log(new MailEvent.TemplateFallback(id, f.fallback(), f.attempted(), f.problem()));
        }
        String reversePath = plan.reversePath().orElseThrow();
        arrival = arrival.withRewrite(rewritten(decision, reversePath, from));
        arrival = spfGuard(cfg, reversePath, arrival, data.size(), m.forwardPaths().size());
        arrival = arrival.withSize(data.size()).withNrcpt(m.forwardPaths().size()).withHeadersAdded(plan.headersAdded());
        byte[] header = plan.outgoingHeader();
        Signed signed = sign(cfg, plan.headers(), data, arrival);
        arrival = signed.labels().isEmpty() ? arrival.withoutDkim(signed.reason()) : arrival.withDkim(String.join(",", signed.labels()));
        MailLog.log(arrival);

        OutboundMessage message = OutboundMessage.of(concat(signed.fields(), header), data.bytes(), data.bodyOffset(),
                data.size());
        return new PreparedMessage(m, new Envelope(id, reversePath, m.forwardPaths()), message, plan.headers(), arrival);
    }

    /**
     * The SPF guard: {@code check_host} for the envelope sender that will be sent, from every
     * {@code spf.outbound-ips} address. Only pass is good; otherwise {@code spf.on-fail} decides,
     * and a temperror is always 451 4.4.3. Returns the arrival with its {@code spf=} part.
     */
    private MailEvent.Arrival spfGuard(RelayConfig cfg, String reversePath, MailEvent.Arrival arrival, long size,
                                       int nrcpt) throws Refusal {
        RelayConfig.Spf spf = cfg.spf();
        if (spf.onFail() == RelayConfig.OnFail.OFF || spf.outboundIps().isEmpty()) {
            return arrival.withSpf(MailEvent.Spf.OFF);
        }
        GuardVerdict v = guards.apply(cfg).check(spf.outboundIps(), reversePath, cfg.hostname());
        metrics.spf(v.result().wireName());
        InetAddress ip = switch (v) {
            case GuardVerdict.Pass p -> spf.outboundIps().get(0);
            case GuardVerdict.NotPass n -> n.ip();
            case GuardVerdict.TempError te -> te.ip();
        };
        MailEvent.Arrival withSpf = arrival.withSpf(new MailEvent.Spf(v.result().wireName(), Optional.of(ip.getHostAddress())));
        MailEvent.Arrival line = withSpf.withSize(size).withNrcpt(nrcpt);
        switch (v) {
            case GuardVerdict.Pass p -> {
            }
            case GuardVerdict.TempError te -> reject("spf-temperror", line, 451, "4.4.3", te.text());
            case GuardVerdict.NotPass n -> {
                switch (spf.onFail()) {
                    case TEMPFAIL -> reject("spf", line, 451, "4.7.26", n.advice());
                    case REJECT -> reject("spf", line, 550, "5.7.26", n.advice());
                    case WARN -> MailLog.log(new MailEvent.SpfWarned(arrival.id(), n.advice()));
                    case OFF -> {
                    }
                }
            }
        }
        return withSpf;
    }

    /** The signature fields to put on top, the {@code s.d} of each, or why there are none. */
    private record Signed(byte[] fields, List<String> labels, String reason) {
        static Signed none(String reason) {
            return new Signed(new byte[0], List.of(), reason);
        }
    }

    /**
     * DKIM, the last step: signs {@code fields} (the header block exactly as it leaves below our
     * Received line, which is not among the signed fields) and the body as it was received, with every key of the
     * domain the outgoing From is in ({@code d=} is that configured domain, so the signature
     * aligns with From, also after a rule aligned From). The body hash is computed once,
     * read in blocks (never the whole of a large body), for all the keys. A message with several From fields is not
     * signed: DMARC would not know which author the signature vouches for (RFC 7489 §6.6.1).
     * An I/O error reading a scratch file is 451 4.3.0.
     */
    private Signed sign(RelayConfig cfg, HeaderBlock fields, ReceivedMessage.Data data,
                        MailEvent.Arrival arrival) throws Refusal {
        FromHeader from = FromHeader.of(fields);
        if (fields.all("From").size() > 1) {
            return Signed.none("several From fields");
        }
        if (from.domain().isEmpty()) {
            return Signed.none(from.problem());
        }
        Optional<RelayConfig.DomainPolicy> policy = RelayConfig.lookup(cfg.domains(), from.domain().get());
        if (policy.isEmpty() || policy.get().dkim().isEmpty()) {
            return Signed.none("no DKIM key for " + from.domain().get());
        }
        List<DkimKey> keys = policy.get().dkim();
        byte[] bodyHash;
        try {
            bodyHash = DkimSigner.bodyHash(data.bytes(), bodyStart(data), data.size());
        } catch (java.io.IOException e) {
            reject("dkim", arrival, 451, "4.3.0", "Cannot read the message to sign it");
            throw new IllegalStateException("unreachable");
        }
        long t = clock.instant().getEpochSecond();
        ByteArrayOutputStream out = new ByteArrayOutputStream(keys.size() * 600);
        List<String> labels = new java.util.ArrayList<>(keys.size());
        for (DkimKey k : keys) {
            out.writeBytes(DkimSigner.sign(k, fields, bodyHash, t));
            labels.add(k.label());
            metrics.dkimSignature(k.domain(), k.selector());
        }
        return new Signed(out.toByteArray(), List.copyOf(labels), "");
    }

    /** Where the body starts: after the empty line at {@code bodyOffset}, if there is one. */
    private static long bodyStart(ReceivedMessage.Data data) throws java.io.IOException {
        long at = data.bodyOffset();
        if (data.size() - at < 1) {
            return data.size();
        }
        java.nio.ByteBuffer two = java.nio.ByteBuffer.allocate((int) Math.min(2, data.size() - at));
        data.bytes().read(two, at);
        byte first = two.get(0);
        if (first == '\n') {
            return at + 1;
        }
        return two.limit() == 2 && first == '\r' && two.get(1) == '\n' ? at + 2 : at;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        if (a.length == 0) {
            return b;
        }
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The rewrite part of the arrival line: the return path, and the header edits a rule made. */
    private static MailEvent.Rewritten rewritten(RewriteDecision d, String reversePath, FromHeader from) {
        HeaderEdits e = switch (d) {
            case RewriteDecision.Rewrite rw -> rw.headers();
            case RewriteDecision.Keep k -> k.headers();
            case RewriteDecision.Reject rj -> throw new IllegalStateException("a rejected message has no edits");
        };
        Optional<String> newFrom = Optional.empty();
        boolean replyTo = false;
        Map<String, Long> stripped = new LinkedHashMap<>();
        if (e.changed()) {
            newFrom = e.from().map(f -> FromHeader.of(e.headers()).firstAddress());
            replyTo = e.replyTo().isPresent();
            for (String n : e.stripped()) {
                stripped.merge(n, 1L, Long::sum);
            }
        }
        return new MailEvent.Rewritten(Optional.of(reversePath), from.firstAddress(), d.rule(), newFrom, replyTo, stripped);
    }

    private void reject(String reason, MailEvent.Arrival arrival, int code, String enhanced, String text)
            throws Refusal {
        metrics.message("rejected", reason);
        MailLog.log(new MailEvent.Rejected(arrival, code, enhanced, text));
        throw new Refusal(code, enhanced, text);
    }

    private ZonedDateTime now() {
        return ZonedDateTime.now(clock);
    }
}
