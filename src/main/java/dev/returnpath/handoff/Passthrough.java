package dev.returnpath.handoff;

import dev.returnpath.cleanup.PreparedMessage;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.Delivery;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.DeliveryOutcome.Status;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.delivery.NextHop;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.delivery.Reply;
import dev.returnpath.delivery.Router;
import dev.returnpath.inbound.QueueId;
import dev.returnpath.inbound.Refusal;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import dev.returnpath.queue.Bounces;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.Map;
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
        logOutcome(p.id(), cfg, p.envelope(), outcome, p.received().arrival());
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
        // In passthrough nothing is retried: a recipient deferred while others were delivered
        // is reported as failed, which is the only answer that loses nothing (README).
        List<Dsn.Report> reports = failed.stream().map(r -> Bounces.failure(outcome, r)).toList();
        Bounces.Original original = new Bounces.Original(p.id(), p.envelope().reversePath(), p.received().arrival(),
                p.headers().toBytes());
        Bounces.Notice notice = Bounces.nonDelivery(p.received().config().hostname(), original, reports,
                ZonedDateTime.now(clock), ids::next);
        switch (notice) {
            case Bounces.Notice.None none -> none.lines().forEach(MailLog::log);
            case Bounces.Notice.Send send -> {
                send.lines().forEach(MailLog::log);
                DeliveryOutcome o = delivery.deliver(send.envelope(), OutboundMessage.inMemory(send.message()));
                logOutcome(send.id(), p.received().config(), send.envelope(), o, ZonedDateTime.now(clock));
            }
        }
    }

    private static String upstreamText(String relay, Reply up) {
        return relay + " said: " + up.code() + (up.enhanced().isEmpty() ? "" : " " + up.enhanced())
                + (up.text().isEmpty() ? "" : " " + up.text());
    }

    /**
     * A line per recipient, naming its route as the spool's lines do: the router is a pure
     * function, so routing {@code envelope} again gives the hops the delivery used.
     */
    private void logOutcome(String id, RelayConfig cfg, Envelope envelope, DeliveryOutcome outcome, ZonedDateTime arrival) {
        double delay = Math.max((clock.millis() - arrival.toInstant().toEpochMilli()) / 1000.0, outcome.seconds());
        Map<String, NextHop> hops = new HashMap<>();
        if (!cfg.delivery().routes().isEmpty()) {
            for (Router.Leg leg : Router.route(cfg.delivery(), envelope.reversePath(), envelope.forwardPaths())) {
                leg.forwardPaths().forEach(rcpt -> hops.put(rcpt, leg.hop()));
            }
        }
        for (RecipientOutcome o : outcome.recipients()) {
            Optional<String> route = Optional.ofNullable(hops.get(o.recipient()))
                    .flatMap(hop -> Router.logName(cfg.delivery(), hop));
            MailEvent.Recipient line = MailEvent.Recipient.of(id, route, o, outcome.relayOf(o), delay);
            metrics.upstreamReply(o.upstreamSaid() ? o.reply().code() : 0, MailEvent.Recipient.metricCause(o, line));
            MailLog.log(line);
        }
    }
}
