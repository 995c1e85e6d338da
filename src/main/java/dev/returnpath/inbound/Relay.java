package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Delivery;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.delivery.Reply;
import dev.returnpath.message.FromHeader;
import dev.returnpath.message.HeaderBlock;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import dev.returnpath.ops.RejectionHints;
import dev.returnpath.queue.QueueEntry;
import dev.returnpath.queue.QueueRunner;
import dev.returnpath.rewrite.HeaderEdits;
import dev.returnpath.rewrite.RewriteDecision;
import dev.returnpath.rewrite.RewriteInput;
import dev.returnpath.rewrite.Rewriter;
import dev.returnpath.spf.GuardVerdict;
import dev.returnpath.spf.SpfGuard;
import org.subethamail.smtp.RejectException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The pipeline after DATA: spool file, header parse, rewrite, then either delivery
 * (passthrough) or the durable spool (spool mode), and the reply the app sees (README,
 * "Replies the app sees").
 *
 * <p>Passthrough: the app is answered only after the upstream answered: 250 only when every
 * recipient was accepted upstream, or when the ones that failed got a DSN. Nothing is ever
 * answered 250 that is not delivered upstream.
 *
 * <p>Spool: the app gets {@code 250 ... queued as ID} once the message and its envelope are on
 * disk and fsync'ed ({@link QueueRunner#enqueue}); {@code 452 4.3.1} when they cannot be.
 */
public final class Relay {
    private final Function<RelayConfig, Delivery> deliveries;
    private final Function<RelayConfig, SpfGuard> guards;
    private final Metrics metrics;
    private final Clock clock;
    private final QueueId ids;
    private final Optional<QueueRunner> queue;
    private final ScratchFiles scratch = new ScratchFiles();

    /**
     * @param deliveries the delivery for a given configuration (the same instance for the same
     *                   configuration, so that connections are reused)
     */
    public Relay(Function<RelayConfig, Delivery> deliveries, Function<RelayConfig, SpfGuard> guards, Metrics metrics,
                 Clock clock) {
        this(deliveries, guards, metrics, clock, new QueueId(), Optional.empty());
    }

    /**
     * @param ids   the queue IDs, shared with the queue runner's DSNs
     * @param queue present in spool mode: accepted messages go there instead of upstream. The
     *              mode is fixed at start (the spool is opened then); a reload does not change it
     */
    public Relay(Function<RelayConfig, Delivery> deliveries, Function<RelayConfig, SpfGuard> guards, Metrics metrics,
                 Clock clock, QueueId ids, Optional<QueueRunner> queue) {
        this.deliveries = deliveries;
        this.guards = guards;
        this.metrics = metrics;
        this.clock = clock;
        this.ids = ids;
        this.queue = queue;
    }

    /**
     * Receives the DATA of {@code t}, and relays it; returns the text of the 250 reply.
     *
     * @param data SubEtha's DATA stream
     * @param raw  the session's own input, positioned at the start of DATA, when it may be read
     *             in blocks instead ({@link DataReceiver#receiveRaw}); {@code data} is then only
     *             used to drain after a failure
     */
    String accept(Transaction t, InputStream data, Optional<InputStream> raw) throws RejectException {
        RelayConfig cfg = t.config;
        String id = ids.next();
        ScratchFiles.Scratch file = null;
        DataReceiver.Received r;
        try {
            file = scratch.borrow(cfg.queue().dir().resolve("incoming"));
            long max = cfg.listen().maxMessageSize();
            if (raw.isPresent()) {
                r = DataReceiver.receiveRaw(raw.get(), file.channel, max, cfg.listen().bareNewline(), false);
                // SubEtha's stream reads the ".CRLF" left for it and ends: DATA is all read
                // before anything is judged (SubEtha drains it only after a 250, not after a reject)
                drain(data);
            } else {
                r = DataReceiver.receive(data, file.channel, max, cfg.listen().bareNewline(), false);
            }
        } catch (IOException e) {
            drain(data);
            if (file != null) {
                scratch.giveBack(file, 0, false);
            }
            MailLog.warn(id, "client=" + t.client.getHostAddress() + " status=deferred (cannot write the spool file: "
                    + e.getMessage() + ")");
            metrics.message("rejected", "storage");
            throw new RejectException(452, "4.3.1 Insufficient system storage");
        }
        try {
            return relay(t, id, file, r);
        } finally {
            scratch.giveBack(file, r.size(), true);
        }
    }

