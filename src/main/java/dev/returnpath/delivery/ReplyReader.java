package dev.returnpath.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads SMTP replies (RFC 5321 §4.2), each bounded three ways, because the other end may be
 * any server on the Internet: at most {@link #MAX_LINES} lines, at most {@link #MAX_BYTES}
 * bytes, and the whole reply within one deadline (a server that sends a byte a second gets no
 * more time than one that sends nothing). Past a bound it throws, and the caller drops the
 * connection: the rest of such a reply is never read, so it costs no memory.
 *
 * <p>A line longer than {@link #MAX_LINE_KEPT} is kept truncated (its bytes still count).
 */
final class ReplyReader {
    /** Lines in one reply: an EHLO reply has one per extension, a few dozen at most. */
    static final int MAX_LINES = 100;
    /** Bytes in one reply, line ends included. */
    static final int MAX_BYTES = 64 * 1024;
    /** RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; longer ones are cut here. */
    static final int MAX_LINE_KEPT = 1000;

    /** A reply longer than the bounds. */
    static final class TooLong extends IOException {
        TooLong(String message) {
            super(message);
        }
    }

    /** Something that is not an SMTP reply line. */
    static final class NotSmtp extends IOException {
        NotSmtp(String message) {
            super(message);
        }
    }

    /** One reply: its code and its lines, without the code and separator. */
    record Raw(int code, List<String> lines) {
        Reply reply() {
            StringBuilder b = new StringBuilder();
            for (String l : lines) {
                b.append(code).append(' ').append(l).append('\n');
            }
            return Reply.parse(code, b.toString());
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final byte[] buf = new byte[8192];
    private int pos;
    private int limit;
    private final byte[] line = new byte[MAX_LINE_KEPT];

    ReplyReader(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
    }

    /** Bytes received and not read yet (a pipelining server may answer ahead). */
    boolean hasBuffered() {
        return pos < limit;
    }

    /** The next reply, which must be complete within {@code timeoutNanos}. */
    Raw read(long timeoutNanos) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        List<String> lines = new ArrayList<>(2);
        int bytes = 0;
        int code = -1;
        while (true) {
            int len = 0;
            int lineBytes = 0;
            boolean ended = false;
            while (!ended) {
                if (pos == limit) {
                    fill(deadline);
                }
                while (pos < limit) {
                    byte b = buf[pos++];
                    lineBytes++;
                    if (b == '\n') {
                        ended = true;
                        break;
                    }
                    if (b != '\r' && len < line.length) {
                        line[len++] = b;
                    }
                    if (bytes + lineBytes > MAX_BYTES) {
                        throw new TooLong("over " + MAX_BYTES + " bytes");
                    }
                }
            }
            bytes += lineBytes;
            if (bytes > MAX_BYTES) {
                throw new TooLong("over " + MAX_BYTES + " bytes");
            }
            if (len < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || len > 3 && line[3] != ' ' && line[3] != '-') {
                throw new NotSmtp("not an SMTP reply: " + Reply.oneLine(new String(line, 0, len, StandardCharsets.UTF_8)));
            }
            int c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
            if (code == -1) {
                code = c;
            }
            lines.add(len > 4 ? new String(line, 4, len - 4, StandardCharsets.UTF_8) : "");
            if (len == 3 || line[3] == ' ') {
                return new Raw(c, lines);
            }
            if (lines.size() >= MAX_LINES) {
                throw new TooLong("over " + MAX_LINES + " lines");
            }
        }
    }

    private void fill(long deadline) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException("no complete reply within the command timeout");
        }
        socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, left / 1_000_000)));
        int n;
        try {
            n = in.read(buf, 0, buf.length);
        } catch (SocketTimeoutException e) {
            throw new SocketTimeoutException("no complete reply within the command timeout");
        }
        if (n < 0) {
            throw new java.io.EOFException("connection closed");
        }
        pos = 0;
        limit = n;
    }

    private static boolean digit(byte b) {
        return b >= '0' && b <= '9';
    }
}
