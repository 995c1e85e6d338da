package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.BareNewline;
import dev.returnpath.config.RelayConfig.Listen;
import dev.returnpath.config.RelayConfig.ListenTls;
import dev.returnpath.config.RelayConfig.ListenAuth;
import dev.returnpath.config.RelayConfig.ListenLimits;
import dev.returnpath.auth.UsersFile;
import dev.returnpath.tls.ServerCredentials;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code returnpath.listen}: where the SMTP listener binds, who may connect, and the limits of
 * one session. The host is parsed once (brackets removed) so that the listener binds what the
 * operator wrote; {@code port = 0} is any free port (tests).
 */
final class ListenSection {
    private static final String P = "returnpath.listen.";

    private ListenSection() {}

    static Listen parse(ConfigReader r) throws ConfigException {
        return new Listen(
                r.host(P + "host", "listen.port"),
                r.port(P + "port", true),
                r.cidrs(P + "allowed-networks"),
                r.bytesIn(P + "max-message-size", 1024, Integer.MAX_VALUE),
                r.intIn(P + "max-recipients", 1, 100_000),
                r.intIn(P + "max-connections", 1, 100_000),
                r.enumOf(P + "bare-newline", BareNewline.class),
                r.durationIn(P + "idle-timeout", Duration.ofSeconds(1), Duration.ofHours(1)),
                tls(r),
                implicitTlsPort(r),
                auth(r),
                limits(r));
    }

    private static ListenLimits limits(ConfigReader r) throws ConfigException {
        String L = P + "limits.";
        return new ListenLimits(
                // null in reference.conf: unset, 20 from the network and none on loopback (ListenLimits)
                r.has(L + "connections-per-client")
                        ? OptionalInt.of(r.intIn(L + "connections-per-client", 1, 100_000)) : OptionalInt.empty(),
                r.intIn(L + "messages-per-minute", 0, 1_000_000),
                r.intIn(L + "auth-failures", 1, 1000),
                r.durationIn(L + "session-timeout", Duration.ofSeconds(1), Duration.ofHours(24)),
                r.durationIn(L + "data-timeout", Duration.ofSeconds(1), Duration.ofHours(24)),
                r.intIn(L + "max-errors", 1, 10_000));
    }

    /** {@code listen.auth { users-file, require-for }}: the users file is read now (and on each reload). */
    private static ListenAuth auth(ConfigReader r) throws ConfigException {
        Optional<String> file = r.optString(P + "auth.users-file");
        List<Cidr> requireFor = r.cidrs(P + "auth.require-for");
        if (file.isEmpty()) {
            if (!requireFor.isEmpty()) {
                throw r.error(P + "auth.require-for", "needs listen.auth.users-file (whom would they authenticate as?)");
            }
            return ListenAuth.NONE;
        }
        if (r.optString(P + "tls.cert-file").isEmpty()) {
            throw r.error(P + "auth.users-file", "needs listen.tls: AUTH is offered only over TLS");
        }
        Path path = path(r, P + "auth.users-file", file.get());
        try {
            return new ListenAuth(Optional.of(UsersFile.read(path)), requireFor);
        } catch (UsersFile.UsersFileException e) {
            if (e.line() > 0) {
                // the error is in the users file: its name and line, and the key that names it
                throw new ConfigException(path.toString(), e.line(), P + "auth.users-file", e.getMessage());
            }
            throw r.error(P + "auth.users-file", e.getMessage());
        }
    }

    /** {@code listen.tls { cert-file, key-file }}: both or neither; both files read and checked now. */
    private static Optional<ListenTls> tls(ConfigReader r) throws ConfigException {
        Optional<String> cert = r.optString(P + "tls.cert-file");
        Optional<String> key = r.optString(P + "tls.key-file");
        if (cert.isEmpty() && key.isEmpty()) {
            return Optional.empty();
        }
        if (cert.isEmpty()) {
            throw r.error(P + "tls.cert-file", "missing: listen.tls needs both cert-file and key-file");
        }
        if (key.isEmpty()) {
            throw r.error(P + "tls.key-file", "missing: listen.tls needs both cert-file and key-file");
        }
        Path certFile = path(r, P + "tls.cert-file", cert.get());
        Path keyFile = path(r, P + "tls.key-file", key.get());
        try {
            return Optional.of(new ListenTls(certFile, keyFile, ServerCredentials.load(certFile, keyFile)));
        } catch (ServerCredentials.CredentialsException e) {
            throw r.error(P + (e.aboutKey() ? "tls.key-file" : "tls.cert-file"), e.getMessage());
        }
    }

    private static Path path(ConfigReader r, String key, String value) throws ConfigException {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw r.error(key, "\"" + value + "\" is not a path");
        }
    }

    /** {@code listen.implicit-tls-port}: 0 is off; it needs listen.tls and a port of its own. */
    private static int implicitTlsPort(ConfigReader r) throws ConfigException {
        int port = r.port(P + "implicit-tls-port", true);
        if (port != 0 && r.optString(P + "tls.cert-file").isEmpty()) {
            throw r.error(P + "implicit-tls-port", "needs listen.tls { cert-file, key-file }");
        }
        if (port != 0 && port == r.port(P + "port", true)) {
            throw r.error(P + "implicit-tls-port", "must differ from listen.port (" + port + ")");
        }
        return port;
    }
}
