package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.RelayConfig.SmarthostTls;
import dev.returnpath.oauth.TokenException;
import dev.returnpath.oauth.TokenSource;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the smarthost without sending mail: it accepts a TCP connection and EHLO; it offers
 * STARTTLS with a certificate that verifies (or speaks TLS at once, for {@code implicit}); for
 * {@code auth = xoauth2}, the token endpoint gives a token; and it accepts AUTH with the
 * configured credentials (or that token). Each step is its own connection, closed with
 * QUIT, made by the same engine and settings as delivery. {@link #probe(RelayConfig, RelayConfig.Smarthost)}
 * probes any smarthost ({@code delivery.smarthost} or a route's); the doctor calls it once per route.
 */
public final class UpstreamProbe {

    /** One step: {@code step} is connect, tls or auth. */
    public record Step(String step, Verdict verdict, String found) {}

    public enum Verdict { OK, WARN, FAILED, SKIPPED }

    private UpstreamProbe() {}

    /** Probes {@code delivery.smarthost}. */
    public static List<Step> probe(RelayConfig config) {
        return probe(config, config.delivery().smarthost());
    }

    /**
     * Probes {@code sm}: {@code delivery.smarthost} or a route's, with the connection settings
     * of {@code config} (EHLO name, timeouts).
     */
    public static List<Step> probe(RelayConfig config, RelayConfig.Smarthost sm) {
        List<Step> out = new ArrayList<>();
        if (sm.host().isEmpty()) {
            out.add(new Step("connect", Verdict.FAILED, "delivery.smarthost.host is not set"));
            return out;
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(sm.host().get());
        } catch (UnknownHostException e) {
            out.add(new Step("connect", Verdict.FAILED, "cannot connect: unknown host " + sm.host().get()));
            out.add(new Step("tls", Verdict.SKIPPED, "no connection"));
            if (sm.username().isPresent()) {
                out.add(new Step("auth", Verdict.SKIPPED, "no connection"));
            }
            return out;
        }
        try (SmarthostDelivery delivery = new SmarthostDelivery(config, new SmtpClient(SmarthostDelivery.settings(config)),
                true, false)) {
            SmtpClient engine = delivery.engine();
            String relay = SmarthostDelivery.relayName(sm, java.util.Optional.of(address));
            // 1. TCP and EHLO, in the clear (or TLS at once for implicit)
            SmarthostTls first = sm.tls() == SmarthostTls.IMPLICIT ? SmarthostTls.IMPLICIT : SmarthostTls.NONE;
            boolean offersStarttls;
            try {
                SmtpConnection c = engine.open(delivery.dial(sm, first, address, relay, false), false);
                offersStarttls = c.offers("STARTTLS");
                String ehlo = c.ehloText();
                c.quit();
                out.add(new Step("connect", Verdict.OK, "accepted EHLO" + (ehlo.isEmpty() ? "" : ": " + ehlo)));
            } catch (SmtpConnection.Refused r) {
                out.add(new Step("connect", Verdict.FAILED, "cannot connect: " + r.reply.text()));
                out.add(new Step("tls", Verdict.SKIPPED, "no connection"));
                if (sm.username().isPresent()) {
                    out.add(new Step("auth", Verdict.SKIPPED, "no connection"));
                }
                return out;
            }
            // 2. TLS
            switch (sm.tls()) {
                case NONE -> out.add(new Step("tls", Verdict.WARN, "tls = none, mail crosses the network in clear"
                        + (offersStarttls ? " although the server offers STARTTLS" : "")));
                case IMPLICIT -> out.add(new Step("tls", Verdict.OK, "implicit TLS, certificate verified"));
                case STARTTLS -> {
                    if (!offersStarttls) {
                        out.add(new Step("tls", Verdict.FAILED, "does not offer STARTTLS"));
                    } else {
                        try {
                            engine.open(delivery.dial(sm, SmarthostTls.STARTTLS, address, relay, false), true).quit();
                            out.add(new Step("tls", Verdict.OK, "STARTTLS, certificate verified"));
                        } catch (SmtpConnection.Refused r) {
                            out.add(new Step("tls", Verdict.FAILED, "STARTTLS failed: " + r.reply.text()));
                        }
                    }
                }
            }
            // 3. the OAuth token (xoauth2), then AUTH
            boolean tlsFailed = out.get(out.size() - 1).verdict() == Verdict.FAILED; // the tls step's
            if (sm.username().isPresent() && delivery.tokens(sm).isPresent()) {
                Step token = token(delivery.tokens(sm).get(), sm);
                out.add(token);
                if (token.verdict() == Verdict.FAILED) {
                    out.add(new Step("auth", Verdict.SKIPPED, "no OAuth token"));
                    return out;
                }
            }
            if (sm.username().isPresent()) {
                if (tlsFailed) {
                    out.add(new Step("auth", Verdict.SKIPPED, "TLS failed: credentials not sent"));
                } else {
                    out.add(auth(delivery, sm, address, relay));
                }
            }
            return out;
        }
    }

    /** The token step: the smarthost's token endpoint gives a token (the same source delivery would use). */
    private static Step token(TokenSource tokens, RelayConfig.Smarthost sm) {
        try {
            TokenSource.Token t = tokens.token();
            long minutes = java.time.Duration.between(java.time.Instant.now(), t.expiresAt()).toMinutes();
            return new Step("oauth", Verdict.OK, "token from " + tokens.endpointHost() + " for " + sm.username().get()
                    + ", valid " + minutes + " min");
        } catch (TokenException e) {
            return new Step("oauth", Verdict.FAILED, e.getMessage());
        }
    }

    /**
     * The AUTH step: a session that logs in as delivery would (the mechanism and credentials
     * {@link SmarthostDelivery#dial} gives), then QUIT. A mechanism that needs a step of its own
     * first (a token to fetch, for XOAUTH2) adds it here, before the session.
     */
    private static Step auth(SmarthostDelivery delivery, RelayConfig.Smarthost sm, InetAddress address, String relay) {
        try {
            delivery.engine().open(delivery.dial(sm, address, relay, true), true).quit();
            return new Step("auth", Verdict.OK, "accepted AUTH" + (sm.auth() == RelayConfig.SmarthostAuth.XOAUTH2 ? " XOAUTH2" : "")
                    + " for " + sm.username().get());
        } catch (SmtpConnection.Refused r) {
            return new Step("auth", Verdict.FAILED, r.reply.enhanced().equals("4.7.8")
                    ? "refused AUTH for " + sm.username().get() + ": " + r.reply.text()
                    : r.reply.text());
        }
    }
}
