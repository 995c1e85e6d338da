package dev.returnpath.spf;

import java.time.Duration;
import java.util.Objects;

/**
 * What {@code check_host()} concluded.
 *
 * @param result the RFC 7208 result
 * @param explanation for {@link SpfResult#FAIL} only: the expanded {@code exp=} text (§6.2) or the
 *     default explanation; {@code ""} for every other result
 * @param ttl how long this outcome may be reused: the smallest TTL of the DNS answers it rests on
 *     (negative answers count as {@link SpfEvaluator#NEGATIVE_TTL}); zero for a temperror
 * @param detail one line for logs and operators: which term matched, or what went wrong (e.g.
 *     "more than 10 DNS-querying terms"); never shown as the SPF explanation
 */
public record SpfOutcome(SpfResult result, String explanation, Duration ttl, String detail) {
    public SpfOutcome {
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(explanation, "explanation");
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(detail, "detail");
    }
}
