package dev.returnpath.inbound;

import dev.returnpath.message.Addresses;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.internal.server.CommandException;
import org.subethamail.smtp.internal.server.HelpMessage;
import org.subethamail.smtp.server.Session;

import java.io.IOException;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * MAIL, with its {@code SIZE=} parameter judged before SubEtha's own command sees it.
 *
 * <p>SubEtha 7.2.2 parses {@code SIZE=} with {@code Integer.parseInt}: a declared size above
 * 2^31-1, legal in RFC 1870 (up to 20 digits), threw out of the command, and the client got
 * {@code 421} and a closed connection (and the log two stack traces). A declared size over
 * {@code listen.max-message-size} is answered here with {@code 552 5.3.4}, as RFC 1870 §6
 * says; anything else goes to SubEtha's MAIL unchanged.
 */
final class MailSizeCheck implements Command {
    private final Command mail;
    private final LongSupplier maxSize;

    MailSizeCheck(Command mail, LongSupplier maxSize) {
        this.mail = mail;
        this.maxSize = maxSize;
    }

    @Override
    public void execute(String commandString, Session session) throws IOException, DropConnectionException {
        OptionalLong declared = Addresses.declaredSize(commandString.length() > 4 ? commandString.substring(4) : "");
        long max = maxSize.getAsLong();
        if (declared.isPresent() && declared.getAsLong() > max && !session.isMailTransactionInProgress()) {
            session.sendResponse("552 5.3.4 Message size exceeds fixed limit of " + max + " bytes");
            return;
        }
        mail.execute(commandString, session);
    }

    @Override
    public HelpMessage getHelp() throws CommandException {
        return mail.getHelp();
    }

    @Override
    public String getName() {
        return mail.getName();
    }
}
