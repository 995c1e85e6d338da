package dev.returnpath.inbound;

import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.internal.server.CommandException;
import org.subethamail.smtp.internal.server.HelpMessage;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;

import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * EHLO, replacing SubEtha 7.2.2's, which advertises STARTTLS again after TLS has started
 * (RFC 3207 §4.2: the server must not offer it then) and knows nothing of the implicit-TLS
 * port, and does not offer PIPELINING. The extensions: PIPELINING (RFC 2920; the replies to a
 * pipelined group go out in one write, {@link CoalescedReplies}), then SubEtha's, in its order:
 * 8BITMIME, SIZE, STARTTLS (on a plain session when TLS is configured), CHUNKING, SMTPUTF8,
 * AUTH (only over TLS).
 */
final class Ehlo implements Command {
    private final Command original;

    Ehlo(Command original) {
        this.original = original;
    }

    /** True once the session is encrypted: after STARTTLS, or from the first byte on the implicit-TLS port. */
    static boolean tlsActive(Session session) {
        return session.isTLSStarted() || session.getSocket() instanceof SSLSocket;
    }

    @Override
    public void execute(String commandString, Session session) throws IOException {
        String[] args = commandString.trim().split("\\s+");
        if (args.length < 2) {
            session.sendResponse("501 5.5.4 Syntax: EHLO hostname");
            return;
        }
        session.resetMailTransaction();
        session.setHelo(args[1]);
        SMTPServer server = session.getServer();
        boolean tls = tlsActive(session);
        StringBuilder b = new StringBuilder("250-").append(server.getHostName());
        // RFC 2920: SubEtha reads a pipelined group in order; CoalescedReplies answers it in one write
        b.append("\r\n250-PIPELINING");
        b.append("\r\n250-8BITMIME");
        if (server.getMaxMessageSize() > 0) {
            b.append("\r\n250-SIZE ").append(server.getMaxMessageSize());
        }
        if (server.getEnableTLS() && !server.getHideTLS() && !tls) {
            b.append("\r\n250-STARTTLS");
        }
        b.append("\r\n250-CHUNKING");
        b.append("\r\n250-SMTPUTF8");
        Optional<AuthenticationHandlerFactory> auth = server.getAuthenticationHandlerFactory();
        if (auth.isPresent() && tls) {
            List<String> mechanisms = auth.get().getAuthenticationMechanisms();
            if (!mechanisms.isEmpty()) {
                b.append("\r\n250-AUTH ").append(String.join(" ", mechanisms));
            }
        }
        b.append("\r\n250 Ok");
        session.sendResponse(b.toString());
    }

    @Override
    public HelpMessage getHelp() throws CommandException {
        return original.getHelp();
    }

    @Override
    public String getName() {
        return original.getName();
    }
}
