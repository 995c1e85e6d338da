package dev.returnpath.oauth;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.ops.Json;
import dev.returnpath.tls.TrustedCas;

import javax.net.ssl.SSLException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One token request to one endpoint (RFC 6749 §4.4 client credentials, or RFC 7523 JWT bearer
 * for a Google service account) and its answer, over HTTPS with the JDK's client.
 *
 * <p>Bounds: connect within {@link #CONNECT_TIMEOUT}, the whole answer within
 * {@code responseTimeout}, at most {@link #MAX_BODY} bytes of it; no redirects (a token endpoint
 * that redirects is misconfigured, and the secret would follow). Every failure is a
 * {@link TokenException} whose text is built here from the host, the status and the OAuth
 * error code alone: never from the request, which holds the secret.
 */
final class TokenEndpoint implements AutoCloseable {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);
    static final int MAX_BODY = 64 * 1024;
    static final String JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    /** A Google assertion's lifetime: Google takes at most one hour. */
    static final Duration ASSERTION_LIFETIME = Duration.ofHours(1);
    /** The longest {@code expires_in} taken as given (tokens live an hour or so); longer is cut to it. */
    static final Duration MAX_LIFETIME = Duration.ofDays(1);
    private static final Pattern ERROR_CODE = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern AADSTS = Pattern.compile("\\bAADSTS\\d{1,10}\\b");
    private static final Pattern TOKEN_CHARS = Pattern.compile("[\\x21-\\x7e]{1,16384}");

    /** What a successful answer gave. */
    record Grant(String accessToken, Optional<Duration> lifetime) {
        @Override
        public String toString() {
            return "Grant[lifetime=" + lifetime.map(Duration::toString).orElse("") + "]";
        }
    }

    private final RelayConfig.OAuth oauth;
    private final String subject;
    private final Clock clock;
    private final Duration responseTimeout;
    /** Null while the {@code ca-file} cannot be read (it is tried again at each fetch). */
    private volatile HttpClient http;
    private final java.util.concurrent.ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final String host;

    TokenEndpoint(RelayConfig.OAuth oauth, String subject, Clock clock, Duration responseTimeout) {
        this.oauth = oauth;
        this.subject = subject;
        this.clock = clock;
        this.responseTimeout = responseTimeout;
        this.host = oauth.tokenUrl().getHost();
        try {
            this.http = client();
        } catch (IOException | GeneralSecurityException e) {
            this.http = null; // a CA file gone since the load: a TokenException at the fetch
        }
    }

    private HttpClient client() throws IOException, GeneralSecurityException {
        HttpClient.Builder b = HttpClient.newBuilder()
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                // the JDK's proxy settings (-Dhttps.proxyHost, ...), for a relay whose only way out is a proxy
                .proxy(java.net.ProxySelector.getDefault())
                .executor(executor);
        if (oauth.caFile().isPresent()) {
            b.sslContext(TrustedCas.context(oauth.caFile().get()));
        }
        return b.build();
    }

    String host() {
        return host;
    }

    /** Called by one thread at a time (the token source's lock). */
    Grant fetch() throws TokenException {
        if (http == null) {
            try {
                http = client();
            } catch (IOException | GeneralSecurityException e) {
                throw new TokenException(host, "", "token endpoint " + host + ": cannot use CA file "
                        + oauth.caFile().map(Object::toString).orElse("") + " (" + e.getClass().getSimpleName() + ")");
            }
        }
        String form = switch (oauth.provider()) {
            case MICROSOFT, GENERIC -> "grant_type=client_credentials"
                    + "&client_id=" + enc(oauth.clientId().orElseThrow())
                    + "&client_secret=" + enc(oauth.clientSecret().orElseThrow())
                    + "&scope=" + enc(oauth.scope());
            case GOOGLE -> "grant_type=" + enc(JWT_BEARER) + "&assertion=" + assertion();
        };
        HttpRequest request = HttpRequest.newBuilder(oauth.tokenUrl())
                .timeout(responseTimeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(form, StandardCharsets.UTF_8))
                .build();
        CompletableFuture<HttpResponse<byte[]>> f = http.sendAsync(request, info -> new Bounded());
        HttpResponse<byte[]> response;
        try {
            // the request's timeout ends at the headers; this bounds the body too
            response = f.get(responseTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw failure("did not answer within " + seconds(responseTimeout));
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw failure("interrupted while waiting for its answer");
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
        return grant(response.statusCode(), new String(response.body(), StandardCharsets.UTF_8));
    }

    /** The answer: a token, or the endpoint's refusal with its error code. */
    Grant grant(int status, String body) throws TokenException {
        Map<?, ?> json = null;
        try {
            if (Json.parse(body) instanceof Map<?, ?> m) {
                json = m;
            }
        } catch (IllegalArgumentException e) {
            // not JSON: said below
        }
        if (status != 200) {
            String error = json != null && json.get("error") instanceof String s && ERROR_CODE.matcher(s).matches() ? s : "";
            String aad = "";
            if (json != null && json.get("error_description") instanceof String d) {
                Matcher m = AADSTS.matcher(d);
                aad = m.find() ? " (" + m.group() + ")" : "";
            }
            throw new TokenException(host, error, "token endpoint " + host + " answered HTTP " + status
                    + (error.isEmpty() ? "" : ": " + error + aad));
        }
        if (json == null) {
            throw failure("answered HTTP 200 with no JSON object");
        }
        if (!(json.get("access_token") instanceof String token) || !TOKEN_CHARS.matcher(token).matches()) {
            throw failure("answered HTTP 200 without a usable access_token");
        }
        if (json.get("token_type") instanceof String type && !type.equalsIgnoreCase("Bearer")) {
            throw failure("gave a token of type " + (ERROR_CODE.matcher(type).matches() ? type : "?") + ", not Bearer");
        }
        Optional<Duration> lifetime = switch (json.get("expires_in")) {
            case Long l when l > 0 -> Optional.of(Duration.ofSeconds(Math.min(l, MAX_LIFETIME.toSeconds())));
            case String s when s.matches("[0-9]{1,9}") && Long.parseLong(s) > 0
                    -> Optional.of(Duration.ofSeconds(Math.min(Long.parseLong(s), MAX_LIFETIME.toSeconds())));
            case null, default -> Optional.empty();
        };
        return new Grant(token, lifetime);
    }

    /**
     * RFC 7523 §3 as Google's service accounts take it: iss the account, sub the user whose
     * mail is sent (domain-wide delegation), aud the token endpoint, an hour's lifetime, RS256.
     */
    String assertion() throws TokenException {
        RelayConfig.ServiceAccount sa = oauth.serviceAccount().orElseThrow();
        long now = clock.instant().getEpochSecond();
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", sa.clientEmail());
        claims.put("sub", subject);
        claims.put("scope", oauth.scope());
        claims.put("aud", sa.tokenUri().toString());
        claims.put("iat", now);
        claims.put("exp", now + ASSERTION_LIFETIME.toSeconds());
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
                + "." + b64.encodeToString(Json.write(claims).getBytes(StandardCharsets.UTF_8));
        try {
            Signature sig = Signature.getInstance("SHA256withRSA");
            sig.initSign(sa.privateKey());
            sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + b64.encodeToString(sig.sign());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA256withRSA", e);
        } catch (GeneralSecurityException e) {
            throw new TokenException(host, "", "cannot sign the assertion with the key of " + sa.file()
                    + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    private TokenException failure(String what) {
        return new TokenException(host, "", "token endpoint " + host + " " + what);
    }

    private TokenException failure(Throwable cause) {
        if (cause instanceof HttpTimeoutException) {
            return failure("did not answer within " + seconds(responseTimeout));
        }
        if (cause instanceof TooLarge) {
            return failure("answered more than " + MAX_BODY / 1024 + " KiB");
        }
        if (cause instanceof ConnectException || cause != null && cause.getCause() instanceof ConnectException) {
            return failure("is unreachable (connection refused)");
        }
        if (cause instanceof SSLException || cause != null && cause.getCause() instanceof SSLException) {
            Throwable ssl = cause instanceof SSLException ? cause : cause.getCause();
            return failure("failed TLS: " + oneLine(ssl.getMessage()));
        }
        return failure("is unreachable: " + (cause == null ? "?" : cause.getClass().getSimpleName()
                + (cause.getMessage() == null ? "" : " " + oneLine(cause.getMessage()))));
    }

    /** An exception's own text, on one line and short (the JDK's texts name hosts and reasons, never a request body). */
    private static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        String t = s.replaceAll("[\\r\\n\\t]+", " ").strip();
        return t.length() > 200 ? t.substring(0, 200) + "..." : t;
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        // shutdown, not close: close waits for a fetch under way, and a reload must not
        if (http != null) {
            http.shutdown();
        }
        executor.shutdown();
    }

    private static final class TooLarge extends IOException {
        TooLarge() {
            super("body too large", null);
        }
    }

    /** The body, up to {@link #MAX_BODY} bytes; past that the exchange is cancelled. */
    private static final class Bounded implements HttpResponse.BodySubscriber<byte[]> {
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        @Override
        public CompletionStage<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (body.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                if (bytes.size() + b.remaining() > MAX_BODY) {
                    subscription.cancel();
                    body.completeExceptionally(new TooLarge());
                    return;
                }
                byte[] a = new byte[b.remaining()];
                b.get(a);
                bytes.write(a, 0, a.length);
            }
        }

        @Override
        public void onError(Throwable t) {
            body.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            body.complete(bytes.toByteArray());
        }
    }
}
