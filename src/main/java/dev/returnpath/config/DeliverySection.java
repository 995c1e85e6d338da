package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.Delivery;
import dev.returnpath.config.RelayConfig.DeliveryMode;
import dev.returnpath.config.RelayConfig.Direct;
import dev.returnpath.config.RelayConfig.OAuth;
import dev.returnpath.config.RelayConfig.DirectTls;
import dev.returnpath.config.RelayConfig.Smarthost;
import dev.returnpath.config.RelayConfig.SmarthostAuth;
import dev.returnpath.config.RelayConfig.SmarthostTls;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code returnpath.delivery}: the mode (direct MX or one smarthost), the smarthost with its TLS
 * mode, CA and credentials, direct delivery's port and STARTTLS policy, and the timeouts.
 *
 * <p>The smarthost's host and port are one {@link Endpoint}, present when a host is set; a host
 * is required only when {@code mode = smarthost}, so that the shipped file can carry an example
 * host while delivering direct. Credentials go together, and never over plain text; the
 * password may come from {@code password-file} ({@link Secrets}). {@code auth = xoauth2} takes
 * the username (the mailbox) and an {@code oauth} block ({@link OAuthSection}) instead of a
 * password.
 */
final class DeliverySection {
    private static final String P = "returnpath.delivery.";
    private static final String S = P + "smarthost.";

    private DeliverySection() {}

    static Delivery parse(ConfigReader r) throws ConfigException {
        DeliveryMode mode = r.enumOf(P + "mode", DeliveryMode.class);
        Smarthost smarthost = smarthost(r, mode);
        Direct direct = new Direct(r.port(P + "direct.port", false), r.enumOf(P + "direct.tls", DirectTls.class));
        return new Delivery(mode, smarthost, direct,
                r.durationIn(P + "connect-timeout", Duration.ofMillis(100), Duration.ofMinutes(10)),
                r.durationIn(P + "command-timeout", Duration.ofMillis(100), Duration.ofHours(1)));
    }

    private static Smarthost smarthost(ConfigReader r, DeliveryMode mode) throws ConfigException {
        Optional<String> host = Optional.empty();
        if (r.optString(S + "host").isPresent()) {
            host = Optional.of(r.host(S + "host", "delivery.smarthost.port"));
        } else if (mode == DeliveryMode.SMARTHOST) {
            throw r.error(S + "host", "required when delivery.mode = smarthost");
        }
        int port = r.port(S + "port", false);
        Optional<Path> caFile = r.optString(S + "ca-file").map(Path::of);
        if (caFile.isPresent() && !Files.isReadable(caFile.get())) {
            throw r.error(S + "ca-file", "cannot read \"" + caFile.get() + "\"");
        }
        Optional<String> user = r.optString(S + "username");
        Optional<String> pass = Secrets.optSecret(r, S + "password");
        SmarthostAuth auth = r.enumOf(S + "auth", SmarthostAuth.class);
        Optional<OAuth> oauth = OAuthSection.parse(r, S);
        SmarthostTls tls = r.enumOf(S + "tls", SmarthostTls.class);
        if (auth == SmarthostAuth.XOAUTH2) {
            if (user.isEmpty()) {
                throw r.error(S + "username", "required with auth = xoauth2: the mailbox the token is for (relay@example.com)");
            }
            if (oauth.isEmpty()) {
                throw r.error(S + "oauth.provider", "required with auth = xoauth2: microsoft, google or generic");
            }
            if (pass.isPresent()) {
                throw r.error(r.has(S + "password-file") ? S + "password-file" : S + "password",
                        "auth = xoauth2 takes no password: the token comes from the oauth block");
            }
            if (tls == SmarthostTls.NONE) {
                throw r.error(S + "tls", "AUTH XOAUTH2 would send the token in clear text: use starttls or implicit");
            }
            return new Smarthost(host.map(h -> new Endpoint(h, port)), tls, caFile, user, pass, auth, oauth);
        }
        if (oauth.isPresent()) {
            throw r.error(S + "oauth.provider", "an oauth block needs auth = xoauth2");
        }
        if (user.isPresent() != pass.isPresent()) {
            throw r.error(user.isPresent() ? S + "username" : r.has(S + "password-file") ? S + "password-file" : S + "password",
                    "username and password go together (set both, e.g. through RETURNPATH_SMARTHOST_USERNAME and RETURNPATH_SMARTHOST_PASSWORD)");
        }
        if (tls == SmarthostTls.NONE && user.isPresent()) {
            throw r.error(S + "tls", "AUTH would send the password in clear text: use starttls or implicit with a username");
        }
        return new Smarthost(host.map(h -> new Endpoint(h, port)), tls, caFile, user, pass, auth, oauth);
    }
}
