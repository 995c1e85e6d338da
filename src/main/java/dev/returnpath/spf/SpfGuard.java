package dev.returnpath.spf;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The relay's promise that mail it sends passes SPF: before relaying, {@link #check} evaluates
 * {@code check_host(ip, domain of the reverse-path, reverse-path)} for every outbound IP; for the
 * null sender it checks the HELO identity {@code postmaster@helo} (RFC 7208 §2.4), as receivers do.
 *
 * <p>Outcomes are cached for their DNS TTL, clamped to [{@link #MIN_TTL}, {@link #MAX_TTL}], so
 * that steady traffic costs no DNS query per message and a fixed record is seen within the hour.
 * A temperror is cached for {@link #MIN_TTL} too: while DNS is down each message would otherwise
 * wait for the DNS timeout, and the app's MTA retries a 451 later anyway. The cache key is (ip,
 * sender, HELO name): SPF macros may read the local part ({@code %{l}}) and the HELO name
 * ({@code %{h}}); for the relay's fixed return-paths this is per (ip, domain).
 *
 * <p>It never decides what to do with a verdict ({@code spf.on-fail} belongs to the relay) and
 * never logs. An expired entry is replaced when it is next needed, and the whole cache is dropped
 * when it grows past
 * {@link #MAX_ENTRIES}.
 */
public final class SpfGuard {
    public static final Duration MIN_TTL = Duration.ofMinutes(1);
    public static final Duration MAX_TTL = Duration.ofHours(1);
    static final int MAX_ENTRIES = 10_000;

    private final SpfEvaluator evaluator;
    private final Clock clock;
    private final ConcurrentHashMap<Key, Cached> cache = new ConcurrentHashMap<>();

    private record Key(InetAddress ip, String sender, String helo) {}

    private record Cached(SpfOutcome outcome, Instant expires) {}

    public SpfGuard(SpfEvaluator evaluator, Clock clock) {
        this.evaluator = Objects.requireNonNull(evaluator, "evaluator");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Checks every outbound IP. The first IP with a definite non-pass result gives
     * {@link GuardVerdict.NotPass}; otherwise the first temperror gives
     * {@link GuardVerdict.TempError}; otherwise {@link GuardVerdict.Pass}.
     *
     * @param reversePath the envelope sender that will be sent; {@code ""} (or {@code "<>"}) is
     *     the null sender
     * @param heloName the name the relay gives in EHLO upstream
     */
    public GuardVerdict check(List<InetAddress> outboundIps, String reversePath, String heloName) {
        String path = reversePath == null ? "" : reversePath.strip();
        if (path.equals("<>")) {
            path = "";
        }
        String helo = heloName == null ? "" : heloName.strip();
        String sender = path.isEmpty() ? "postmaster@" + helo : path;
        String domain = sender.substring(sender.lastIndexOf('@') + 1);
        if (domain.endsWith(".")) {
            domain = domain.substring(0, domain.length() - 1);
        }
        GuardVerdict.TempError firstTempError = null;
        for (InetAddress ip : outboundIps) {
            SpfOutcome outcome = outcome(ip, path, helo);
            switch (outcome.result()) {
                case PASS -> {}
                case TEMPERROR -> {
                    if (firstTempError == null) {
                        firstTempError = new GuardVerdict.TempError(ip, domain, "SPF for " + domain
                                + " is temperror for " + IpLiterals.readable(IpLiterals.canonical(ip))
                                + " (" + outcome.detail() + ")");
                    }
                }
                default -> {
                    return new GuardVerdict.NotPass(outcome.result(), ip, domain, advice(outcome, ip, domain));
                }
            }
        }
        if (firstTempError != null) {
            return firstTempError;
        }
        return new GuardVerdict.Pass(new ArrayList<>(outboundIps), domain);
    }

    /** What to tell the operator: what SPF said and the mechanism to publish. */
    static String advice(SpfOutcome outcome, InetAddress ip, String domain) {
        String address = IpLiterals.readable(IpLiterals.canonical(ip));
        String mechanism = IpLiterals.mechanismFor(ip);
        String said = "SPF for " + domain + " is " + outcome.result().wireName() + " for " + address;
        return switch (outcome.result()) {
            case NONE -> said + "; publish the TXT record \"v=spf1 " + mechanism + " -all\" at " + domain;
            case PERMERROR -> said + " (" + outcome.detail() + "); fix the SPF record of " + domain
                    + " and add \"" + mechanism + "\" to it";
            default -> said + "; add \"" + mechanism + "\" to the SPF record of " + domain;
        };
    }

    private SpfOutcome outcome(InetAddress ip, String reversePath, String helo) {
        Instant now = clock.instant();
        Key key = new Key(ip, reversePath.toLowerCase(Locale.ROOT), helo.toLowerCase(Locale.ROOT));
        Cached cached = cache.get(key);
        if (cached != null && now.isBefore(cached.expires())) {
            return cached.outcome();
        }
        SpfOutcome outcome = evaluator.checkIdentity(ip, reversePath, helo);
        if (cache.size() >= MAX_ENTRIES) {
            cache.clear();
        }
        cache.put(key, new Cached(outcome, now.plus(clamp(outcome.ttl()))));
        return outcome;
    }

    static Duration clamp(Duration ttl) {
        if (ttl.compareTo(MIN_TTL) < 0) {
            return MIN_TTL;
        }
        return ttl.compareTo(MAX_TTL) > 0 ? MAX_TTL : ttl;
    }
}
