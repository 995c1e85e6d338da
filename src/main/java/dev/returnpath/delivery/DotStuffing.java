package dev.returnpath.delivery;

import java.io.IOException;
import java.io.OutputStream;

/**
 * RFC 5321 §4.5.2 transparency for DATA: a dot at the start of a line is doubled, and a bare CR
 * or LF is written as CRLF (as Angus Mail does), so that the end of data can only be the one
 * {@link #finish} writes: nothing inside a body can end the DATA early upstream. Output is
 * gathered in one buffer and written in chunks of up to 64 KiB.
 */
final class DotStuffing extends OutputStream {
    private final OutputStream out;
    /** The size of the buffer a caller lends ({@link #DotStuffing(OutputStream, byte[])}). */
    static final int BUFFER = 64 * 1024 + 8;
    private final byte[] buf;
    private int len;
    private boolean lineStart = true;
    private boolean pendingCr;

    DotStuffing(OutputStream out) {
        this(out, new byte[BUFFER]);
    }

    /** With {@code buf} (at least 16 bytes; a connection reuses one for all its messages). */
    DotStuffing(OutputStream out, byte[] buf) {
        this.out = out;
        this.buf = buf;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int n) throws IOException {
        byte[] buf = this.buf;
        int len = this.len;
        boolean lineStart = this.lineStart;
        boolean pendingCr = this.pendingCr;
        int end = off + n;
        for (int i = off; i < end; i++) {
            if (len >= buf.length - 4) {
                out.write(buf, 0, len);
                len = 0;
            }
            byte c = b[i];
            if (pendingCr) {
                pendingCr = false;
                buf[len++] = '\r';
                buf[len++] = '\n';
                lineStart = true;
                if (c == '\n') {
                    continue;
                }
            }
            if (c == '\r') {
                pendingCr = true;
            } else if (c == '\n') {
                buf[len++] = '\r';
                buf[len++] = '\n';
                lineStart = true;
            } else {
                if (lineStart && c == '.') {
                    buf[len++] = '.';
                }
                buf[len++] = c;
                lineStart = false;
            }
        }
        this.len = len;
        this.lineStart = lineStart;
        this.pendingCr = pendingCr;
    }

    /** Ends the data: a final CRLF if the message lacks one, then the dot line, and writes it all. */
    void finish() throws IOException {
        if (pendingCr) {
            pendingCr = false;
            put('\r');
            put('\n');
            lineStart = true;
        }
        if (!lineStart) {
            put('\r');
            put('\n');
        }
        put('.');
        put('\r');
        put('\n');
        out.write(buf, 0, len);
        len = 0;
        out.flush();
    }

    private void put(int b) throws IOException {
        if (len >= buf.length) {
            out.write(buf, 0, len);
            len = 0;
        }
        buf[len++] = (byte) b;
    }

    @Override
    public void flush() {
        // the data goes out with finish(): one write for a small message
    }
}
