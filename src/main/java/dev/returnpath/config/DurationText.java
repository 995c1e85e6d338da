package dev.returnpath.config;

import java.time.Duration;

/**
 * A duration the way the configuration file writes it ({@code 5ms}, {@code 30s}, {@code 1h},
 * {@code 5d}), for messages: {@code Duration.toString()} would print {@code PT0.005S}, which is
 * Java's word, not the operator's. The largest unit that divides the value exactly is chosen,
 * so the text can be pasted back into the file: 90 seconds is {@code 90s}, not {@code 1.5m}.
 */
public final class DurationText {
    private static final long[] NANOS = {86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L,
            1_000_000_000L, 1_000_000L, 1_000L, 1L};
    private static final String[] UNITS = {"d", "h", "m", "s", "ms", "us", "ns"};

    private DurationText() {}

    public static String of(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.isNegative()) {
            return "-" + of(d.negated());
        }
        // seconds first: a duration of days expressed in nanoseconds overflows a long after 292 years
        long seconds = d.getSeconds();
        int nanos = d.getNano();
        if (nanos == 0) {
            for (int i = 0; i < 4; i++) {
                long perUnit = NANOS[i] / 1_000_000_000L;
                if (seconds % perUnit == 0) {
                    return seconds / perUnit + UNITS[i];
                }
            }
        }
        if (seconds >= Long.MAX_VALUE / 1_000_000_000L) {
            return seconds + "s"; // beyond 292 years the fraction is not worth an overflow
        }
        long total = d.toNanos();
        for (int i = 4; i < NANOS.length; i++) {
            if (total % NANOS[i] == 0) {
                return total / NANOS[i] + UNITS[i];
            }
        }
        return total + "ns";
    }
}
