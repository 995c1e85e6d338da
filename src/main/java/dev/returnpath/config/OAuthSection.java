package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.OAuth;
import dev.returnpath.config.RelayConfig.OAuthProvider;
import dev.returnpath.config.RelayConfig.ServiceAccount;
import dev.returnpath.ops.Json;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

/**
 * A smarthost's {@code oauth { }} block (for {@code auth = xoauth2}), under any smarthost key
 * prefix ({@code returnpath.delivery.smarthost.}, or a route's): the provider, its credentials,
 * and the token endpoint resolved at load. Microsoft: {@code tenant}, {@code client-id},
 * {@code client-secret} (or {@code client-secret-file}, {@link Secrets}); Google:
 * {@code service-account-file}, read and checked here (valid JSON with {@code client_email},
 * {@code private_key}, {@code token_uri}); generic: {@code token-url}, {@code client-id},
 * {@code client-secret}, {@code scope}. Every provider takes {@code token-url} (which must be
 * https) and {@code ca-file}. Errors name the key, never a secret's value.
 */
final class OAuthSection {
    static final String MICROSOFT_SCOPE = "https://outlook.office365.com/.default";
    static final String GOOGLE_SCOPE = "https://mail.google.com/";
    /** A service account key file is a few KiB; anything much larger is not one. */
    static final long MAX_KEY_FILE = 64 * 1024;

    private OAuthSection() {}

    /** The {@code oauth} block under {@code smarthost} (a prefix ending in a dot); empty when no provider is set. */
    static Optional<OAuth> parse(ConfigReader r, String smarthost) throws ConfigException {
        String o = smarthost + "oauth.";
        if (r.optString(o + "provider").isEmpty()) {
            return Optional.empty();
        }
        OAuthProvider provider = r.enumOf(o + "provider", OAuthProvider.class);
        Optional<URI> tokenUrl = r.optString(o + "token-url").isPresent() ? Optional.of(https(r, o + "token-url")) : Optional.empty();
        Optional<Path> caFile = r.optString(o + "ca-file").map(Path::of);
        if (caFile.isPresent() && !Files.isReadable(caFile.get())) {
            throw r.error(o + "ca-file", "cannot read \"" + caFile.get() + "\"");
        }
        Optional<String> scope = r.optString(o + "scope");
        Optional<String> clientId = r.optString(o + "client-id");
        Optional<String> secret = Secrets.optSecret(r, o + "client-secret");
        return Optional.of(switch (provider) {
            case MICROSOFT -> {
                String tenant = r.optString(o + "tenant").orElseThrow(() -> r.error(o + "tenant",
                        "required with provider = microsoft: the tenant's domain (contoso.onmicrosoft.com) or its ID"));
                if (!tenant.matches("[A-Za-z0-9.-]{1,253}")) {
                    throw r.error(o + "tenant", "\"" + tenant + "\" is not a tenant domain or ID");
                }
                need(r, o, "client-id", clientId, "the Application (client) ID of the app registration");
                needSecret(r, o, secret);
                URI url = tokenUrl.orElse(URI.create("https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token"));
                yield new OAuth(provider, url, scope.orElse(MICROSOFT_SCOPE), clientId, secret, Optional.empty(), caFile);
            }
            case GOOGLE -> {
                String key = o + "service-account-file";
                Path file = r.optString(key).map(Path::of).orElseThrow(() -> r.error(key,
                        "required with provider = google: the service account's JSON key file"));
                ServiceAccount sa = serviceAccount(r, key, file);
                yield new OAuth(provider, tokenUrl.orElse(sa.tokenUri()), scope.orElse(GOOGLE_SCOPE), Optional.empty(),
                        Optional.empty(), Optional.of(sa), caFile);
            }
            case GENERIC -> {
                URI url = tokenUrl.orElseThrow(() -> r.error(o + "token-url", "required with provider = generic"));
                need(r, o, "client-id", clientId, "the client ID");
                needSecret(r, o, secret);
                String s = scope.orElseThrow(() -> r.error(o + "scope", "required with provider = generic"));
                yield new OAuth(provider, url, s, clientId, secret, Optional.empty(), caFile);
            }
        });
    }

    private static void need(ConfigReader r, String o, String key, Optional<String> v, String what) throws ConfigException {
        if (v.isEmpty()) {
            throw r.error(o + key, "required with provider = " + r.optString(o + "provider").orElse("") + ": " + what);
        }
    }

    private static void needSecret(ConfigReader r, String o, Optional<String> secret) throws ConfigException {
        if (secret.isEmpty()) {
            throw r.error(o + "client-secret", "required with provider = " + r.optString(o + "provider").orElse("")
                    + " (or client-secret-file, e.g. a mounted secret)");
        }
    }

    private static URI https(ConfigReader r, String key) throws ConfigException {
        String s = r.optString(key).orElseThrow();
        try {
            URI u = new URI(s);
            if (!"https".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
                throw r.error(key, "\"" + s + "\" is not an https URL: the client secret never crosses the network in clear");
            }
            return u;
        } catch (URISyntaxException e) {
            throw r.error(key, "\"" + s + "\" is not a URL");
        }
    }

    /** Reads and checks a Google service account key file; errors name the file and the field, never the key. */
    static ServiceAccount serviceAccount(ConfigReader r, String key, Path file) throws ConfigException {
        Object json;
        try {
            if (Files.size(file) > MAX_KEY_FILE) {
                throw r.error(key, "\"" + file + "\" is larger than " + MAX_KEY_FILE / 1024 + " KiB: not a service account key file");
            }
            json = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            throw r.error(key, e instanceof IllegalArgumentException ? "\"" + file + "\" is " + e.getMessage()
                    : "cannot read \"" + file + "\"");
        }
        if (!(json instanceof Map<?, ?> m)) {
            throw r.error(key, "\"" + file + "\" is not a JSON object (a service account key file)");
        }
        String email = field(r, key, file, m, "client_email");
        String pem = field(r, key, file, m, "private_key");
        String tokenUri = field(r, key, file, m, "token_uri");
        URI uri;
        try {
            uri = new URI(tokenUri);
        } catch (URISyntaxException e) {
            throw r.error(key, "\"" + file + "\": token_uri is not a URL");
        }
        if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw r.error(key, "\"" + file + "\": token_uri is not an https URL");
        }
        return new ServiceAccount(file, email, rsaKey(r, key, file, pem), uri);
    }

    private static String field(ConfigReader r, String key, Path file, Map<?, ?> m, String name) throws ConfigException {
        if (!(m.get(name) instanceof String s) || s.isBlank()) {
            throw r.error(key, "\"" + file + "\" has no " + name + ": is it a service account key file (JSON)?");
        }
        return s;
    }

    /** The service account's key: PKCS#8 PEM, RSA (Google signs its assertions RS256). */
    private static PrivateKey rsaKey(ConfigReader r, String key, Path file, String pem) throws ConfigException {
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw r.error(key, "\"" + file + "\": private_key is not a PKCS#8 PEM key");
        }
        try {
            byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw r.error(key, "\"" + file + "\": private_key is not an RSA private key");
        }
    }
}
