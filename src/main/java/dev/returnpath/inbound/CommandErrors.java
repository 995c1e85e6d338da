package dev.returnpath.inbound;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.internal.server.CommandException;
import org.subethamail.smtp.internal.server.HelpMessage;
import org.subethamail.smtp.server.Session;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;

/**
 * {@code listen.limits.max-errors}: a session that has made that many protocol errors without
 * a message accepted gets {@code 421 4.7.0} and is closed, as Postfix's
 * {@code smtpd_hard_error_limit} does. An error is a final reply of 500-504, 553 or 555: an
 * unknown command, a syntax error (553 is the listener's answer to a malformed sender), a
 * command out of sequence, an unknown parameter. Refusals of policy (530, 535, 538, 550, 552,
 * 554, 4xx) are not errors: they have limits of their own or are the relay's choice. A message accepted (250 to DATA or BDAT
 * LAST) sets the count back to 0, so a long session of good mail with the odd bad address is
 * never cut.
 *
 * <p>SubEtha's command handler is final and answers an unknown command itself, so no command
 * wrapper ever sees those. What every reply does pass through is the session's socket: the
 * session's plain socket is wrapped ({@link #watch}, at connect) and, after STARTTLS, its TLS
 * socket ({@link #startTls}); the wrapper reads the reply codes as they are written. At the
 * limit it writes the 421 after the reply that reached it, then the session is cut: further
 * replies are dropped, the input reads as ended (SubEtha's loop then closes the connection at
 * once, without waiting for the client), and a command already read ahead (pipelined after
 * the errors) runs no further than a close ({@link #gate}, around every verb): nothing sent
 * after the 421 is relayed.
 */
final class CommandErrors {
    private static final Logger mailLog = LoggerFactory.getLogger("returnpath.mail");
    static final String TOO_MANY = "421 4.7.0 Too many bad commands, closing connection";

    private CommandErrors() {}

    /** True for the final reply codes that count as a bad command. */
    static boolean counts(int code) {
        return code >= 500 && code <= 504 || code == 553 || code == 555;
    }

    /** At connect: the session's socket, watched from now on against {@code maxErrors} (read when an error is counted). */
    static void watch(Session session, IntSupplier maxErrors) throws IOException {
        session.setSocket(new Watched(session.getSocket(), new Count(session, maxErrors)));
    }

    /** The socket that a TLS layer goes over: the transport under the watch (the watch reads plain text only). */
    static Socket transport(Socket socket) {
        return socket instanceof Watched w ? w.inner : socket;
    }

    /** A message was accepted on {@code session}: its count starts again. */
    static void accepted(Object session) {
        if (session instanceof Session s && s.getSocket() instanceof Watched w) {
            w.count.reset();
        }
    }

    /**
     * STARTTLS: refused once TLS is on (the watch hides the TLS socket from SubEtha's own
     * check), else SubEtha's, and then the new TLS socket watched with the same count.
     */
    static Command startTls(Command original) {
        return new Around(original) {
            @Override
            public void execute(String commandString, Session session) throws IOException, DropConnectionException {
                if (Ehlo.tlsActive(session)) {
                    session.sendResponse("503 5.5.1 TLS already active");
                    return;
                }
                Count count = session.getSocket() instanceof Watched w ? w.count : null;
                inner.execute(commandString, session);
                Socket now = session.getSocket();
                if (count != null && !(now instanceof Watched)) {
                    session.setSocket(new Watched(now, count)); // nothing was read from the new one yet
                }
            }
        };
    }

    /** {@code command}, unless the session was cut: then it is closed and the command does not run. */
    static Command gate(Command command) {
        return new Around(command) {
            @Override
            public void execute(String commandString, Session session) throws IOException, DropConnectionException {
                if (session.getSocket() instanceof Watched w && w.count.cut) {
                    session.quit();
                    return;
                }
                inner.execute(commandString, session);
            }
        };
    }

    /** One session's errors since its last accepted message. */
    private static final class Count {
        final Session session;
        final IntSupplier max;
        int errors;
        volatile boolean cut;

        Count(Session session, IntSupplier max) {
            this.session = session;
            this.max = max;
        }

        synchronized void reset() {
            errors = 0;
        }

        /** A final reply {@code code} was written: at the limit, the session is cut. */
        synchronized void replied(int code) {
            if (!counts(code) || cut) {
                return;
            }
            errors++;
            if (errors < max.getAsInt()) {
                return;
            }
            cut = true;
            mailLog.warn("disconnect: {}: {} bad commands, listen.limits.max-errors reached",
                    session.getRemoteAddress().getAddress().getHostAddress(), errors);
        }
    }

