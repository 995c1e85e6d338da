package dev.returnpath.delivery;

/**
 * The one table of the replies the relay writes itself when an upstream conversation fails
 * without a verdict it can pass on (README "Replies"): for smarthost and MX alike, the code,
 * the enhanced code and the text, which names the upstream ({@code where}: {@code host:port}
 * for a smarthost, {@code mx[ip]:port} for an MX host). Nothing else in the package writes
 * these texts.
 */
enum Failure {
    /** Refused, unreachable, no such host. */
    CONNECT(451, "4.4.1", "connect to %s failed"),
    /** Connect, a reply or a write took longer than its timeout. */
    TIMEOUT(451, "4.4.2", "timeout talking to %s"),
    /** The connection broke (reset, EOF), or the server spoke something other than SMTP. */
    LOST(451, "4.4.2", "lost connection with %s"),
    /** A reply longer than the relay reads (lines, bytes); the connection is dropped. */
    REPLY_TOO_LONG(451, "4.4.2", "dropped the connection with %s: its reply was too long"),
    /** The handshake failed or the certificate did not verify; also STARTTLS required of a smarthost that lacks it. */
    TLS(451, "4.7.5", "TLS with %s failed"),
    /** {@code delivery.direct.tls = required} and the MX host does not offer (or refuses) STARTTLS (X.7.4, RFC 3463). */
    NO_STARTTLS(451, "4.7.4", "TLS is required (delivery.direct.tls = required), but %s"),
    /** The smarthost refused the credentials, or offers no mechanism for them. */
    AUTH(451, "4.7.8", "authentication with %s failed"),
    /**
     * {@code auth = xoauth2} and no token: the token endpoint was down, slow or refused; the
     * detail names the endpoint's host and its OAuth error ({@code invalid_client}). Temporary:
     * the message waits (spool) or the app retries (passthrough) while the operator fixes it.
     */
    TOKEN(451, "4.7.8", "no OAuth token for %s"),
    /**
     * RFC 6531 §3.2: a non-ASCII address must not go to a server that does not offer SMTPUTF8;
     * §3.5 gives X.6.7 for "non-ASCII addresses not permitted for that sender/recipient".
     */
    NO_SMTPUTF8(553, "5.6.7", "%s does not offer SMTPUTF8 (RFC 6531), needed for");

    private final int code;
    private final String enhanced;
    private final String text;

    Failure(int code, String enhanced, String text) {
        this.code = code;
        this.enhanced = enhanced;
        this.text = text;
    }

    /** The reply for a failure with {@code where}; {@code detail} (may be empty) follows a colon. */
    Reply reply(String where, String detail) {
        String t = text.formatted(where);
        if (!detail.isEmpty()) {
            t += this == NO_STARTTLS || this == NO_SMTPUTF8 ? " " + detail : ": " + detail;
        }
        return Reply.of(code, enhanced, t);
    }

    boolean isPermanent() {
        return code >= 500;
    }
}
