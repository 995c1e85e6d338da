package dev.returnpath.oauth;

import dev.returnpath.config.RelayConfig;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The access tokens of one smarthost (one route): fetched from its endpoint
 * ({@link TokenEndpoint}) when needed, reused until shortly before they expire, and fetched
 * by one caller at a time.
 *
 * <p>Single flight: callers that find no usable token queue on one lock; the first fetches,
 * the others then take its result: its token, or its failure (so that 100 sessions waiting on
 * an endpoint that is down or slow cost one attempt, not 100 in a row). For
 * {@link #FAILURE_PAUSE} after a failed fetch, later callers get the same failure without a new
 * request (a queue of 10,000 messages against an endpoint that says {@code invalid_client}
 * must not become 10,000 requests to Entra or Google); after it, the next caller tries again.
 * A reload builds new sources, so a corrected secret is tried at once.
 *
 * <p>Refresh: a token is used until {@code expires_in} minus a margin (a fifth of its lifetime,
 * at most {@link #MAX_MARGIN}), so that none expires between the fetch and AUTH; the server
 * may still refuse one (revoked, or clocks apart): {@link #rejected} drops it. A refresh that
 * fails while the token has more than {@link #MIN_LEFT} to live keeps it in use (an endpoint
 * down for a few minutes stops no mail); the next caller tries the refresh again.
 */
public final class TokenSource implements AutoCloseable {
    static final Duration MAX_MARGIN = Duration.ofMinutes(5);
    /** The lifetime assumed when the endpoint gives no {@code expires_in} (RFC 6749 §5.1 makes it optional). */
    static final Duration DEFAULT_LIFETIME = Duration.ofMinutes(10);
    /** A token due for refresh is still sent, when the refresh fails, if it has this long to live. */
    static final Duration MIN_LEFT = Duration.ofSeconds(30);
    /** After a failed fetch, how long its failure is the answer without a new request. */
    static final Duration FAILURE_PAUSE = Duration.ofSeconds(10);

    /** A token and when it stops being used; {@link #toString} never shows the token. */
    public record Token(String value, Instant refreshAt, Instant expiresAt) {
        @Override
        public String toString() {
            return "Token[expiresAt=" + expiresAt + "]";
        }
    }

    private final TokenEndpoint endpoint;
    private final Clock clock;
    private final ReentrantLock fetching = new ReentrantLock();
    private volatile Token cached;
    private volatile TokenException failed;
    private volatile Instant failedAt = Instant.MIN;
    /** Fetches ended so far, successful or not (changed under the lock only). */
    private volatile int fetches;
    private Token refusedFresh;             // guarded by fetching
    private Instant refusedFreshAt = Instant.MIN;
    /**
     * How long a token that the server refused right after it was fetched is not replaced: a new
     * one would be refused too (the mailbox may not send, SMTP AUTH is off for the tenant), and
     * fetching one per connection would hammer the identity provider.
     */
    static final java.time.Duration REFUSED_FRESH_HOLD = java.time.Duration.ofSeconds(60);

    /** Tokens for {@code subject} (the smarthost username: Google's {@code sub}) from {@code oauth}. */
    public TokenSource(RelayConfig.OAuth oauth, String subject, Clock clock) {
        this(new TokenEndpoint(oauth, subject, clock, TokenEndpoint.RESPONSE_TIMEOUT), clock);
    }

    TokenSource(TokenEndpoint endpoint, Clock clock) {
        this.endpoint = endpoint;
        this.clock = clock;
    }

    /** A usable token: the cached one, or one fetched now (by this caller or the one before it in line). */
    public Token token() throws TokenException {
        Token t = cached;
        if (t != null && clock.instant().isBefore(t.refreshAt())) {
            return t;
        }
        int before = fetches;
        fetching.lock();
        try {
            Instant now = clock.instant();
            t = cached;
            if (t != null && now.isBefore(t.refreshAt())) {
                return t;
            }
            TokenException f = failed;
            if (f != null && (fetches != before || now.isBefore(failedAt.plus(FAILURE_PAUSE)))) {
                // the fetch this caller waited for failed, or one failed moments ago: its
                // answer is ours too
                return stillValid(t, now).orElseThrow(() -> f);
            }
            try {
                TokenEndpoint.Grant g = endpoint.fetch();
                Duration life = g.lifetime().orElse(DEFAULT_LIFETIME);
                Duration margin = life.dividedBy(5).compareTo(MAX_MARGIN) > 0 ? MAX_MARGIN : life.dividedBy(5);
                Instant fetchedAt = clock.instant();
                t = new Token(g.accessToken(), fetchedAt.plus(life).minus(margin), fetchedAt.plus(life));
                cached = t;
                failed = null;
                fetches++;
                return t;
            } catch (TokenException e) {
                failed = e;
                failedAt = clock.instant();
                fetches++;
                return stillValid(t, clock.instant()).orElseThrow(() -> e);
            }
        } finally {
            fetching.unlock();
        }
    }

    /** {@code t} when it has more than {@link #MIN_LEFT} to live at {@code now}. */
    private static java.util.Optional<Token> stillValid(Token t, Instant now) {
        return t != null && now.isBefore(t.expiresAt().minus(MIN_LEFT)) ? java.util.Optional.of(t) : java.util.Optional.empty();
    }

    /**
     * The server refused {@code token} as expired or invalid: the next {@link #token} fetches a
     * new one, unless another caller has already replaced it. Returns false, and keeps the
     * token, when the server refused this token within {@link #REFUSED_FRESH_HOLD} of its fetch
     * ({@link #refusedWhenFresh}): a new token would not help, so the caller should not retry.
     */
    public boolean rejected(Token token) {
        fetching.lock();
        try {
            if (token == refusedFresh && clock.instant().isBefore(refusedFreshAt.plus(REFUSED_FRESH_HOLD))) {
                return false;
            }
            if (cached == token) {
                cached = null;
            }
            return true;
        } finally {
            fetching.unlock();
        }
    }

    /** The server refused {@code token} although it was fetched for this very AUTH: see {@link #rejected}. */
    public void refusedWhenFresh(Token token) {
        fetching.lock();
        try {
            refusedFresh = token;
            refusedFreshAt = clock.instant();
        } finally {
            fetching.unlock();
        }
    }

    /** The token endpoint's host, for texts. */
    public String endpointHost() {
        return endpoint.host();
    }

    /** Fetches made so far, successful or not (for the doctor and the tests). */
    public int fetches() {
        return fetches;
    }

    @Override
    public void close() {
        endpoint.close();
    }
}
