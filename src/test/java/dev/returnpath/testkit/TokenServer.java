package dev.returnpath.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.returnpath.tls.ServerCredentials;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real OAuth token endpoint on loopback HTTPS (the JDK's HttpsServer, with a certificate from
 * {@link TestPki}) at {@code /token}. Client credentials: it checks {@code client_id} and
 * {@code client_secret} and answers {@code invalid_client} (HTTP 401, with an AADSTS code as
 * Entra does) when they are wrong. JWT bearer: it verifies the assertion's RS256 signature with
 * the service account's public key and its claims, and answers {@code invalid_grant} otherwise.
 * Every token it issues is remembered, so that an SMTP server can check the bearer token.
 */
public final class TokenServer implements AutoCloseable {
    private final HttpsServer server;
    public volatile String clientId = "the-client";
    public volatile String clientSecret = "s3cret-VALUE";
    public volatile String scope = "https://outlook.office365.com/.default";
    /** Set for a Google service account: assertions must verify with it. */
    public volatile PublicKey serviceAccountKey;
    public volatile String expectedIssuer;
    public volatile String expectedSubject;
    public volatile long expiresIn = 3600;
    public volatile long delayMillis;
    /** When set, every answer is this status and body. */
    public volatile String forcedBody;
    public volatile int forcedStatus;
    public final AtomicInteger requests = new AtomicInteger();
    public final List<String> issued = new CopyOnWriteArrayList<>();
    /** The claims of every assertion that verified. */
    public final List<Map<String, String>> assertions = new CopyOnWriteArrayList<>();
    /** Tokens revoked by the test: an SMTP server refuses them. */
    public final Set<String> revoked = ConcurrentHashMap.newKeySet();
    private final AtomicInteger serial = new AtomicInteger();

    public TokenServer(TestPki pki) throws Exception {
        TestPki.Pair pair = pki.issue("tokens", "ec");
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setHttpsConfigurator(new HttpsConfigurator(ServerCredentials.load(pair.cert(), pair.key()).sslContext()));
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/token", this::handle);
        server.start();
    }

    /** The endpoint's URL, by name (the certificate is for localhost and 127.0.0.1). */
    public String url() {
        return "https://localhost:" + server.getAddress().getPort() + "/token";
    }

    public boolean valid(String token) {
        return issued.contains(token) && !revoked.contains(token);
    }

    private void handle(HttpExchange x) throws IOException {
        requests.incrementAndGet();
        try (x) {
            Map<String, String> form = form(new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            if (delayMillis > 0) {
                Thread.sleep(delayMillis);
            }
            if (forcedBody != null) {
                answer(x, forcedStatus, forcedBody);
                return;
            }
            if (!x.getRequestMethod().equals("POST")) {
                answer(x, 405, "{\"error\":\"invalid_request\"}");
                return;
            }
            String grant = form.getOrDefault("grant_type", "");
            if (grant.equals("client_credentials")) {
                if (!clientId.equals(form.get("client_id")) || !clientSecret.equals(form.get("client_secret"))) {
                    answer(x, 401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}");
                    return;
                }
                if (!scope.equals(form.get("scope"))) {
                    answer(x, 400, "{\"error\":\"invalid_scope\"}");
                    return;
                }
            } else if (grant.equals("urn:ietf:params:oauth:grant-type:jwt-bearer")) {
                Map<String, String> claims = verify(form.getOrDefault("assertion", ""));
                if (claims == null) {
                    answer(x, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}");
                    return;
                }
                assertions.add(claims);
            } else {
                answer(x, 400, "{\"error\":\"unsupported_grant_type\"}");
                return;
            }
            String token = "tok-" + serial.incrementAndGet() + "-" + Long.toHexString(System.nanoTime());
            issued.add(token);
            answer(x, 200, "{\"token_type\":\"Bearer\",\"expires_in\":" + expiresIn + ",\"ext_expires_in\":" + expiresIn
                    + ",\"access_token\":\"" + token + "\"}");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The claims of a JWT that verifies with {@link #serviceAccountKey} and names the expected issuer and subject; else null. */
    private Map<String, String> verify(String jwt) {
        try {
            String[] parts = jwt.split("\\.");
            if (parts.length != 3) {
                return null;
            }
            Base64.Decoder d = Base64.getUrlDecoder();
            String header = new String(d.decode(parts[0]), StandardCharsets.UTF_8);
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initVerify(serviceAccountKey);
            s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            if (!header.contains("\"RS256\"") || !s.verify(d.decode(parts[2]))) {
                return null;
            }
            Map<String, String> claims = new LinkedHashMap<>();
            com.fasterxml.jackson.databind.JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(d.decode(parts[1]));
            n.fieldNames().forEachRemaining(f -> claims.put(f, n.get(f).asText()));
            if (!claims.get("iss").equals(expectedIssuer) || !claims.get("sub").equals(expectedSubject)
                    || !claims.get("aud").equals(url()) || !claims.get("scope").equals("https://mail.google.com/")
                    || Long.parseLong(claims.get("exp")) - Long.parseLong(claims.get("iat")) != 3600) {
                return null;
            }
            return claims;
        } catch (Exception e) {
            return null;
        }
    }

    private static Map<String, String> form(String body) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : body.split("&")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return m;
    }

    private static void answer(HttpExchange x, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(status, b.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
