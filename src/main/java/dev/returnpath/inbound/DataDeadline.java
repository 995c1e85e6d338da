package dev.returnpath.inbound;

import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.internal.server.CommandException;
import org.subethamail.smtp.internal.server.HelpMessage;
import org.subethamail.smtp.server.Session;

import java.io.IOException;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * The whole-DATA deadline ({@code listen.limits.data-timeout}): a client must finish its DATA
 * (or its BDAT chunks) within it, however it trickles the bytes in. The idle timeout alone is
 * not enough: one byte every 1.5 s kept a DATA open for as long as the client liked, and a few
 * such clients hold every connection the relay allows.
 *
 * <p>SubEtha's DATA and BDAT commands are wrapped ({@link #around}): the deadline is set for the
 * session's thread while the command runs, and {@link DataReceiver} checks it after every read
 * ({@link #check}), throwing {@link Exceeded}; the relay answers {@code 421 4.4.2} and closes
 * the connection without draining the rest (draining is what the client is slow at).
 */
final class DataDeadline {
    /** The deadline (System.nanoTime) of the DATA the current session thread is reading, if any. */
    private static final ThreadLocal<long[]> CURRENT = new ThreadLocal<>();

    private DataDeadline() {}

    /** DATA was not complete in time; what the client sent so far is discarded. */
    static final class Exceeded extends IOException {
        final Duration timeout;

        Exceeded(Duration timeout) {
            super("DATA not complete within " + timeout);
            this.timeout = timeout;
        }
    }

    /** Throws {@link Exceeded} when the DATA being read on this thread is past its deadline. */
    static void check() throws Exceeded {
        long[] d = CURRENT.get();
        if (d != null && System.nanoTime() - d[0] > 0) {
            throw new Exceeded(Duration.ofNanos(d[1]));
        }
    }

    /** {@code command} (DATA or BDAT) run with a deadline of {@code timeout} from its start. */
    static Command around(Command command, Supplier<Duration> timeout) {
        return new Command() {
            @Override
            public void execute(String commandString, Session session) throws IOException, DropConnectionException {
                long[] outer = CURRENT.get();
                if (outer != null) {
                    command.execute(commandString, session); // nested: the first deadline holds
                    return;
                }
                long t = timeout.get().toNanos();
                CURRENT.set(new long[]{System.nanoTime() + t, t});
                try {
                    command.execute(commandString, session);
                } finally {
                    CURRENT.remove();
                }
            }

            @Override
            public HelpMessage getHelp() throws CommandException {
                return command.getHelp();
            }

            @Override
            public String getName() {
                return command.getName();
            }
        };
    }
}
