package dev.returnpath.handoff;

import dev.returnpath.cleanup.PreparedMessage;
import dev.returnpath.inbound.ReceivedMessage;
import dev.returnpath.inbound.Refusal;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.ops.Metrics;
import dev.returnpath.queue.QueueEntry;
import dev.returnpath.queue.QueueRunner;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Spool mode: the message and its envelope are committed to the spool (journal, one shared
 * fdatasync), then 250; the queue manager delivers it later with retries and bounces. The
 * message file written is exactly what goes upstream. A commit that fails is {@code 452 4.3.1}.
 */
public final class Spooling implements Handoff {
    private final QueueRunner queue;
    private final Metrics metrics;
    private final Clock clock;

    public Spooling(QueueRunner queue, Metrics metrics, Clock clock) {
        this.queue = queue;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public String handOff(PreparedMessage p) throws Refusal {
        String id = p.id();
        ReceivedMessage r = p.received();
        List<QueueEntry.Recipient> rcpts = p.envelope().forwardPaths().stream()
                .map(a -> new QueueEntry.Recipient(a, QueueEntry.State.PENDING, "", "")).toList();
        QueueEntry entry = new QueueEntry(id, r.arrival().toInstant(), r.clientAddress(), r.helo(),
                r.reversePath(), p.envelope().reversePath(), p.message().size(), 0, clock.instant(), false, rcpts);
        try {
            // logged between the commit and the scheduling, so that the queued line comes
            // before whatever the first attempt logs
            queue.enqueue(entry, p.message(), () -> {
                MailLog.log(new MailEvent.Queued(id, rcpts.size()));
                metrics.message("queued", "spool");
            });
        } catch (IOException e) {
            MailLog.log(new MailEvent.StorageError(id, Optional.empty(), "cannot write to the spool: " + e));
            metrics.message("rejected", "storage");
            throw new Refusal(452, "4.3.1", "Insufficient system storage");
        }
        return "2.0.0 Ok: queued as " + id;
    }
}