    private String relay(Transaction t, String id, ScratchFiles.Scratch file, DataReceiver.Received r) throws RejectException {
        RelayConfig cfg = t.config;
        String arrival = "client=" + t.client.getHostAddress() + " helo=" + MailLog.printable(t.helo)
                + " from=" + MailLog.angle(t.reversePath);
        if (r.tooBig()) {
            reject(id, "size", arrival + " size=" + r.size(), 552, "5.3.4", "Message size exceeds fixed limit of "
                    + cfg.listen().maxMessageSize() + " bytes");
        }
        if (r.headerTooBig()) {
            reject(id, "header-size", arrival, 552, "5.3.4", "Message header exceeds fixed limit of "
                    + DataReceiver.MAX_HEADER_BYTES + " bytes");
        }
        if (r.bareNewline() && cfg.listen().bareNewline() == RelayConfig.BareNewline.REJECT) {
            reject(id, "bare-newline", arrival, 550, "5.5.2", "Message contains bare CR or LF: line ends must be CRLF (RFC 5321 section 2.3.8)");
        }

        HeaderBlock received = HeaderBlock.parse(r.headerBytes());
        FromHeader from = FromHeader.of(received);
        RewriteDecision decision = Rewriter.decide(new RewriteInput(t.reversePath, t.forwardPaths, t.client, received), cfg);
        metrics.rewrite(decision.rule());
        HeaderBlock headers = received;
        String reversePath;
        switch (decision) {
            case RewriteDecision.Rewrite rw -> {
                reversePath = rw.reversePath();
                headers = rw.headers().headers();
            }
            case RewriteDecision.Keep k -> {
                reversePath = t.reversePath;
                headers = k.headers().headers();
            }
            case RewriteDecision.Reject rj -> {
                reject(id, decision.rule(), arrival + " header-from=" + MailLog.angle(from.firstAddress()) + " rule=" + decision.rule(),
                        rj.code(), rj.enhanced(), rj.text());
                throw new IllegalStateException("not reached");
            }
        }
        for (RewriteDecision.Fallback f : decision.trace().fallbacks()) {
            // key=value, with the address in <> so that log.format = json keeps it whole
            MailLog.warn(id, "template-fallback=" + MailLog.angle(f.fallback()) + " template-result="
                    + MailLog.angle(f.attempted()) + " (" + MailLog.printable(f.problem()) + ")");
        }
        arrival += " return-path=" + MailLog.angle(reversePath) + " header-from=" + MailLog.angle(from.firstAddress())
                + " rule=" + decision.rule() + headerEdits(decision);
        arrival += spfGuard(id, cfg, reversePath, arrival, r.size(), t.forwardPaths.size());
        arrival += " size=" + r.size() + " nrcpt=" + t.forwardPaths.size();
        MailLog.info(id, arrival);

        // The app's Return-Path is removed: the receiving MTA writes the real one (RFC 5321 §4.4).
        HeaderBlock out = headers.without(f -> f.is("Return-Path"));
        ByteArrayOutputStream head = new ByteArrayOutputStream(r.headerBytes().length + 256);
        head.writeBytes(ReceivedHeader.build(t.helo, t.client, cfg.hostname(), id, t.reversePath, t.forwardPaths, now()));
        head.writeBytes(out.toBytes());
        OutboundMessage message = OutboundMessage.ofOpenFile(head.toByteArray(), file.path, file.channel, r.bodyOffset(),
                r.size());
        Envelope envelope = new Envelope(id, reversePath, t.forwardPaths);
        if (queue.isPresent()) {
            return spool(queue.get(), t, envelope, message);
        }

        Delivery delivery = deliveries.apply(cfg);
        DeliveryOutcome outcome = delivery.deliver(envelope, message);
        metrics.upstreamSeconds(outcome.seconds());
        logOutcome(id, outcome, t);
        String reply;
        try {
            reply = answer(t, id, envelope, outcome, headers, delivery);
        } catch (RejectException e) {
            metrics.message(e.getCode() < 500 ? "deferred" : "bounced", "upstream");
            throw e;
        }
        metrics.message("relayed", outcome.allSent() ? "sent" : "partial");
        return reply;
    }

