package dev.returnpath.queue;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Reply;
import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What one delivery attempt makes of a queue entry, as Postfix's {@code qmgr_defer.c} and the
 * decisions of {@code qmgr_bounce.c}: a pure function, with no I/O and no clock (the caller
 * gives {@code now}).
 *
 * <p>{@link #plan} takes the entry as it was read, the outcome of each recipient tried in this
 * attempt (by its index in the entry), the time and the queue settings, and says what is due:
 * the recipients' new states, which failed for good (a permanent reply, or a temporary one once
 * the message is {@code max-age} old: Postfix's {@code maximal_queue_lifetime}), and whether a
 * delay warning is due. The caller writes the DSNs that asks for, then {@link Plan#settle}s
 * with whether each could be committed, and gets the entry to write back, or none when the
 * message is done. A failure whose DSN could not be committed stays deferred, so that no failure
 * goes unreported; a message from the null sender is never reported on, its failures are final
 * all the same (dropped).
 */
final class AttemptStep {
    private AttemptStep() {}

    /**
     * The first half of the step: new states and the reports due.
     *
     * @param recipients the states after this attempt, before any DSN is committed
     * @param failed     recipients that failed for good in this attempt, permanent failures
     *                   first and then the expired ones; each needs a DSN (or, for the null
     *                   sender, is dropped)
     * @param expired    the part of {@code failed} that was still deferred at {@code max-age}
     * @param delayed    the recipients a delay warning names, when one is due now; else empty
     */
    record Plan(QueueEntry entry, Instant now, RelayConfig.Queue queue, List<Recipient> recipients,
                List<Integer> failed, List<Integer> expired, List<Integer> delayed) {
        Plan {
            recipients = List.copyOf(recipients);
            failed = List.copyOf(failed);
            expired = List.copyOf(expired);
            delayed = List.copyOf(delayed);
        }

        /** A bounce is never bounced: failures of a null-sender message are dropped, not reported. */
        boolean nullSender() {
            return entry.returnPath().isEmpty();
        }

        /** {@code arrival + max-age}: the last moment a temporary failure is retried. */
        Instant expiresAt() {
            return entry.arrival().plus(queue.maxAge());
        }

        boolean warningDue() {
            return !delayed.isEmpty();
        }

        /** The human part's note for an expired recipient (the DSN says why it gave up). */
        String expiryNote() {
            return "message expired after " + human(queue.maxAge()) + " in the queue";
        }

        /** The DSN's recipients for {@link #failed}, with the last reply and who said it. */
        List<Dsn.Report> failureReports() {
            List<Dsn.Report> out = new ArrayList<>(failed.size());
            for (int i : failed) {
                Recipient r = recipients.get(i);
                out.add(new Dsn.Report(r.address(), Reply.parse(550, r.reply()), r.relay(),
                        expired.contains(i) ? expiryNote() : ""));
            }
            return out;
        }

        /** The delay warning's recipients for {@link #delayed}. */
        List<Dsn.Report> delayReports() {
            List<Dsn.Report> out = new ArrayList<>(delayed.size());
            for (int i : delayed) {
                Recipient r = recipients.get(i);
                out.add(new Dsn.Report(r.address(), Reply.parse(451, r.reply()), r.relay(), ""));
            }
            return out;
        }

        /**
         * The second half: the entry to write back once the reports were dealt with.
         *
         * @param bounceCommitted  the DSN for {@link #failed} is in the spool (ignored for the
         *                         null sender, which gets none)
         * @param warningCommitted the delay warning is in the spool (ignored likewise)
         */
        Next settle(boolean bounceCommitted, boolean warningCommitted) {
            List<Recipient> next = new ArrayList<>(recipients);
            if (!failed.isEmpty() && !nullSender() && !bounceCommitted) {
                for (int i : failed) {
                    Recipient r = next.get(i);
                    next.set(i, new Recipient(r.address(), State.DEFERRED, r.relay(), r.reply()));
                }
            }
            // the null sender gets no warning: it counts as given, so that it is not asked again
            boolean warned = entry.warned() || (warningDue() && (nullSender() || warningCommitted));
            QueueEntry updated = entry.withRecipients(next);
            if (updated.isDone()) {
                return new Next(updated, Optional.empty());
            }
            int done = entry.attempts() + 1;
            Instant at = now.plus(backoff(queue, done));
            Instant expiresAt = expiresAt();
            if (at.isAfter(expiresAt)) {
                // the last retry is at max-age, so that expiry is never late by a whole interval;
                // past it (a DSN that could not be committed) keep trying at first-retry
                at = expiresAt.isAfter(now) ? expiresAt : now.plus(queue.firstRetry());
            }
            return new Next(updated.withAttempt(done, at, warned), Optional.of(at));
        }
    }

    /** The entry after the attempt, and when to try it again; no next attempt: it is done. */
    record Next(QueueEntry entry, Optional<Instant> nextAttempt) {
        boolean removed() {
            return nextAttempt.isEmpty();
        }
    }

    /**
     * @param outcomes by recipient index; each outcome's {@code relay} names the server it came
     *                 from ({@code DeliveryOutcome.relayOf}), kept only if that server said it
     */
    static Plan plan(QueueEntry entry, Map<Integer, RecipientOutcome> outcomes, Instant now, RelayConfig.Queue queue) {
        List<Recipient> next = new ArrayList<>(entry.recipients());
        List<Integer> failed = new ArrayList<>();
        List<Integer> deferred = new ArrayList<>();
        for (Map.Entry<Integer, RecipientOutcome> e : new TreeMap<>(outcomes).entrySet()) {
            int i = e.getKey();
            RecipientOutcome o = e.getValue();
            // the envelope file keeps a relay only for a reply a server said (QueueEntry)
            String relay = o.upstreamSaid() ? o.relay() : "";
            State state = switch (o.status()) {
                case SENT -> State.SENT;
                case BOUNCED -> State.BOUNCED;
                case DEFERRED -> State.DEFERRED;
            };
            next.set(i, new Recipient(next.get(i).address(), state, relay, o.reply().toString()));
            if (state == State.BOUNCED) {
                failed.add(i);
            } else if (state == State.DEFERRED) {
                deferred.add(i);
            }
        }

        List<Integer> expired = new ArrayList<>();
        if (!deferred.isEmpty() && !now.isBefore(entry.arrival().plus(queue.maxAge()))) {
            for (int i : deferred) {
                Recipient r = next.get(i);
                next.set(i, new Recipient(r.address(), State.BOUNCED, r.relay(), r.reply()));
                expired.add(i);
            }
            failed.addAll(expired);
            deferred.clear();
        }

        Duration warnAfter = queue.delayWarning();
        boolean warn = !entry.warned() && !warnAfter.isZero() && !deferred.isEmpty()
                && !now.isBefore(entry.arrival().plus(warnAfter));
        return new Plan(entry, now, queue, next, failed, expired, warn ? deferred : List.of());
    }

    /** first-retry, doubling with each attempt, capped at max-retry-interval. */
    static Duration backoff(RelayConfig.Queue q, int attemptsDone) {
        Duration d = q.firstRetry();
        for (int i = 1; i < attemptsDone && d.compareTo(q.maxRetryInterval()) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(q.maxRetryInterval()) > 0 ? q.maxRetryInterval() : d;
    }

    /** 5d, 3h, 20m, 45s: how an operator writes a duration in the configuration. */
    static String human(Duration d) {
        long s = d.toSeconds();
        if (s % 86_400 == 0) {
            return s / 86_400 + "d";
        }
        if (s % 3_600 == 0) {
            return s / 3_600 + "h";
        }
        if (s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }
}
