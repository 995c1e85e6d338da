package dev.returnpath.inbound;

import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.server.ServerSocketCreator;
import org.subethamail.smtp.server.Session;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Replies to a pipelining client (RFC 2920) in one write per group of commands, as Postfix's
 * smtpd does, instead of SubEtha's write and flush per reply.
 *
 * <p>The listener's sockets are {@link ReplySocket}s: what is written to one is held, and its
 * flush does not write; the held bytes go out before any read of the socket (so before the
 * session could wait for the client, which therefore never waits for a reply it is owed), when
 * the socket's output is closed (the 221 to QUIT, a 421 and its close), and right after the
 * reply to DATA and to each BDAT chunk ({@link #flushingAfter}: the reply a client waits for
 * after the message is never held behind commands it pipelined after the dot). A lockstep
 * client therefore sees exactly one write per reply, as before; a pipelining one gets the
 * replies to MAIL, every RCPT and DATA in one segment. Under TLS the same holds for the TLS
 * records: the TLS socket is layered over the {@link ReplySocket}.
 *
 * <p>Nothing is held across a wait, so nothing can be lost or reordered: the bytes are the
 * same, in the same order, only in fewer writes. The held bytes are bounded: past
 * {@link #HOLD_LIMIT} they are written at once.
 */
final class CoalescedReplies {
    /** Held bytes past which a write goes out at once (an EHLO reply is a few hundred). */
    static final int HOLD_LIMIT = 16 * 1024;

    /** The reply socket whose input this thread read last: the session's, on a session thread. */
    private static final ThreadLocal<ReplySocket> LAST_READ = new ThreadLocal<>();

    private CoalescedReplies() {}

    /** Server sockets whose accepted sockets are {@link ReplySocket}s. */
    static ServerSocketCreator serverSockets() {
        return ReplyServerSocket::new;
    }

    /** Writes what this session thread's socket holds (a no-op when it holds nothing). */
    static void flushHeld() throws IOException {
        ReplySocket s = LAST_READ.get();
        if (s != null) {
            s.out.writeHeld();
        }
    }

    /** {@code command} with its replies written as soon as it is done (DATA, BDAT). */
    static Command flushingAfter(Command command) {
        return new CommandErrors.Around(command) {
            @Override
            public void execute(String commandString, Session session) throws IOException, DropConnectionException {
                try {
                    inner.execute(commandString, session);
                } finally {
                    flushHeld();
                }
            }
        };
    }

    /** A server socket that accepts {@link ReplySocket}s. */
    static class ReplyServerSocket extends ServerSocket {
        ReplyServerSocket() throws IOException {
            super();
        }

        @Override
        public Socket accept() throws IOException {
            if (isClosed()) {
                throw new SocketException("Socket is closed");
            }
            ReplySocket s = new ReplySocket();
            implAccept(s);
            return s;
        }
    }

    /** A plain socket whose output is held until its input is read, or its output closed or flushed by the relay. */
    static final class ReplySocket extends Socket {
        private HeldOutput out;
        private InputStream in;

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                getOutputStream(); // the input writes what the output holds
                in = new FlushingInput(super.getInputStream(), this);
            }
            return in;
        }

        @Override
        public synchronized OutputStream getOutputStream() throws IOException {
            if (out == null) {
                out = new HeldOutput(super.getOutputStream());
            }
            return out;
        }

        /**
         * Writes what is held, then closes: a TLS layer closes its transport this way after
         * its last record. A close from another thread while the session's thread is in a write
         * (a client that does not read) closes at once, as before.
         */
        @Override
        public void close() throws IOException {
            try {
                writeHeldUnlessBusy();
            } finally {
                super.close();
            }
        }

        /** Writes what is held first: TLS half-closes its transport this way after its close_notify. */
        @Override
        public void shutdownOutput() throws IOException {
            try {
                writeHeldUnlessBusy();
            } finally {
                super.shutdownOutput();
            }
        }

        private void writeHeldUnlessBusy() {
            HeldOutput o;
            synchronized (this) {
                o = out;
            }
            try {
                if (o != null && !isClosed() && !isOutputShutdown()) {
                    o.writeHeldUnlessBusy();
                }
            } catch (IOException ignored) {
                // closing anyway: the client is gone
            }
        }
    }

    /** The socket's input: every read first writes what the output holds. */
    private static final class FlushingInput extends FilterInputStream {
        private final ReplySocket socket;

        FlushingInput(InputStream in, ReplySocket socket) {
            super(in);
            this.socket = socket;
        }

        private void beforeRead() throws IOException {
            if (LAST_READ.get() != socket) {
                LAST_READ.set(socket);
            }
            socket.out.writeHeld();
        }

        @Override
        public int read() throws IOException {
            beforeRead();
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            beforeRead();
            return in.read(b, off, len);
        }

        @Override
        public long skip(long n) throws IOException {
            beforeRead();
            return in.skip(n);
        }
    }

    /** The socket's output: writes are held; flush holds them too; {@link #writeHeld} and close write them. */
    private static final class HeldOutput extends OutputStream {
        private final OutputStream out;
        private final ReentrantLock lock = new ReentrantLock();
        private byte[] buf = new byte[512];
        private int len;
        private boolean closed;

        HeldOutput(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int n) throws IOException {
            lock.lock();
            try {
                if (closed) {
                    throw new SocketException("Socket output is closed");
                }
                if (len + n > HOLD_LIMIT) {
                    writeHeld();
                    out.write(b, off, n);
                    return;
                }
                if (len + n > buf.length) {
                    buf = Arrays.copyOf(buf, Math.max(len + n, buf.length * 2));
                }
                System.arraycopy(b, off, buf, len, n);
                len += n;
            } finally {
                lock.unlock();
            }
        }

        /** Held, not written: the next read of the socket, or {@link #writeHeld}, writes it. */
        @Override
        public void flush() {
        }

        void writeHeld() throws IOException {
            lock.lock();
            try {
                if (len > 0) {
                    int n = len;
                    len = 0; // whatever happens, these bytes are not written twice
                    out.write(buf, 0, n);
                    out.flush();
                }
            } finally {
                lock.unlock();
            }
        }

        /** {@link #writeHeld}, unless another thread is writing (then nothing: the caller closes). */
        void writeHeldUnlessBusy() throws IOException {
            if (lock.tryLock()) {
                try {
                    writeHeld();
                } finally {
                    lock.unlock();
                }
            }
        }

        @Override
        public void close() throws IOException {
            lock.lock();
            try {
                if (closed) {
                    return;
                }
                closed = true;
                try {
                    writeHeld();
                } finally {
                    out.close();
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
