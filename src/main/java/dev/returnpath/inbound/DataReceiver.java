package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig.BareNewline;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;

/**
 * Streams the DATA of one message to a file, never holding the body in memory, and always
 * reads the stream to its end: SubEtha would read any unread rest of the body as commands
 * so a message is drained before it is judged.
 *
 * <p>On the way it counts bytes against the size limit, finds bare CR and bare LF (the SMTP
 * smuggling vector, CVE-2023-51764 family) and either flags them or turns them into CRLF, and
 * keeps a copy of the header block, which is all that returnpath ever parses.
 *
 * <p>Two ways in. {@link #receiveRaw} reads the session's own buffered input in large blocks
 * and does what SubEtha's DATA streams do (RFC 5321 §4.5.2: a line {@code .} ends the data, a
 * leading dot is removed), stopping just before the final {@code .CRLF}, which it leaves unread
 * for SubEtha, whose drain after {@code data()} then finds the end at once. SubEtha's streams
 * read and unstuff one byte at a time through three layers of virtual calls: over half the
 * relay's CPU for 10 MiB messages (docs/benchmarks.md). {@link #receive} reads SubEtha's
 * stream as it is, for any other case (BDAT, or a stream that cannot look ahead).
 */
final class DataReceiver {

    /**
     * A header section larger than this is refused ({@code 552 5.3.4}, after DATA is drained).
     * Postfix's {@code header_size_limit} is 100 KiB for one header field (it truncates beyond);
     * here it bounds the whole section, so 256 KiB: two and a half of Postfix's largest field,
     * ten times the header of a message that went through a few ARC-signing lists. The header is
     * the part of a message the relay holds in memory (parsed, rewritten, and kept while the
     * upstream answers), so this limit times {@code max-connections} is the heap an attacker on
     * the allowed network can pin: 1 MiB sections (the former limit) copied a few times each
     * took a relay at {@code -Xmx64m} down with 12 sessions.
     */
    static final int MAX_HEADER_BYTES = 256 * 1024;

    /**
     * At most this many header fields: 209,000 fields of four bytes held 25 MB as parsed
     * {@code HeaderBlock.Field}s. A message with more (50 Received lines, a hop count limit's
     * worth, and every other field a mail client writes, are a few hundred) is refused.
     */
    static final int MAX_HEADER_FIELDS = 1000;

    private static final int CHUNK = 64 * 1024;
    /** The size of the write buffer a caller may lend to {@link #receive} and {@link #receiveRaw}. */
    static final int BUFFER = CHUNK;
    /**
     * Raw reads are marked so that what lies past the end of DATA can be given back: a block no
     * larger than SubEtha's 8 KiB input buffer never makes that buffer grow (a grown buffer would
     * stay with the session, idle or not).
     */
    private static final int RAW_BLOCK = 8192;

    /**
     * @param size        bytes written to {@code file} (after normalisation)
     * @param headerBytes the header fields, up to and including the CRLF of the last field
     * @param bodyOffset  where the empty line that ends the header section starts in the file
     *                    ({@code size} if the message has no body)
     * @param inBuffer    the message is the first {@code size} bytes of the lent buffer, and
     *                    nothing of it was written to {@code file} (only with a lent buffer)
     */
    record Received(long size, byte[] headerBytes, long bodyOffset, boolean tooBig, boolean headerTooBig,
                    boolean bareNewline, boolean inBuffer) {}

    private DataReceiver() {}

    /**
     * Reads SubEtha's DATA stream (already dot-unstuffed and ended by SubEtha) into {@code ch}
     * from offset 0 (a reused scratch file: whatever lies past the returned size is a former
     * message's and must not be read), and leaves {@code ch} open.
     */
    static Received receive(InputStream in, FileChannel ch, long maxSize, BareNewline policy, boolean fsync)
            throws IOException {
        return receive(in, ch, maxSize, policy, fsync, new byte[BUFFER], false);
    }

