package dev.returnpath.queue;

import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Envelope;
import dev.returnpath.ops.MailEvent;

import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The reports the relay writes about a message it could not deliver (Postfix's
 * {@code qmgr_bounce.c} and {@code bounce}), the same in both modes: passthrough, for the
 * recipients that failed while others got the message, and spool, for permanent failures,
 * {@code max-age} and delay warnings.
 *
 * <p>{@link #nonDelivery} and {@link #delayWarning} take the message reported on, the
 * recipients to name and the time, and return a {@link Notice}: a DSN to send (its own queue ID,
 * the envelope from the null sender to the return path, the RFC 3464 bytes of {@link Dsn}, and
 * the log lines that announce it), or, for a message from the null sender, nothing to send and
 * the lines that say so. They perform no I/O and log nothing: the caller sends or spools the
 * DSN, and logs {@link Notice#lines()} once it has.
 */
public final class Bounces {
    private Bounces() {}

    /** Why a recipient of a null-sender message is given up without a report. */
    static final String NULL_SENDER = "undeliverable message from the null sender: no DSN is sent for a bounce";

    /**
     * The message a report is about: its queue ID, return path (the rewritten envelope sender,
     * empty for the null sender), arrival, and header block up to the empty line (quoted as
     * {@code text/rfc822-headers}, RFC 6522).
     */
    public record Original(String queueId, String returnPath, ZonedDateTime arrival, byte[] headers) {}

    /** What to do about a report. */
    public sealed interface Notice {
        /** The log lines to write once the report was sent or spooled (or given up). */
        List<MailEvent> lines();

        /**
         * A DSN to send: from the null sender (RFC 5321 §4.5.5: so that a report can never cause
         * another) to the return path, with a queue ID of its own.
         */
        record Send(Envelope envelope, byte[] message, List<MailEvent> lines) implements Notice {
            public Send {
                lines = List.copyOf(lines);
            }

            /** The DSN's queue ID. */
            public String id() {
                return envelope.id();
            }
        }

        /** No DSN: the message came from the null sender. */
        record None(List<MailEvent> lines) implements Notice {
            public None {
                lines = List.copyOf(lines);
            }
        }
    }

    /**
     * One recipient of a passthrough delivery, as a DSN names it: the server that said the reply,
     * or none when the relay wrote it itself (a refused connection, a timeout), which the DSN
     * then gives as an {@code X-Returnpath} diagnostic rather than an SMTP one.
     */
    public static Dsn.Report failure(DeliveryOutcome outcome, RecipientOutcome recipient) {
        return new Dsn.Report(recipient.recipient(), recipient.reply(),
                recipient.upstreamSaid() ? outcome.relayOf(recipient) : "", "");
    }

    /**
     * A failure notice for {@code failed} ({@code Action: failed}), or, for the null sender, a
     * {@code status=dropped} line per recipient.
     *
     * @param ids queue IDs: the listener's generator, so that the DSN's never collides
     */
    public static Notice nonDelivery(String reportingMta, Original original, List<Dsn.Report> failed,
                                     ZonedDateTime now, Supplier<String> ids) {
        if (original.returnPath().isEmpty()) {
            List<MailEvent> lines = new ArrayList<>(failed.size());
            for (Dsn.Report r : failed) {
                lines.add(new MailEvent.Dropped(original.queueId(), r.recipient(), NULL_SENDER));
            }
            return new Notice.None(lines);
        }
        String dsnId = ids.get();
        byte[] dsn = Dsn.build(reportingMta, original.queueId(), original.returnPath(), Dsn.Action.FAILED, failed,
                original.headers(), original.arrival(), now, java.util.Optional.empty());
        return send(original, dsnId, dsn, MailEvent.Notification.NON_DELIVERY);
    }

    /**
     * A delay warning for {@code delayed} ({@code Action: delayed}, {@code Will-Retry-Until}),
     * or nothing at all for the null sender.
     */
    public static Notice delayWarning(String reportingMta, Original original, List<Dsn.Report> delayed,
                                      ZonedDateTime now, ZonedDateTime willRetryUntil, Supplier<String> ids) {
        if (original.returnPath().isEmpty()) {
            return new Notice.None(List.of());
        }
        String dsnId = ids.get();
        byte[] dsn = Dsn.build(reportingMta, original.queueId(), original.returnPath(), Dsn.Action.DELAYED, delayed,
                original.headers(), original.arrival(), now, java.util.Optional.of(willRetryUntil));
        return send(original, dsnId, dsn, MailEvent.Notification.DELAY);
    }

    private static Notice send(Original original, String dsnId, byte[] dsn, MailEvent.Notification kind) {
        return new Notice.Send(new Envelope(dsnId, "", List.of(original.returnPath())), dsn, List.of(
                new MailEvent.DsnSent(original.queueId(), kind, dsnId),
                new MailEvent.DsnArrival(dsnId, kind, original.queueId(), dsn.length)));
    }

    /**
     * The header block at the start of a message, through the CRLF of its last field and without
     * the empty line; all of {@code start} when no empty line is in it (the caller read a bounded
     * prefix).
     */
    static byte[] headerBlock(byte[] start) {
        for (int i = 0; i + 3 < start.length; i++) {
            if (start[i] == '\r' && start[i + 1] == '\n' && start[i + 2] == '\r' && start[i + 3] == '\n') {
                return java.util.Arrays.copyOf(start, i + 2);
            }
        }
        return start;
    }
}