    /**
     * The SPF guard: {@code check_host} for the envelope sender that will be sent, from every
     * {@code spf.outbound-ips} address. Only pass is good; otherwise {@code spf.on-fail} decides,
     * and a temperror is always 451 4.4.3. Returns the log fields ({@code spf=... ip=...}).
     */
    private String spfGuard(String id, RelayConfig cfg, String reversePath, String arrival, long size, int nrcpt)
            throws RejectException {
        RelayConfig.Spf spf = cfg.spf();
        if (spf.onFail() == RelayConfig.OnFail.OFF || spf.outboundIps().isEmpty()) {
            return " spf=off";
        }
        GuardVerdict v = guards.apply(cfg).check(spf.outboundIps(), reversePath, cfg.hostname());
        metrics.spf(v.result().wireName());
        String fields = " spf=" + v.result().wireName() + " ip=" + switch (v) {
            case GuardVerdict.Pass p -> spf.outboundIps().get(0).getHostAddress();
            case GuardVerdict.NotPass n -> n.ip().getHostAddress();
            case GuardVerdict.TempError te -> te.ip().getHostAddress();
        };
        String line = arrival + fields + " size=" + size + " nrcpt=" + nrcpt;
        switch (v) {
            case GuardVerdict.Pass p -> {
            }
            case GuardVerdict.TempError te -> reject(id, "spf-temperror", line, 451, "4.4.3", te.text());
            case GuardVerdict.NotPass n -> {
                switch (spf.onFail()) {
                    case TEMPFAIL -> reject(id, "spf", line, 451, "4.7.26", n.advice());
                    case REJECT -> reject(id, "spf", line, 550, "5.7.26", n.advice());
                    case WARN -> MailLog.warn(id, "spf guard (on-fail = warn, relaying anyway): " + n.advice());
                    case OFF -> {
                    }
                }
            }
        }
        return fields;
    }

    /** The header edits a rule made, for the arrival line: new-header-from, reply-to, stripped. */
    private static String headerEdits(RewriteDecision d) {
        HeaderEdits e = switch (d) {
            case RewriteDecision.Rewrite rw -> rw.headers();
            case RewriteDecision.Keep k -> k.headers();
            case RewriteDecision.Reject rj -> null;
        };
        if (e == null || !e.changed()) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        e.from().ifPresent(f -> b.append(" new-header-from=")
                .append(MailLog.angle(FromHeader.of(e.headers()).firstAddress())));
        e.replyTo().ifPresent(r -> b.append(" reply-to=added"));
        if (!e.stripped().isEmpty()) {
            Map<String, Long> counts = e.stripped().stream()
                    .collect(Collectors.groupingBy(n -> n, LinkedHashMap::new, Collectors.counting()));
            b.append(" stripped=").append(counts.entrySet().stream().map(c -> c.getKey() + ":" + c.getValue())
                    .collect(Collectors.joining(",")));
        }
        return b.toString();
    }

    /**
     * Spool mode: commit, then 250. The message file written is exactly what goes upstream
     * (the relay's Received line and the app's header, then the body as received).
     */
    private String spool(QueueRunner runner, Transaction t, Envelope envelope, OutboundMessage message)
            throws RejectException {
        String id = envelope.id();
        List<QueueEntry.Recipient> rcpts = envelope.forwardPaths().stream()
                .map(r -> new QueueEntry.Recipient(r, QueueEntry.State.PENDING, "", "")).toList();
        QueueEntry entry = new QueueEntry(id, t.arrival.toInstant(), t.client.getHostAddress(), t.helo,
                t.reversePath, envelope.reversePath(), message.size(), 0, clock.instant(), false, rcpts);
        try {
            runner.enqueue(entry, message);
        } catch (IOException e) {
            MailLog.warn(id, "status=deferred (cannot write to the spool: " + e + ")");
            metrics.message("rejected", "storage");
            throw new RejectException(452, "4.3.1 Insufficient system storage");
        }
        MailLog.info(id, "status=queued nrcpt=" + rcpts.size());
        metrics.message("queued", "spool");
        return "2.0.0 Ok: queued as " + id;
    }

    /** Maps the per-recipient outcome to the one reply the app gets. */
    private String answer(Transaction t, String id, Envelope envelope, DeliveryOutcome outcome, HeaderBlock headers,
                          Delivery delivery) throws RejectException {
        if (outcome.allSent()) {
            return "2.0.0 Ok: relayed as " + id;
        }
        List<RecipientOutcome> failed = outcome.recipients().stream().filter(o -> o.status() != Status.SENT).toList();
        if (outcome.noneSent()) {
            RecipientOutcome first = failed.stream().filter(o -> o.status() == Status.DEFERRED).findFirst()
                    .orElse(failed.get(0));
            Reply up = first.reply();
            String text = first.upstreamSaid() ? upstreamText(outcome.relayOf(first), up) : up.text();
            if (first.status() == Status.DEFERRED) {
                String enh = up.enhanced().startsWith("4.") ? up.enhanced() : "4.4.0";
                throw new RejectException(451, enh + " " + text);
            }
            throw new RejectException(up.code(), up.enhancedOrDefault() + " " + text);
        }
        // Some recipients have it, the others must not be lost: a DSN to the envelope sender.
        sendDsn(t, id, envelope, outcome, failed, headers, delivery);
        return "2.0.0 Ok: relayed as " + id + " (" + failed.size() + " of " + envelope.forwardPaths().size()
                + " recipients failed, DSN " + (envelope.reversePath().isEmpty() ? "not sent for the null sender" : "sent") + ")";
    }