    /**
     * As above, with {@code buffer} ({@link #BUFFER} bytes, reused across messages) for the file's
     * writes; with {@code keepInBuffer}, a message that fits it is left there and never written
     * to {@code ch} ({@link Received#inBuffer}).
     */
    static Received receive(InputStream in, FileChannel ch, long maxSize, BareNewline policy, boolean fsync,
                            byte[] buffer, boolean keepInBuffer) throws IOException {
        Body body = new Body(ch, maxSize, policy, buffer, keepInBuffer);
        byte[] buf = new byte[CHUNK];
        // only DATA is dot-stuffed: BDAT content is taken as it is (RFC 3030 §2), "..x" included
        boolean first = in instanceof org.subethamail.smtp.internal.io.DotUnstuffingInputStream;
        int n;
        while ((n = in.read(buf)) != -1) {
            DataDeadline.check();
            int i = 0;
            if (first && n > 0) {
                first = false;
                // SubEtha 7.2.2 does not unstuff a dot on the very first line
                // (DotUnstuffingInputStream starts with last={-1,-1}); RFC 5321 §4.5.2.
                if (n >= 2 && buf[0] == '.' && buf[1] == '.') {
                    i = 1;
                } else if (n == 1 && buf[0] == '.') {
                    int next = in.read();
                    if (next == '.') {
                        i = 1;
                        buf[0] = '.';
                    } else {
                        n = next == -1 ? 1 : 2;
                        if (next != -1) {
                            buf[1] = (byte) next;
                        }
                    }
                }
            }
            body.accept(buf, i, n - i);
        }
        return body.finish(ch, fsync);
    }

    /**
     * Reads DATA from the session's raw input {@code raw} (which must support mark and reset),
     * right after the 354: removes the leading dot of each line and stops at the line {@code .},
     * leaving its three bytes {@code .CRLF} unread, and never reading past them (a pipelining
     * client's next command stays in {@code raw}). The end is a line {@code .} after CRLF only,
     * as in SubEtha: {@code LF . LF} and the like are content, and the bare-newline policy sees
     * them. Data starts at a line start, so a dot on the first line is removed too.
     */
    static Received receiveRaw(InputStream raw, FileChannel ch, long maxSize, BareNewline policy, boolean fsync)
            throws IOException {
        return receiveRaw(raw, ch, maxSize, policy, fsync, new byte[BUFFER], false);
    }

    /**
     * As above, with {@code buffer} ({@link #BUFFER} bytes, reused across messages: a buffer per
     * message was a quarter of what a relayed message allocated) for the file's writes; with
     * {@code keepInBuffer}, a message that fits it is left there and never written to {@code ch}
     * ({@link Received#inBuffer}).
     */
    static Received receiveRaw(InputStream raw, FileChannel ch, long maxSize, BareNewline policy, boolean fsync,
                               byte[] buffer, boolean keepInBuffer) throws IOException {
        Body body = new Body(ch, maxSize, policy, buffer, keepInBuffer);
        byte[] b = new byte[RAW_BLOCK];
        boolean lineStart = true; // the last two raw bytes consumed were CR LF (as at the start of DATA)
        int prev = '\n';          // the last raw byte consumed
        while (true) {
            raw.mark(RAW_BLOCK);
            int n = raw.read(b, 0, RAW_BLOCK);
            if (n == -1) {
                throw new EOFException("Pre-mature end of <CRLF>.<CRLF> terminated data");
            }
            DataDeadline.check(); // a client that trickles bytes in is cut at the DATA deadline
            int i = 0;
            int from = 0; // start of the bytes of this chunk not yet handed to body
            boolean reread = false;
            while (i < n) {
                if (lineStart) {
                    lineStart = false;
                    if (b[i] == '.') {
                        if (n - i < 3) {
                            // too close to the end of the block to tell ".CRLF" from a stuffed dot
                            body.accept(b, from, i - from);
                            raw.reset();
                            skipFully(raw, i);
                            raw.mark(3);
                            byte[] three = raw.readNBytes(3);
                            raw.reset();
                            if (three.length < 3) {
                                throw new EOFException("Pre-mature end of <CRLF>.<CRLF> terminated data");
                            }
                            if (three[1] == '\r' && three[2] == '\n') {
                                return body.finish(ch, fsync); // ".CRLF" left for SubEtha
                            }
                            skipFully(raw, 1); // the stuffed dot
                            prev = '.';
                            reread = true;
                            break;
                        }
                        if (b[i + 1] == '\r' && b[i + 2] == '\n') {
                            body.accept(b, from, i - from);
                            raw.reset();
                            skipFully(raw, i); // ".CRLF" left for SubEtha
                            return body.finish(ch, fsync);
                        }
                        body.accept(b, from, i - from); // a stuffed dot: dropped
                        prev = '.';
                        i++;
                        from = i;
                        continue;
                    }
                }
                int j = i;
                while (j < n && b[j] != '\n') {
                    j++;
                }
                if (j == n) {
                    prev = b[n - 1];
                    i = n;
                    break;
                }
                lineStart = (j > i ? b[j - 1] : prev) == '\r';
                prev = '\n';
                i = j + 1;
            }
            if (!reread) {
                body.accept(b, from, n - from); // the whole block is consumed: the mark may go
            }
        }
    }

