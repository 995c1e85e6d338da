/**
 * OAuth 2.0 access tokens for SMTP AUTH XOAUTH2, one {@link dev.returnpath.oauth.TokenSource}
 * per smarthost (per route): Microsoft's client-credentials grant (RFC 6749 §4.4) against the
 * tenant's endpoint, Google's service-account JWT bearer grant (RFC 7523, signed RS256 with the
 * key file's key, the sending user as subject), or a generic client-credentials endpoint.
 *
 * <p><b>Entry points.</b> {@link dev.returnpath.oauth.TokenSource#token} gives a token,
 * reused until shortly before it expires; one fetch at a time, however many sessions wait
 * (they all take its result, a failure too); {@link dev.returnpath.oauth.TokenSource#rejected}
 * drops a token the server refused as expired, so that the next call fetches once more.
 * {@link dev.returnpath.oauth.TokenException} says why there is no token, naming the endpoint's
 * host and the OAuth error code ({@code invalid_client}).
 *
 * <p><b>How.</b> The JDK's {@code java.net.http.HttpClient} and {@code Signature}; TLS verified
 * against the JDK's trust store or {@code oauth.ca-file} ({@code tls.TrustedCas}); no redirects;
 * the response bounded in size and time.
 *
 * <p><b>Never.</b> It never writes a client secret, a private key, an assertion or a token into
 * a log line, an exception message or a {@code toString()}; it never sends a secret over
 * anything but https.
 */
package dev.returnpath.oauth;
