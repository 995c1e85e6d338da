package dev.returnpath.inbound;

import dev.returnpath.auth.UsersFile;
import dev.returnpath.config.ConfigHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.server.Session;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * AUTH PLAIN (RFC 4616) and LOGIN against {@code listen.auth.users-file}, offered and accepted
 * only over TLS. SubEtha's own handlers answer a wrong password with {@code 535} and no
 * enhanced code, and its AUTH command does not ask whether TLS is on: so the handlers are
 * ours ({@code 535 5.7.8}), and {@link #gate} wraps AUTH ({@code 538 5.7.11} before TLS) and
 * MAIL ({@code 530 5.7.0} for a {@code require-for} client that has not authenticated). The
 * users are those of the configuration in force, so the file reloads with it. A password is
 * held only as a char array while it is checked, then cleared, and never logged.
 */
final class ListenerAuth implements AuthenticationHandlerFactory {
    private static final Logger mailLog = LoggerFactory.getLogger("returnpath.mail");
    static final List<String> MECHANISMS = List.of("PLAIN", "LOGIN");

    private final ConfigHolder configs;
    private final ListenerLimits limits;

    ListenerAuth(ConfigHolder configs, ListenerLimits limits) {
        this.configs = configs;
        this.limits = limits;
    }

    /** PLAIN and LOGIN while a users file is configured; none (AUTH not advertised) without one. */
    @Override
    public List<String> getAuthenticationMechanisms() {
        return configs.get().listen().auth().users().isPresent() ? MECHANISMS : List.of();
    }

    @Override
    public AuthenticationHandler create() {
        return new Handler();
    }

    private static RejectException invalid() {
        return new RejectException(535, "5.7.8 Authentication credentials invalid");
    }

    private static RejectException syntax(String what) {
        return new RejectException(501, "5.5.2 " + what);
    }

    /** One AUTH exchange; its identity is the user once it succeeded. */
    private final class Handler implements AuthenticationHandler {
        private String mechanism;
        private String loginUser;
        private String identity;

        @Override
        public Optional<String> auth(String line, MessageContext ctx) throws RejectException {
            if (mechanism == null) {
                String[] args = line.trim().split("\\s+");
                mechanism = args.length > 1 ? args[1].toUpperCase(Locale.ROOT) : "";
                String initial = args.length > 2 ? args[2] : null;
                if (mechanism.equals("PLAIN")) {
                    return initial == null ? Optional.of("334 ") : plain(initial, ctx);
                }
                if (mechanism.equals("LOGIN")) {
                    if (initial == null) {
                        return Optional.of("334 VXNlcm5hbWU6"); // "Username:"
                    }
                    loginUser = text(initial, "user name");
                    return Optional.of("334 UGFzc3dvcmQ6"); // "Password:"
                }
                throw new RejectException(504, "5.5.4 Unrecognized authentication type");
            }
            if (mechanism.equals("PLAIN")) {
                return plain(line.trim(), ctx);
            }
            if (loginUser == null) {
                loginUser = text(line.trim(), "user name");
                return Optional.of("334 UGFzc3dvcmQ6");
            }
            char[] password = chars(decode(line.trim()));
            try {
                return check(loginUser, password, ctx);
            } finally {
                Arrays.fill(password, '\0');
            }
        }

        private Optional<String> plain(String b64, MessageContext ctx) throws RejectException {
            byte[] raw = decode(b64);
            try {
                int first = indexOf(raw, 0);
                int second = first < 0 ? -1 : indexOf(raw, first + 1);
                if (second < 0) {
                    throw syntax("AUTH PLAIN needs authzid NUL authcid NUL passwd");
                }
                String authzid = utf8(Arrays.copyOfRange(raw, 0, first));
                String authcid = utf8(Arrays.copyOfRange(raw, first + 1, second));
                char[] password = chars(Arrays.copyOfRange(raw, second + 1, raw.length));
                try {
                    if (!authzid.isEmpty() && !authzid.equals(authcid)) {
                        fail(ctx, authcid, "may not act as another user");
                        throw invalid();
                    }
                    return check(authcid, password, ctx);
                } finally {
                    Arrays.fill(password, '\0');
                }
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
        }

        private Optional<String> check(String user, char[] password, MessageContext ctx) throws RejectException {
            Optional<UsersFile> users = configs.get().listen().auth().users();
            Optional<String> ok = users.flatMap(u -> u.check(user, password));
            if (ok.isEmpty()) {
                fail(ctx, user, "wrong name or password");
                throw invalid();
            }
            identity = ok.get();
            return Optional.empty();
        }

        @Override
        public Object getIdentity() {
            return identity;
        }
    }

    private void fail(MessageContext ctx, String user, String why) {
        InetAddress client = ((InetSocketAddress) ctx.getRemoteAddress()).getAddress();
        limits.authFailed(client);
        // the name as given (printable ASCII only, cut short): never the password
        String shown = user.chars().allMatch(c -> c > 0x20 && c < 0x7f) && user.length() <= 64 ? user : "(unprintable)";
        mailLog.warn("auth: failed from {} as {}: {}", client.getHostAddress(), shown, why);
    }

    private static byte[] decode(String b64) throws RejectException {
        if (b64.equals("*")) {
            throw syntax("Authentication canceled");
        }
        try {
            return Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw syntax("Not a valid base64 string");
        }
    }

    private static String text(String b64, String what) throws RejectException {
        byte[] raw = decode(b64);
        try {
            return utf8(raw);
        } catch (RejectException e) {
            throw syntax("The " + what + " is not UTF-8");
        }
    }

    private static String utf8(byte[] raw) throws RejectException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw syntax("Not UTF-8");
        }
    }

    private static char[] chars(byte[] raw) throws RejectException {
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw));
            char[] out = new char[cb.remaining()];
            cb.get(out);
            Arrays.fill(cb.array(), '\0');
            return out;
        } catch (CharacterCodingException e) {
            throw syntax("The password is not UTF-8");
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    private static int indexOf(byte[] a, int from) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- command gates

    /** AUTH: only over TLS, once, and not inside a transaction; then SubEtha's AUTH with our handlers. */
    static Command authGate(Command auth, ListenerLimits limits) {
        return new CommandErrors.Around(auth) {
            @Override
            public void execute(String commandString, Session session) throws IOException, DropConnectionException {
                InetAddress client = session.getRemoteAddress().getAddress();
                if (limits.authBlocked(client)) {
                    tooManyFailures(session, client);
                } else if (!Ehlo.tlsActive(session)) {
                    session.sendResponse("538 5.7.11 Encryption required for requested authentication mechanism");
                } else if (session.isAuthenticated()) {
                    session.sendResponse("503 5.5.1 Already authenticated");
                } else if (session.isMailTransactionInProgress()) {
                    session.sendResponse("503 5.5.1 AUTH not permitted during a mail transaction");
                } else {
                    inner.execute(commandString, session);
                    if (!session.isAuthenticated() && limits.authBlocked(client)) {
                        tooManyFailures(session, client);
                    }
                }
            }
        };
    }

    /** {@code listen.limits.auth-failures} reached: 421 and the connection closed. */
    private static void tooManyFailures(Session session, InetAddress client) throws DropConnectionException {
        mailLog.warn("disconnect: {}: listen.limits.auth-failures reached within {}", client.getHostAddress(),
                DataDeadline.written(ListenerLimits.AUTH_WINDOW));
        throw new DropConnectionException(421, "4.7.0 Too many failed authentications, try again later");
    }

    /** MAIL: a client from {@code listen.auth.require-for} must have authenticated. */
    static Command mailGate(Command mail, ConfigHolder configs, ListenerLimits limits) {
        return new CommandErrors.Around(mail) {
            @Override
            public void execute(String commandString, Session session) throws IOException, DropConnectionException {
                InetAddress client = session.getRemoteAddress().getAddress();
                if (!session.isAuthenticated() && configs.get().listen().auth().mustAuthenticate(client)) {
                    mailLog.warn("reject: MAIL from {} without AUTH: client in listen.auth.require-for",
                            client.getHostAddress());
                    session.sendResponse("530 5.7.0 Authentication required");
                    return;
                }
                if (!session.isMailTransactionInProgress()) {
                    String key = session.getAuthenticationHandler().map(h -> h.getIdentity())
                            .filter(String.class::isInstance).map(u -> "user " + u)
                            .orElse("client " + client.getHostAddress());
                    if (!limits.messageAllowed(key)) {
                        mailLog.warn("reject: MAIL from {}: {} past listen.limits.messages-per-minute",
                                client.getHostAddress(), key);
                        session.sendResponse("451 4.7.1 Too many messages from this " + key.substring(0, key.indexOf(' '))
                                + ", slow down and try again later");
                        return;
                    }
                }
                inner.execute(commandString, session);
            }
        };
    }
}