    private static void skipFully(InputStream in, long n) throws IOException {
        while (n > 0) {
            long k = in.skip(n);
            if (k <= 0) {
                throw new EOFException("Pre-mature end of <CRLF>.<CRLF> terminated data");
            }
            n -= k;
        }
    }

    /**
     * The message as it is written: counts and limits the bytes, finds bare CR and LF (and
     * turns them into CRLF with {@code normalize}), captures the header block, and buffers the
     * file writes. Takes blocks; runs of bytes that are neither CR nor LF are copied whole.
     *
     * <p>With {@code normalize}, CRs right before a CRLF are dropped: CR CR LF is one line end.
     * That is what qmail-style clients (nullmailer) send for a line that already ended in CRLF
     * when they took it for text ending in LF (PHP's {@code mail()} writes CRLF); making it two
     * line ends would end the header section after its first field. Any other bare CR or LF
     * becomes a CRLF.
     *
     * <p>A write to the file that fails does not stop the reading: the rest of DATA must still be
     * drained, and the failure is thrown by {@link #finish}.
     */
    private static final class Body {
        private final FileChannel ch;
        /** The file's stream, opened at the first write (at offset 0: a reused scratch file). */
        private OutputStream out;
        private final boolean keepInBuffer;
        private final long max;
        private final boolean normalize;
        private final byte[] buf;
        private int len;
        long written;
        boolean tooBig;
        boolean headerTooBig;
        boolean bare;
        /**
         * Bytes of the header section so far. The header is not copied as it streams by: it is
         * the file's first bytes, read back once at {@link #finish} into an array of its exact
         * size (a growing buffer held up to twice the section, then copied it once more).
         */
        long headerLength;
        int headerFields;
        boolean headerDone;
        private boolean atLineStart = true; // the last emitted bytes were CRLF (or nothing)
        private long crs;                   // CRs seen in a row, not emitted yet
        private IOException failed;
        /** Bytes went to the file before finish: buf no longer starts at the file's first byte. */
        private boolean spilled;

        Body(FileChannel ch, long max, BareNewline policy, byte[] buf, boolean keepInBuffer) {
            this.buf = buf;
            this.ch = ch;
            this.keepInBuffer = keepInBuffer;
            this.max = max;
            this.normalize = policy == BareNewline.NORMALIZE;
        }

        void accept(byte[] b, int off, int n) {
            int i = off;
            int end = off + n;
            while (i < end) {
                if (crs > 0) {
                    if (b[i] == '\r') {
                        crs++;
                        i++;
                        continue;
                    }
                    if (b[i] == '\n') {
                        crsThenLf();
                        i++;
                        continue;
                    }
                    bareCrs(); // and b[i] is looked at below
                }
                int j = i;
                while (j < end && b[j] != '\r' && b[j] != '\n') {
                    j++;
                }
                if (j > i) {
                    text(b, i, j - i);
                    i = j;
                    if (i == end) {
                        break;
                    }
                }
                if (b[i++] == '\r') {
                    crs = 1;
                } else {
                    bare = true; // bare LF
                    if (normalize) {
                        crlf();
                    } else {
                        single('\n');
                    }
                }
            }
        }

        /** The pending CRs, then an LF: a line end, after bare CRs when there were several. */
        private void crsThenLf() {
            long extra = crs - 1;
            crs = 0;
            if (extra > 0) {
                bare = true;
                if (!normalize) {
                    for (long k = 0; k < extra; k++) {
                        single('\r');
                    }
                } // normalize: dropped, CR CR LF is one line end
            }
            crlf();
        }

