package dev.returnpath.handoff;

import dev.returnpath.cleanup.PreparedMessage;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Delivery;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.delivery.Reply;
import dev.returnpath.inbound.QueueId;
import dev.returnpath.inbound.Refusal;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import dev.returnpath.ops.RejectionHints;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Passthrough: the message is delivered while the client waits, and the upstream's verdict is
 * the client's reply (README, "Replies"). 250 only when every recipient was accepted upstream,
 * or when the ones that failed got a DSN to the envelope sender; otherwise the first failure
 * (a deferral first) becomes a 4xx or 5xx with the upstream's own text.
 */
public final class Passthrough implements Handoff {
    private final Function<RelayConfig, Delivery> deliveries;
    private final Metrics metrics;
    private final Clock clock;
    private final QueueId ids;

    /**
     * @param deliveries the delivery for a configuration (the same instance for the same
     *                   delivery settings, so that connections are reused)
     * @param ids        queue IDs for the DSNs it writes
     */
    public Passthrough(Function<RelayConfig, Delivery> deliveries, Metrics metrics, Clock clock, QueueId ids) {
        this.deliveries = deliveries;
        this.metrics = metrics;
        this.clock = clock;
        this.ids = ids;
    }

    @Override
    public String handOff(PreparedMessage p) throws Refusal {
        RelayConfig cfg = p.received().config();
        Delivery delivery = deliveries.apply(cfg);
        DeliveryOutcome outcome = delivery.deliver(p.envelope(), p.message());
        metrics.upstreamSeconds(outcome.seconds());
        logOutcome(p.id(), outcome, p.received().arrival());
        String reply;
        try {
            reply = answer(p, outcome, delivery);
        } catch (Refusal e) {
            metrics.message(e.code() < 500 ? "deferred" : "bounced", "upstream");
            throw e;
        }
        metrics.message("relayed", outcome.allSent() ? "sent" : "partial");
        return reply;
    }

    /** Maps the per-recipient outcome to the one reply the app gets. */
    private String answer(PreparedMessage p, DeliveryOutcome outcome, Delivery delivery) throws Refusal {
        String id = p.id();
        Envelope envelope = p.envelope();
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
                throw new Refusal(451, enh, text);
            }
            throw new Refusal(up.code(), up.enhancedOrDefault(), text);
        }
        // Some recipients have it, the others must not be lost: a DSN to the envelope sender.
        sendDsn(p, outcome, failed, delivery);
        return "2.0.0 Ok: relayed as " + id + " (" + failed.size() + " of " + envelope.forwardPaths().size()
                + " recipients failed, DSN " + (envelope.reversePath().isEmpty() ? "not sent for the null sender" : "sent") + ")";
    }

    private void sendDsn(PreparedMessage p, DeliveryOutcome outcome, List<RecipientOutcome> failed, Delivery delivery) {
        String id = p.id();
        Envelope envelope = p.envelope();
        if (envelope.reversePath().isEmpty()) {
            MailLog.log(new MailEvent.NoDsn(id, failed.size()));
            return;
        }
        // In passthrough nothing is retried: a recipient deferred while others were delivered
        // is reported as failed, which is the only answer that loses nothing (README).
        List<Dsn.Report> reports = failed.stream()
                .map(r -> new Dsn.Report(r.recipient(), r.reply(), outcome.relayOf(r), "")).toList();
        byte[] dsn = Dsn.build(p.received().config().hostname(), id, envelope.reversePath(), Dsn.Action.FAILED, reports,
                p.headers().toBytes(), p.received().arrival(), ZonedDateTime.now(clock), Optional.empty());
        String dsnId = ids.next();
        Envelope dsnEnvelope = new Envelope(dsnId, "", List.of(envelope.reversePath()));
        MailLog.log(new MailEvent.DsnSent(id, MailEvent.Notification.NON_DELIVERY, dsnId));
        DeliveryOutcome o = delivery.deliver(dsnEnvelope, OutboundMessage.inMemory(dsn));
        logOutcome(dsnId, o, p.received().arrival());
    }

    private static String upstreamText(String relay, Reply up) {
        return relay + " said: " + up.code() + (up.enhanced().isEmpty() ? "" : " " + up.enhanced())
                + (up.text().isEmpty() ? "" : " " + up.text());
    }

    private void logOutcome(String id, DeliveryOutcome outcome, ZonedDateTime arrival) {
        double delay = Math.max((clock.millis() - arrival.toInstant().toEpochMilli()) / 1000.0, outcome.seconds());
        for (RecipientOutcome o : outcome.recipients()) {
            Reply reply = o.reply();
            Optional<RejectionHints.Hint> hint = o.upstreamSaid()
                    ? RejectionHints.classify(reply.code(), reply.enhanced(), reply.text()) : Optional.empty();
            metrics.upstreamReply(o.upstreamSaid() ? reply.code() : 0,
                    hint.map(RejectionHints.Hint::cause).orElse(o.upstreamSaid() ? "" : "connection"));
            MailLog.log(new MailEvent.Recipient(id, o.recipient(), Optional.empty(), outcome.relayOf(o), delay,
                    reply.enhancedOrDefault(), switch (o.status()) {
                        case SENT -> MailEvent.Status.SENT;
                        case DEFERRED -> MailEvent.Status.DEFERRED;
                        case BOUNCED -> MailEvent.Status.BOUNCED;
                    }, reply.toString(), hint));
        }
    }
}
