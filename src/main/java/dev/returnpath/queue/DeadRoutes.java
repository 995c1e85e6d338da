package dev.returnpath.queue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Which next hops are down, shared by every entry that goes to them (Postfix's {@code qmgr}
 * keeps the same "dead destination" state per transport and nexthop). Pure: no I/O and no
 * clock, the caller gives {@code now}; thread-safe.
 *
 * <p>A delivery whose connect failed (the relay's own {@code 4.4.1}) marks its hop dead. While it
 * is dead, {@link #admit} says {@link Admit#DEFER} to every attempt for it: the attempt defers
 * those recipients at once, without opening a connection, and the message waits for its own
 * retry as if it had been tried (its attempts, retry interval and {@code max-age} count on). One
 * attempt at a time is let through as a {@link Admit#PROBE}, the first {@link #FIRST_PROBE} after
 * the hop died, then after twice the previous wait, up to {@link #MAX_PROBE}. A probe (or any
 * delivery) that gets past the connect makes the hop alive again.
 *
 * @param <K> the next hop ({@code delivery.NextHop}; a string in tests)
 */
final class DeadRoutes<K> {
    static final Duration FIRST_PROBE = Duration.ofSeconds(10);
    static final Duration MAX_PROBE = Duration.ofMinutes(5);
    /** A probe that has not reported after this is taken as lost (its thread was interrupted), and another may go. */
    static final Duration STALE_PROBE = Duration.ofMinutes(15);

    /** What an attempt for a hop may do now. */
    enum Admit {
        /** The hop is not known to be down: deliver. */
        DELIVER,
        /** The hop is down and this attempt is the one that finds out whether it is back. */
        PROBE,
        /** The hop is down: defer without connecting. */
        DEFER
    }

    /** A dead hop: since when, the last connect failure, when the next probe may go, whether one is out. */
    record Dead(Instant since, String reply, Duration backoff, Instant probeAt, boolean probing, long deferred) {
        Dead probe() {
            return new Dead(since, reply, backoff, probeAt, true, deferred);
        }

        Dead deferOne() {
            return new Dead(since, reply, backoff, probeAt, probing, deferred + 1);
        }
    }

    /** What a change of state was, for the caller's log line. */
    sealed interface Change {
        record Died(Duration firstProbe) implements Change {
        }

        record StillDead(Duration nextProbe) implements Change {
        }

        record Alive(Duration downFor, long deferred) implements Change {
        }
    }

    private final Map<K, Dead> dead = new HashMap<>();

    /** Whether an attempt for {@code hop} may connect now; a {@link Admit#PROBE} must be followed by {@link #result}. */
    synchronized Admit admit(K hop, Instant now) {
        Dead d = dead.get(hop);
        if (d == null) {
            return Admit.DELIVER;
        }
        boolean free = !d.probing() || !now.isBefore(d.probeAt().plus(STALE_PROBE));
        if (free && !now.isBefore(d.probeAt())) {
            dead.put(hop, d.probe());
            return Admit.PROBE;
        }
        dead.put(hop, d.deferOne());
        return Admit.DEFER;
    }

    /**
     * What an attempt admitted as {@code how} found: {@code connectFailed} when it could not
     * connect ({@code reply} the relay's own text for that). The waits before a probe start at
     * {@code first} and double up to {@code max}, each capped by {@link #FIRST_PROBE} and
     * {@link #MAX_PROBE} (the queue's {@code first-retry} and {@code max-retry-interval}: a hop is
     * never probed later than a message would have been retried). Returns the change, if any.
     */
    synchronized Optional<Change> result(K hop, Admit how, boolean connectFailed, String reply, Instant now,
                                         Duration first, Duration max) {
        if (how == Admit.DEFER) {
            return Optional.empty();
        }
        Dead d = dead.get(hop);
        if (!connectFailed) {
            if (d == null) {
                return Optional.empty();
            }
            dead.remove(hop);
            return Optional.of(new Change.Alive(Duration.between(d.since(), now), d.deferred()));
        }
        Duration ceiling = min(MAX_PROBE, max);
        if (d == null) {
            Duration wait = min(min(FIRST_PROBE, first), ceiling);
            dead.put(hop, new Dead(now, reply, wait, now.plus(wait), false, 0));
            return Optional.of(new Change.Died(wait));
        }
        if (how == Admit.PROBE) {
            Duration next = min(d.backoff().multipliedBy(2), ceiling);
            dead.put(hop, new Dead(d.since(), reply, next, now.plus(next), false, d.deferred()));
            return Optional.of(new Change.StillDead(next));
        }
        return Optional.empty(); // an attempt that started before the hop died failed the same way
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** Forgets every dead hop: {@code queue flush} means "try everything now", the operator's word wins. */
    synchronized void clear() {
        dead.clear();
    }

    /** The state of a dead hop, or empty when it is not known to be down. */
    synchronized Optional<Dead> state(K hop) {
        return Optional.ofNullable(dead.get(hop));
    }
}
