package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.Queue;
import dev.returnpath.config.RelayConfig.QueueMode;

import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code returnpath.queue}: passthrough or spool, the directory (scratch files in passthrough,
 * the spool itself in spool mode), and the retry schedule, Postfix's by default: first retry
 * after 5 minutes, doubling up to an hour, returned after 5 days.
 */
final class QueueSection {
    private static final String P = "returnpath.queue.";

    private QueueSection() {}

    static Queue parse(ConfigReader r) throws ConfigException {
        Duration firstRetry = r.durationIn(P + "first-retry", Duration.ofSeconds(1), Duration.ofDays(1));
        Duration maxRetry = r.durationIn(P + "max-retry-interval", Duration.ofSeconds(1), Duration.ofDays(7));
        if (maxRetry.compareTo(firstRetry) < 0) {
            throw r.error(P + "max-retry-interval", "must not be shorter than queue.first-retry ("
                    + DurationText.of(firstRetry) + ")");
        }
        String dir = r.string(P + "dir");
        if (dir.isBlank()) {
            throw r.error(P + "dir", "must not be empty");
        }
        Duration maxAge = r.durationIn(P + "max-age", Duration.ofMinutes(1), Duration.ofDays(60));
        Duration delayWarning = r.durationIn(P + "delay-warning", Duration.ZERO, Duration.ofDays(60));
        if (!delayWarning.isZero() && delayWarning.compareTo(maxAge) >= 0) {
            throw r.error(P + "delay-warning", "must be shorter than queue.max-age (" + DurationText.of(maxAge)
                    + "), or 0 for off");
        }
        int total = r.intIn(P + "max-concurrency", 1, 10_000);
        int perDestination = r.intIn(P + "destination-concurrency", 1, 10_000);
        return new Queue(r.enumOf(P + "mode", QueueMode.class), Path.of(dir), firstRetry, maxRetry, maxAge,
                delayWarning, total, perDestination);
    }
}
