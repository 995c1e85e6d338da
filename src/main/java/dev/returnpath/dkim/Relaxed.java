package dev.returnpath.dkim;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The "relaxed" canonicalizations of RFC 6376 §3.4.2 (header) and §3.4.4 (body). They work on
 * bytes, so 8-bit and invalid UTF-8 in a field or the body are hashed as they go out.
 */
final class Relaxed {
    private Relaxed() {}

    /**
     * §3.4.2: the field name in lower case, the value unfolded, every run of WSP one SP, no WSP
     * at the end of the value nor on either side of the colon, then CRLF.
     */
    static byte[] header(byte[] raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length);
        int colon = 0;
        while (colon < raw.length && raw[colon] != ':') {
            colon++;
        }
        int nameEnd = colon;
        while (nameEnd > 0 && isWsp(raw[nameEnd - 1])) {
            nameEnd--;
        }
        for (int i = 0; i < nameEnd; i++) {
            byte c = raw[i];
            out.write(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        out.write(':');
        boolean wsp = false;
        boolean started = false;
        for (int i = colon + 1; i < raw.length; i++) {
            byte c = raw[i];
            if (c == '\r' || c == '\n') {
                continue; // unfold: the CRLF goes, the WSP after it stays (and is reduced below)
            }
            if (isWsp(c)) {
                wsp = true;
                continue;
            }
            if (wsp && started) {
                out.write(' ');
            }
            wsp = false;
            started = true;
            out.write(c);
        }
        out.write('\r');
        out.write('\n');
        return out.toByteArray();
    }

    static boolean isWsp(byte c) {
        return c == ' ' || c == '\t';
    }

    /**
     * §3.4.4 as a stream, into a digest: WSP at the end of a line is dropped, other runs of WSP
     * become one SP, and the empty lines at the end of the body go; a body that is not empty
     * ends with one CRLF. Line ends are deferred until the next line with content, so that
     * trailing empty lines are never written, whatever the body's length.
     */
    static final class Body {
        private final MessageDigest digest;
        private final byte[] buf = new byte[8192];
        private int n;
        private long pendingLineEnds;
        private boolean wsp;
        private boolean cr;
        private boolean content;

        Body() {
            try {
                digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK has no SHA-256", e);
            }
        }

        void update(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                byte c = b[i];
                if (cr) {
                    cr = false;
                    if (c == '\n') {
                        lineEnd();
                        continue;
                    }
                    text((byte) '\r');
                }
                if (c == '\r') {
                    cr = true;
                } else if (c == '\n') {
                    lineEnd(); // a bare LF (the listener normalizes or refuses them): a line end too
                } else if (isWsp(c)) {
                    wsp = true;
                } else {
                    text(c);
                }
            }
        }

        private void lineEnd() {
            wsp = false;
            pendingLineEnds++;
        }

        private void text(byte c) {
            for (; pendingLineEnds > 0; pendingLineEnds--) {
                put((byte) '\r');
                put((byte) '\n');
            }
            if (wsp) {
                put((byte) ' ');
                wsp = false;
            }
            put(c);
            content = true;
        }

        private void put(byte c) {
            if (n == buf.length) {
                digest.update(buf, 0, n);
                n = 0;
            }
            buf[n++] = c;
        }

        /** The SHA-256 of the canonical body. */
        byte[] finish() {
            if (cr) {
                cr = false;
                text((byte) '\r');
            }
            if (content) {
                put((byte) '\r');
                put((byte) '\n');
            }
            digest.update(buf, 0, n);
            n = 0;
            return digest.digest();
        }
    }

    /** The relaxed body hash of {@code body}. */
    static byte[] bodyHash(byte[] body) {
        Body b = new Body();
        b.update(body, 0, body.length);
        return b.finish();
    }

    /**
     * The relaxed body hash of bytes {@code [from, to)} of {@code ch}, read with positional reads
     * (the channel's position is left alone) through {@code buffer}: never the whole body in memory.
     */
    static byte[] bodyHash(FileChannel ch, long from, long to, ByteBuffer buffer) throws IOException {
        return bodyHash(new dev.returnpath.message.MessageBytes.InFile(null, ch), from, to, buffer);
    }

    /** As above, from wherever the message lies. */
    static byte[] bodyHash(dev.returnpath.message.MessageBytes ch, long from, long to, ByteBuffer buffer) throws IOException {
        Body b = new Body();
        byte[] arr = buffer.array();
        long pos = from;
        while (pos < to) {
            buffer.clear();
            buffer.limit((int) Math.min(buffer.capacity(), to - pos));
            int r = ch.read(buffer, pos);
            if (r < 0) {
                throw new IOException("the message file ends at " + pos + ", before its " + to + " bytes");
            }
            b.update(arr, buffer.arrayOffset(), r);
            pos += r;
        }
        return b.finish();
    }
}
