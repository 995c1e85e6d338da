package dev.returnpath.inbound;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.message.Addresses;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.internal.io.DotUnstuffingInputStream;
import org.subethamail.smtp.server.Session;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.Optional;

/**
 * SubEtha's per-transaction callbacks: {@code from}, {@code recipient}, {@code data},
 * {@code done}, in that order. {@code from} takes a snapshot of the configuration that the whole
 * transaction then uses. A {@link RejectException} becomes the reply on the wire.
 */
final class RelayHandler implements MessageHandler {
    private final MessageContext context;
    private final ConfigHolder configs;
    private final Receiver receiver;
    private final Clock clock;
    private final Inbound inbound;
    private Transaction transaction;

    RelayHandler(MessageContext context, ConfigHolder configs, Receiver receiver, Clock clock, Inbound inbound) {
        this.context = context;
        this.configs = configs;
        this.receiver = receiver;
        this.clock = clock;
        this.inbound = inbound;
    }

    @Override
    public void from(String reversePath) throws RejectException {
        // a graceful shutdown refuses new transactions with 421 (and closes the session)
        inbound.transactionStarted(context);
        String rp = reversePath == null ? "" : reversePath.trim();
        if (!rp.isEmpty() && !Addresses.isValidMailbox(rp)) {
            throw new RejectException(553, "5.1.7 Bad sender address syntax");
        }
        InetAddress client = ((InetSocketAddress) context.getRemoteAddress()).getAddress();
        RelayConfig cfg = configs.get();
        // the user AUTH succeeded as (ListenerAuth's handler), if it did
        Optional<String> user = context.getAuthenticationHandler().map(h -> h.getIdentity())
                .filter(String.class::isInstance).map(String.class::cast);
        transaction = new Transaction(cfg, client, context.getHelo().orElse(""), rp, ZonedDateTime.now(clock), user);
    }

    @Override
    public void recipient(String forwardPath) throws RejectException {
        // SubEtha passes RCPT arguments through unchecked
        String fp = forwardPath == null ? "" : forwardPath.trim();
        if (!Addresses.isValidMailbox(fp)) {
            throw new RejectException(501, "5.1.3 Bad recipient address syntax");
        }
        if (transaction.forwardPaths.size() >= transaction.config.listen().maxRecipients()) {
            throw new RejectException(452, "4.5.3 Too many recipients");
        }
        transaction.forwardPaths.add(fp);
    }

    @Override
    public String data(InputStream data) throws RejectException {
        // DATA (not BDAT, and no Received header stream in between) on a session whose input can
        // look ahead: read it in blocks there rather than byte by byte through SubEtha's streams,
        // which have read nothing yet (DataReceiver.receiveRaw).
        Optional<InputStream> raw = data instanceof DotUnstuffingInputStream && context instanceof Session s
                && s.getRawInput().markSupported() ? Optional.of(s.getRawInput()) : Optional.empty();
        try {
            String accepted = receiver.accept(transaction, data, raw);
            CommandErrors.accepted(context); // listen.limits.max-errors counts from 0 again
            return accepted;
        } catch (RejectException e) {
            // SubEtha does not reset the transaction after a rejected DATA: without this, the
            // next MAIL would get "503 Sender already specified".
            if (context instanceof Session s) {
                s.resetMailTransaction();
            }
            throw e;
        }
    }

    @Override
    public void done() {
        transaction = null;
        inbound.transactionEnded(context);
    }
}
