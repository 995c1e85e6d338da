package dev.returnpath.oauth;

/**
 * No token: the endpoint was unreachable, slow, or refused. The message names the endpoint's
 * host and what went wrong (an HTTP status and the OAuth {@code error} code, e.g.
 * {@code invalid_client}), never a secret or a token, so it can go into a reply to the client.
 */
public final class TokenException extends Exception {
    private final String host;
    private final String error;

    TokenException(String host, String error, String message) {
        super(message, null, false, false);
        this.host = host;
        this.error = error;
    }

    /** The token endpoint's host. */
    public String host() {
        return host;
    }

    /** The OAuth error code the endpoint gave ({@code invalid_client}), or empty. */
    public String error() {
        return error;
    }
}
