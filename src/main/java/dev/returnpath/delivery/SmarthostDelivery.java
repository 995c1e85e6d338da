package dev.returnpath.delivery;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.config.RelayConfig.SmarthostTls;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.SmtpConnection.Dial;
import dev.returnpath.delivery.SmtpConnection.Login;
import dev.returnpath.delivery.SmtpConnection.TlsMode;
import dev.returnpath.oauth.TokenSource;

import javax.net.ssl.SSLSocketFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Delivery to a smarthost ({@link NextHop.Relay}) with the engine ({@link SmtpClient}), over
 * its pool: steady traffic pays one TCP and TLS handshake per connection, not per message.
 *
 * <p>The message goes out byte for byte (the relay's header block, then the spooled body),
 * dot-stuffed, bare CR or LF written as CRLF, so nothing inside a body can end the DATA early.
 *
 * <p>TLS: {@code starttls} requires STARTTLS (no plaintext fallback), {@code implicit} is TLS
 * from the first byte; both verify the certificate chain and the host name, against the JDK's
 * trust store or a private CA file. There is no trust-all option. AUTH PLAIN (or LOGIN when
 * that is all the server offers, or the one {@code auth} names) with the configured
 * credentials, or XOAUTH2 with a token from the smarthost's own {@link TokenSource}, reused by
 * every connection until it is due for refresh.
 */
public final class SmarthostDelivery implements Delivery {
    private final RelayConfig.Smarthost smarthost;
    private final SmtpClient engine;
    private final boolean ownsEngine;
    private final Map<Path, SSLSocketFactory> trust = new ConcurrentHashMap<>();
    /** One token source per XOAUTH2 smarthost (per route), for as long as this delivery lives. */
    private final Map<RelayConfig.Smarthost, TokenSource> tokens = new ConcurrentHashMap<>();
    private final Clock clock;

    /** The smarthost of {@code delivery.smarthost}, with an engine of its own. */
    public SmarthostDelivery(RelayConfig config) {
        this(config, new SmtpClient(settings(config)), true, true, Clock.systemUTC());
    }

    SmarthostDelivery(RelayConfig config, SmtpClient engine, boolean ownsEngine) {
        this(config, engine, ownsEngine, true, Clock.systemUTC());
    }

    /**
     * {@code defaultSmarthost} false: the instance delivers only to the hops it is given
     * ({@link #deliver(NextHop.Relay, Envelope, OutboundMessage)}: a route's smarthost), so
     * {@code delivery.smarthost.host} need not be set.
     */
    SmarthostDelivery(RelayConfig config, SmtpClient engine, boolean ownsEngine, boolean defaultSmarthost) {
        this(config, engine, ownsEngine, defaultSmarthost, Clock.systemUTC());
    }

    /** {@code clock} decides when a token is due for refresh (tests pass a MutableClock). */
    SmarthostDelivery(RelayConfig config, SmtpClient engine, boolean ownsEngine, boolean defaultSmarthost, Clock clock) {
        this.smarthost = config.delivery().smarthost();
        if (defaultSmarthost && smarthost.host().isEmpty()) {
            throw new IllegalArgumentException("delivery.smarthost.host is not set");
        }
        this.engine = engine;
        this.ownsEngine = ownsEngine;
        this.clock = clock;
    }

    static SmtpClient.Settings settings(RelayConfig config) {
        return new SmtpClient.Settings(config.hostname(), config.delivery().connectTimeout(), config.delivery().commandTimeout());
    }

    /** {@code host[ip]:port}, as Postfix names a relay in its log. */
    public String relayName() {
        return relayName(smarthost, address(smarthost.host().orElseThrow()));
    }

    static String relayName(RelayConfig.Smarthost sm, Optional<InetAddress> address) {
        return sm.host().orElseThrow() + "[" + address.map(InetAddress::getHostAddress).orElse("unknown") + "]:" + sm.port();
    }

    private static Optional<InetAddress> address(String host) {
        try {
            return Optional.of(InetAddress.getByName(host));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    @Override
    public DeliveryOutcome deliver(Envelope envelope, OutboundMessage message) {
        return deliver(new NextHop.Relay(Router.DEFAULT_ROUTE, smarthost), envelope, message);
    }

    /** Delivers {@code envelope} to the smarthost of {@code hop}. */
    DeliveryOutcome deliver(NextHop.Relay hop, Envelope envelope, OutboundMessage message) {
        long start = System.nanoTime();
        RelayConfig.Smarthost sm = hop.smarthost();
        String host = sm.host().orElseThrow();
        String where = where(sm);
        Optional<InetAddress> address = address(host);
        String relay = relayName(sm, address);
        List<RecipientOutcome> outcomes;
        if (address.isEmpty()) {
            outcomes = SmtpClient.all(envelope.forwardPaths(), DeliveryOutcome.Status.DEFERRED,
                    Failure.CONNECT.reply(where, "unknown host " + host), false, relay, true, false).outcomes();
        } else {
            outcomes = engine.deliver(hop, dial(sm, address.get(), relay, true), true,
                    envelope.reversePath(), envelope.forwardPaths(), message, true).outcomes();
        }
        return new DeliveryOutcome(relay, outcomes, (System.nanoTime() - start) / 1e9);
    }

    static String where(RelayConfig.Smarthost sm) {
        String host = sm.host().orElseThrow();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + sm.port();
    }

    /** How to reach {@code sm}; {@code withLogin} false leaves AUTH out (the doctor's first steps). */
    Dial dial(RelayConfig.Smarthost sm, InetAddress address, String relay, boolean withLogin) {
        return dial(sm, sm.tls(), address, relay, withLogin);
    }

    Dial dial(RelayConfig.Smarthost sm, SmarthostTls mode, InetAddress address, String relay, boolean withLogin) {
        TlsMode tls = switch (mode) {
            case STARTTLS -> TlsMode.STARTTLS;
            case IMPLICIT -> TlsMode.IMPLICIT;
            case NONE -> TlsMode.NONE;
        };
        SSLSocketFactory verified = sm.caFile().map(f -> trust.computeIfAbsent(f, Tls::trusting)).orElseGet(Tls::jdk);
        Optional<Login> login = withLogin && sm.username().isPresent()
                ? Optional.of(new Login(sm.username().get(), sm.password().orElse(""), sm.auth(), tokens(sm)))
                : Optional.empty();
        return new Dial(sm.host().orElseThrow(), address, sm.port(), where(sm), relay, tls, verified, login, false);
    }

    SmtpClient engine() {
        return engine;
    }

    /** The token source of an XOAUTH2 smarthost: made once, shared by every connection to it. */
    Optional<TokenSource> tokens(RelayConfig.Smarthost sm) {
        if (sm.auth() != RelayConfig.SmarthostAuth.XOAUTH2 || sm.oauth().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(tokens.computeIfAbsent(sm, s -> new TokenSource(s.oauth().orElseThrow(), s.username().orElseThrow(), clock)));
    }

    /** An SSL socket factory that trusts the certificates in {@code caFile} (PEM), and only them. */
    static SSLSocketFactory trusting(Path caFile) {
        return Tls.trusting(caFile);
    }

    /** Writes in progress with a deadline armed (each write's, while it is under way). */
    int pendingWriteTimeouts() {
        return engine.pendingWriteDeadlines();
    }

    /** Connections idle in the pool. */
    int pooledConnections() {
        return engine.pooled();
    }

    /** Hops with a pool. */
    int pooledHops() {
        return engine.pooledHops();
    }

    /** Runs the pool's sweep as if the wall clock said {@code nowMillis}. */
    void sweepPool(long nowMillis) {
        engine.sweep(nowMillis);
    }

    @Override
    public void close() {
        if (ownsEngine) {
            engine.close();
        }
        tokens.values().forEach(TokenSource::close);
    }
}