    private void sendDsn(Transaction t, String id, Envelope envelope, DeliveryOutcome outcome,
                         List<RecipientOutcome> failed, HeaderBlock headers, Delivery delivery) {
        if (envelope.reversePath().isEmpty()) {
            MailLog.warn(id, "no DSN for the null sender: " + failed.size() + " recipient(s) failed");
            return;
        }
        // In passthrough nothing is retried: a recipient deferred while others were delivered
        // is reported as failed, which is the only answer that loses nothing (README).
        List<Dsn.Report> reports = failed.stream()
                .map(r -> new Dsn.Report(r.recipient(), r.reply(), outcome.relayOf(r), "")).toList();
        byte[] dsn = Dsn.build(t.config.hostname(), id, envelope.reversePath(), Dsn.Action.FAILED, reports,
                headers.toBytes(), t.arrival, now(), Optional.empty());
        String dsnId = ids.next();
        Envelope dsnEnvelope = new Envelope(dsnId, "", List.of(envelope.reversePath()));
        MailLog.info(dsnId, "sender non-delivery notification: " + id);
        DeliveryOutcome o = delivery.deliver(dsnEnvelope, OutboundMessage.inMemory(dsn));
        logOutcome(dsnId, o, t);
    }

    private static String upstreamText(String relay, Reply up) {
        return relay + " said: " + up.code() + (up.enhanced().isEmpty() ? "" : " " + up.enhanced())
                + (up.text().isEmpty() ? "" : " " + up.text());
    }

    private void logOutcome(String id, DeliveryOutcome outcome, Transaction t) {
        double delay = (clock.millis() - t.arrival.toInstant().toEpochMilli()) / 1000.0;
        for (RecipientOutcome o : outcome.recipients()) {
            Reply reply = o.reply();
            var hint = o.upstreamSaid() ? RejectionHints.classify(reply.code(), reply.enhanced(), reply.text())
                    : java.util.Optional.<RejectionHints.Hint>empty();
            metrics.upstreamReply(o.upstreamSaid() ? reply.code() : 0,
                    hint.map(RejectionHints.Hint::cause).orElse(o.upstreamSaid() ? "" : "connection"));
            String line = "to=" + MailLog.angle(o.recipient()) + " relay=" + outcome.relayOf(o)
                    + " delay=" + String.format(Locale.ROOT, "%.2f", Math.max(delay, outcome.seconds()))
                    + " dsn=" + reply.enhancedOrDefault()
                    + " status=" + switch (o.status()) {
                        case SENT -> "sent";
                        case DEFERRED -> "deferred";
                        case BOUNCED -> "bounced";
                    } + " (" + reply + ")"
                    + hint.map(h -> " cause=" + h.cause() + " fix=\"" + h.fix() + "\"").orElse("");
            if (o.status() == Status.SENT) {
                MailLog.info(id, line);
            } else {
                MailLog.warn(id, line);
            }
        }
    }

    private void reject(String id, String reason, String arrival, int code, String enhanced, String text)
            throws RejectException {
        metrics.message("rejected", reason);
        MailLog.warn(id, arrival + " status=rejected (" + code + " " + enhanced + " " + text + ")");
        throw new RejectException(code, enhanced + " " + text);
    }

    private ZonedDateTime now() {
        return ZonedDateTime.now(clock);
    }

    private static void drain(InputStream in) {
        byte[] buf = new byte[1024]; // SubEtha's streams give a byte per call whatever the buffer
        try {
            while (in.read(buf) != -1) {
                // read to the end of DATA so that the body is not taken for commands
            }
        } catch (IOException ignored) {
            // the client is gone; SubEtha will notice
        }
    }

    /**
     * Passthrough start: removes what a relay that crashed left in {@code queue.dir/incoming}
     * (messages that were never answered 250). Returns how many files. Spool mode does the same
     * in {@code Spool.open}.
     */
    public static int removeIncomingLeftovers(Path queueDir) throws IOException {
        return ScratchFiles.removeLeftovers(queueDir.resolve("incoming"));
    }

    /** Deletes the idle scratch files; call after the listener stopped. */
    public void close() {
        scratch.close();
    }
}