    /**
     * The replies, read as they go out: the code in each line's first four bytes ("NNN " is a
     * final line, "NNN-" a continuation). At the limit the 421 follows the line that reached
     * it; after that nothing more is written.
     */
    private static final class Replies extends FilterOutputStream {
        private static final byte[] TOO_MANY_LINE = (TOO_MANY + "\r\n").getBytes(StandardCharsets.US_ASCII);
        private final Count count;
        private final byte[] head = new byte[4];
        /** Bytes of the current line's head seen so far (up to 4); -1 once the line is judged. */
        private int seen;

        Replies(OutputStream out, Count count) {
            super(out);
            this.count = count;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (count.cut) {
                return;
            }
            for (int i = off; i < off + len; i++) {
                byte c = b[i];
                if (c == '\n') {
                    if (seen == 3) {
                        judge(); // "250\r\n": a final line without text
                    }
                    seen = 0;
                    if (count.cut) {
                        out.write(b, off, i + 1 - off);
                        out.write(TOO_MANY_LINE);
                        return; // the rest is dropped
                    }
                } else if (seen >= 0 && seen < 4 && !(c == '\r' && seen == 3)) {
                    head[seen++] = c;
                    if (seen == 4) {
                        seen = -1;
                        if (c == ' ') {
                            judge(); // a cut takes effect at the end of this line
                        }
                    }
                }
            }
            out.write(b, off, len);
        }

        /** A final line's code, counted. */
        private void judge() {
            int code = 0;
            for (int i = 0; i < 3; i++) {
                if (head[i] < '0' || head[i] > '9') {
                    return;
                }
                code = code * 10 + (head[i] - '0');
            }
            count.replied(code);
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** The session's input; reads as ended once the session is cut, so that SubEtha's loop ends. */
    private static final class Commands extends FilterInputStream {
        private final Count count;

        Commands(InputStream in, Count count) {
            super(in);
            this.count = count;
        }

        @Override
        public int read() throws IOException {
            return count.cut ? -1 : in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return count.cut ? -1 : in.read(b, off, len);
        }

        @Override
        public int available() throws IOException {
            return count.cut ? 0 : in.available();
        }
    }

    /**
     * The session's socket with its streams watched; everything else is the socket's own. Not an
     * SSLSocket even over one: {@link Ehlo#tlsActive} asks the session, and STARTTLS asks
     * {@link #startTls}.
     */
    private static final class Watched extends Socket {
        final Socket inner;
        final Count count;
        private final InputStream in;
        private final OutputStream out;

        Watched(Socket inner, Count count) throws IOException {
            this.inner = inner;
            this.count = count;
            this.in = new Commands(inner.getInputStream(), count);
            this.out = new Replies(inner.getOutputStream(), count);
        }

        @Override public InputStream getInputStream() { return in; }
        @Override public OutputStream getOutputStream() { return out; }
        @Override public InetAddress getInetAddress() { return inner.getInetAddress(); }
        @Override public InetAddress getLocalAddress() { return inner.getLocalAddress(); }
        @Override public int getPort() { return inner.getPort(); }
        @Override public int getLocalPort() { return inner.getLocalPort(); }
        @Override public SocketAddress getRemoteSocketAddress() { return inner.getRemoteSocketAddress(); }
        @Override public SocketAddress getLocalSocketAddress() { return inner.getLocalSocketAddress(); }
        @Override public void setSoTimeout(int timeout) throws SocketException { inner.setSoTimeout(timeout); }
        @Override public int getSoTimeout() throws SocketException { return inner.getSoTimeout(); }
        @Override public void setTcpNoDelay(boolean on) throws SocketException { inner.setTcpNoDelay(on); }
        @Override public boolean getTcpNoDelay() throws SocketException { return inner.getTcpNoDelay(); }
        @Override public void setKeepAlive(boolean on) throws SocketException { inner.setKeepAlive(on); }
        @Override public boolean getKeepAlive() throws SocketException { return inner.getKeepAlive(); }
        @Override public void setSoLinger(boolean on, int linger) throws SocketException { inner.setSoLinger(on, linger); }
        @Override public int getSoLinger() throws SocketException { return inner.getSoLinger(); }
        @Override public boolean isConnected() { return inner.isConnected(); }
        @Override public boolean isBound() { return inner.isBound(); }
        @Override public boolean isClosed() { return inner.isClosed(); }
        @Override public boolean isInputShutdown() { return inner.isInputShutdown(); }
        @Override public boolean isOutputShutdown() { return inner.isOutputShutdown(); }
        @Override public void shutdownInput() throws IOException { inner.shutdownInput(); }
        @Override public void shutdownOutput() throws IOException { inner.shutdownOutput(); }
        @Override public void close() throws IOException { inner.close(); }
        @Override public String toString() { return inner.toString(); }
    }

    /** A command around another: its help and name are the inner one's. */
    abstract static class Around implements Command {
        final Command inner;

        Around(Command inner) {
            this.inner = inner;
        }

        @Override
        public HelpMessage getHelp() throws CommandException {
            return inner.getHelp();
        }

        @Override
        public String getName() {
            return inner.getName();
        }
    }
}
