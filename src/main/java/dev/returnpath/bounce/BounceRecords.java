package dev.returnpath.bounce;

import dev.returnpath.ops.AuthBounces;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import dev.returnpath.queue.BounceHistory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * What a report leaves on disk besides its log line, in {@code queue.dir}: in spool mode its
 * line in the message's {@link BounceHistory} (for {@code queue show ID}), when it was tied to a
 * queue ID; in both modes, for an authentication bounce, its entry in {@link AuthBounces} (for
 * the doctor). Runs on the intake's thread only. A write that fails is logged (once until one
 * succeeds again) and never stops the intake: the line and the metric are already out.
 */
final class BounceRecords implements Consumer<MailEvent.Bounce> {
    private static final Logger log = LoggerFactory.getLogger("returnpath.bounces");
    private static final Duration PRUNE_EVERY = Duration.ofDays(1);

    private final Path queueDir;
    private final boolean history;
    private final Clock clock;
    private AuthBounces auth;
    private Instant pruned = Instant.MIN;
    private boolean failing;

    BounceRecords(Path queueDir, boolean history, Clock clock) {
        this.queueDir = queueDir;
        this.history = history;
        this.clock = clock;
    }

    @Override
    public void accept(MailEvent.Bounce e) {
        Instant now = clock.instant();
        try {
            if (history && !e.queueId().equals("-")) {
                prune(now);
                BounceHistory.append(queueDir, e.queueId(), now, MailLog.text(e));
            }
            if (e.bounceClass().equals(BounceClass.AUTH.label())) {
                if (auth == null) {
                    auth = AuthBounces.open(queueDir);
                }
                auth.record(new AuthBounces.Entry(now, domainOf(e.originalFrom()), e.status(), e.cause(), e.fix()));
            }
            if (failing) {
                log.info("bounce intake: writing to {} works again", queueDir);
                failing = false;
            }
        } catch (IOException | RuntimeException x) {
            if (!failing) {
                log.warn("bounce intake: cannot note the report in {}: {} (the log line and the metric are unaffected)",
                        queueDir, x.getMessage());
                failing = true;
            }
        }
    }

    private void prune(Instant now) throws IOException {
        if (Duration.between(pruned, now).compareTo(PRUNE_EVERY) < 0 && !pruned.equals(Instant.MIN)) {
            return;
        }
        pruned = now;
        int n = BounceHistory.prune(queueDir, now);
        if (n > 0) {
            log.info("bounce intake: removed {} bounce history file(s) older than {} days", n, BounceHistory.KEEP.toDays());
        }
    }

    static String domainOf(String address) {
        int at = address.lastIndexOf('@');
        return at < 0 ? "unknown" : address.substring(at + 1).toLowerCase(Locale.ROOT);
    }
}
