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
        Smarthost smarthost = smarthost(r, S,
                mode == DeliveryMode.SMARTHOST ? Optional.of("required when delivery.mode = smarthost") : Optional.empty(),
                " (set both, e.g. through RETURNPATH_SMARTHOST_USERNAME and RETURNPATH_SMARTHOST_PASSWORD)");
        Direct direct = new Direct(r.port(P + "direct.port", false), r.enumOf(P + "direct.tls", DirectTls.class));
        return new Delivery(mode, smarthost, direct,
                r.durationIn(P + "connect-timeout", Duration.ofMillis(100), Duration.ofMinutes(10)),
                r.durationIn(P + "command-timeout", Duration.ofMillis(100), Duration.ofHours(1)));
    }

    /**
     * One {@code smarthost { }} block whose keys start with {@code prefix} (which ends in a dot):
     * {@code returnpath.delivery.smarthost.}, or a route's, so that every smarthost is read by
     * this one method and its errors name the block's own keys.
     *
     * @param hostRequired why a host must be set, when it must (the message of its absence)
     * @param credentialsHint appended to the error when only one of username and password is set
     */
    static Smarthost smarthost(ConfigReader r, String prefix, Optional<String> hostRequired, String credentialsHint)
            throws ConfigException {
        String portKey = prefix.substring("returnpath.".length()) + "port";
        Optional<String> host = Optional.empty();
        if (r.optString(prefix + "host").isPresent()) {
            host = Optional.of(r.host(prefix + "host", portKey));
        } else if (hostRequired.isPresent()) {
            throw r.error(prefix + "host", hostRequired.get());
        }
        int port = r.port(prefix + "port", false);
        Optional<Path> caFile = r.optString(prefix + "ca-file").map(Path::of);
        if (caFile.isPresent() && !Files.isReadable(caFile.get())) {
            throw r.error(prefix + "ca-file", "cannot read \"" + caFile.get() + "\"");
        }
        Optional<String> user = r.optString(prefix + "username");
        Optional<String> pass = Secrets.optSecret(r, prefix + "password");
        // a block without the key (read with no reference.conf under it) authenticates as before
        SmarthostAuth auth = r.has(prefix + "auth") ? r.enumOf(prefix + "auth", SmarthostAuth.class) : SmarthostAuth.AUTO;
        Optional<OAuth> oauth = OAuthSection.parse(r, prefix);
        SmarthostTls tls = r.enumOf(prefix + "tls", SmarthostTls.class);
        if (auth == SmarthostAuth.XOAUTH2) {
            if (user.isEmpty()) {
                throw r.error(prefix + "username", "required with auth = xoauth2: the mailbox the token is for (relay@example.com)");
            }
            if (oauth.isEmpty()) {
                throw r.error(prefix + "oauth.provider", "required with auth = xoauth2: microsoft, google or generic");
            }
            if (pass.isPresent()) {
                throw r.error(r.has(prefix + "password-file") ? prefix + "password-file" : prefix + "password",
                        "auth = xoauth2 takes no password: the token comes from the oauth block");
            }
            if (tls == SmarthostTls.NONE) {
                throw r.error(prefix + "tls", "AUTH XOAUTH2 would send the token in clear text: use starttls or implicit");
            }
            return new Smarthost(host.map(h -> new Endpoint(h, port)), tls, caFile, user, pass, auth, oauth);
        }
        if (oauth.isPresent()) {
            throw r.error(prefix + "oauth.provider", "an oauth block needs auth = xoauth2");
        }
        if (user.isPresent() != pass.isPresent()) {
            throw r.error(user.isPresent() ? prefix + "username"
                            : r.has(prefix + "password-file") ? prefix + "password-file" : prefix + "password",
                    "username and password go together" + credentialsHint);
        }
        if (tls == SmarthostTls.NONE && user.isPresent()) {
            throw r.error(prefix + "tls", "AUTH would send the password in clear text: use starttls or implicit with a username");
        }
        return new Smarthost(host.map(h -> new Endpoint(h, port)), tls, caFile, user, pass, auth, oauth);
    }
}