        /** The pending CRs, followed by something other than CR or LF: each a bare CR. */
        private void bareCrs() {
            bare = true;
            for (; crs > 0; crs--) {
                if (normalize) {
                    crlf();
                } else {
                    single('\r');
                }
            }
        }

        Received finish(FileChannel ch, boolean fsync) throws IOException {
            if (crs > 0) {
                bareCrs();
            }
            // what was written of the header (a message over max-message-size may have stopped it)
            // (none when it is over the limit: the message is refused unread)
            int keep = headerTooBig ? 0 : (int) Math.min(headerLength, Math.min(written, max));
            // a message that fit the buffer: its header is still there, no need to read it back
            byte[] fromBuffer = !spilled && failed == null && keep <= len ? java.util.Arrays.copyOf(buf, keep) : null;
            // a message that fit the buffer and is taken as it is stays there: no write, no read back
            boolean inBuffer = keepInBuffer && !spilled && failed == null && !tooBig && written == len && !fsync;
            if (inBuffer) {
                return new Received(written, fromBuffer, headerDone ? headerLength : written, false, headerTooBig, bare,
                        true);
            }
            flush();
            if (failed != null) {
                throw failed;
            }
            if (fsync) {
                ch.force(true);
            }
            byte[] h = fromBuffer != null ? fromBuffer : new byte[keep];
            java.nio.ByteBuffer hb = java.nio.ByteBuffer.wrap(h);
            while (fromBuffer == null && hb.hasRemaining()) {
                if (ch.read(hb, hb.position()) < 0) {
                    throw new EOFException("the header section written to the spool file is gone");
                }
            }
            long bodyOffset = headerDone ? headerLength : written;
            return new Received(written, h, bodyOffset, tooBig, headerTooBig, bare, false);
        }

        private void crlf() {
            if (!headerDone) {
                if (atLineStart) {
                    headerDone = true; // the empty line: the body starts here
                } else {
                    headerBytes(CRLF, 0, 2);
                }
            }
            put(CRLF, 0, 2);
            atLineStart = true;
        }

        private static final byte[] CRLF = {'\r', '\n'};

        /** A bare CR or LF kept as it is. */
        private void single(int c) {
            byte[] one = {(byte) c};
            text(one, 0, 1);
        }

        private void text(byte[] b, int off, int n) {
            if (!headerDone) {
                if (atLineStart && b[off] != ' ' && b[off] != '\t' && ++headerFields > MAX_HEADER_FIELDS) {
                    headerTooBig = true; // a line that is not a continuation starts a field
                }
                headerBytes(b, off, n);
            }
            put(b, off, n);
            atLineStart = false;
        }

        private void headerBytes(byte[] b, int off, int n) {
            headerLength += n;
            if (headerLength > MAX_HEADER_BYTES) {
                headerTooBig = true;
            }
        }

        private void put(byte[] b, int off, int n) {
            long room = max - written;
            written += n;
            if (written > max) {
                tooBig = true; // keep draining, write no more
                n = (int) Math.max(0, room);
            }
            if (n == 0 || failed != null) {
                return;
            }
            try {
                if (n > buf.length - len) {
                    flushBuffer();
                    if (n >= buf.length) {
                        spilled = true;
                        stream().write(b, off, n);
                        return;
                    }
                }
                System.arraycopy(b, off, buf, len, n);
                len += n;
            } catch (IOException e) {
                failed = e;
            }
        }

        private void flushBuffer() throws IOException {
            if (len > 0) {
                spilled = true;
                stream().write(buf, 0, len);
                len = 0;
            }
        }

        private OutputStream stream() throws IOException {
            if (out == null) {
                ch.position(0);
                out = Channels.newOutputStream(ch); // not closed: that would close ch
            }
            return out;
        }

        private void flush() {
            if (failed == null) {
                try {
                    flushBuffer();
                    if (out != null) {
                        out.flush();
                    }
                } catch (IOException e) {
                    failed = e;
                }
            }
            len = 0;
        }
    }
}
