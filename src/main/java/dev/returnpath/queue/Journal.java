package dev.returnpath.queue;

import dev.returnpath.delivery.OutboundMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The spool's journal ({@code queue.dir/journal/}): where a new message becomes durable before
 * its 250, many messages per fsync.
 *
 * <p>A commit appends one record, the envelope and the message, to the current segment file;
 * a committer thread runs one {@code fdatasync} of that segment for every commit waiting, and
 * releases them together (group commit: sixteen sessions committing at once cost one sync, and
 * no file is created, so the file system allocates no inode per message). When the message
 * leaves the journal (delivered or bounced on its first attempt, or moved to per-entry files
 * in {@code queue/} because it must wait for a retry) a small release record is appended, not
 * synced: losing it in a crash can only deliver a message twice, never lose one.
 *
 * <p>A segment opens with its header, written twice: {@code magic(4) 'S' length=16(4) salt(16)
 * crc32c(4)}, the salt 16 random bytes per segment. Then the records: {@code magic(4) type(1)
 * length(4) payload(length) crc32c(4)}, big-endian; the CRC is seeded with the segment's salt and
 * covers type, length and payload. An entry's payload is {@code envelope-length(4) envelope
 * message}, the envelope in {@link QueueEntry}'s text format; a release's is the queue ID.
 * (Segments written before the header existed, unsalted, are still read; see {@link #scanReport}.)
 *
 * <p>Why every acknowledged record is found: records are appended one after the other under one
 * lock, and a commit is acknowledged only after a sync that began once its record was written,
 * so a crash leaves at most a torn or missing tail after them. A record damaged later (a flipped
 * bit, a bad sector) does not end the scan: it resynchronises at the next valid record, and the
 * segment is set aside in {@code queue.dir/corrupt/} with an ERROR line instead of being deleted
 * ({@link Spool}). Why resynchronising cannot read an app's bytes as a record: an app that
 * shapes its message like a record cannot compute a CRC seeded with a salt it never sees, and a
 * scan that does not resynchronise never looks inside a valid record's payload at all.
 *
 * <p>Segments are deleted oldest first, once every entry they hold was released: a release
 * record is always in the same or a later segment than its entry, so it outlives the entry's
 * record. Before a deletion the current segment is synced, so that the releases it depends on
 * are durable. So that one stalled first attempt cannot keep every later segment on disk, the
 * queue runner moves entries older than {@code QueueRunner.LONG_FIRST_ATTEMPT} to
 * {@code queue/} ({@link Spool#moveLongFirstAttempts}).
 *
 * <p>{@code serve} never keeps a journal across a restart: at start every entry still in it is
 * moved to {@code queue/} (see {@link Spool#open}) and the segments are deleted.
 */
final class Journal implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath.queue");

    static final int MAGIC = 0x52504a31; // "RPJ1"
    static final byte ENTRY = 'E';
    static final byte RELEASE = 'R';
    static final byte SEGMENT = 'S';
    static final int HEADER = 9;
    static final int TRAILER = 4;
    static final long DEFAULT_SEGMENT_LIMIT = 32L << 20;
    /** Zeros written ahead of the records at a time (see {@link #allocate}). */
    static final long ALLOCATION_STEP = 1L << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024);
    private static final java.security.SecureRandom SALTS = new java.security.SecureRandom();

    /** One segment file; {@code size} and {@code live} are guarded by the append lock. */
    static final class Segment {
        final long number;
        final Path path;
        final FileChannel channel;
        final byte[] salt;
        long size;       // where the next record goes
        long allocated;  // the file's size: zeros from size up to here
        int live;
        boolean broken;

        Segment(long number, Path path, FileChannel channel, byte[] salt, long size) {
            this.number = number;
            this.path = path;
            this.channel = channel;
            this.salt = salt;
            this.size = size;
            this.allocated = size;
        }
    }

    /**
     * An entry in the journal and where its message lies. Reads open the segment file afresh
     * (not the appending channel), so that a reader holds its own descriptor: a segment deleted
     * while a delivery copies from it stays readable to the end.
     */
    record Located(QueueEntry entry, Segment segment, long messageOffset, long messageLength, long committedAt) {
        OutboundMessage message() {
            return new OutboundMessage(new byte[0], segment.path, messageOffset, messageOffset + messageLength);
        }

        InputStream open() throws IOException {
            FileChannel ch = FileChannel.open(segment.path, StandardOpenOption.READ);
            return new SliceInputStream(ch, messageOffset, messageOffset + messageLength);
        }
    }

    /** An entry found by a scan, before anything was decided about it. */
    record Found(QueueEntry entry, Path segment, long messageOffset, long messageLength) {
    }

    private final Path dir;
    private final long segmentLimit;
    private final boolean writable;
    private final ReentrantLock appendLock = new ReentrantLock();
    private final Deque<Segment> segments = new ArrayDeque<>(); // oldest first; the last is current
    private final Map<String, Located> entries = new ConcurrentHashMap<>();
    private final GroupSync syncs;
    private final SpoolFiles files;
    private volatile Segment current;
    private long nextNumber;

    private Journal(Path dir, long segmentLimit, boolean writable, long nextNumber, SpoolFiles files) {
        this.dir = dir;
        this.files = files;
        this.segmentLimit = segmentLimit;
        this.writable = writable;
        this.nextNumber = nextNumber;
        this.syncs = writable ? new GroupSync("journal-commit", this::syncCurrent) : null;
    }

    /**
     * A fresh journal for {@code serve}, in a directory whose old segments {@link #recover} has
     * already emptied. The first segment is created by the first commit.
     */
    static Journal writer(Path dir, long segmentLimit, long nextNumber) throws IOException {
        return writer(dir, segmentLimit, nextNumber, SpoolFiles.SYSTEM);
    }

    /** As {@link #writer(Path, long, long)}, changing the disk through {@code files} (the crash-state tests' layer). */
    static Journal writer(Path dir, long segmentLimit, long nextNumber, SpoolFiles files) throws IOException {
        SpoolDirectory.refuseSymbolicLink(dir);
        SpoolDirectory.createPrivateDirectory(dir);
        return new Journal(dir, segmentLimit, true, nextNumber, files);
    }

    /**
     * What a running (or stopped) {@code serve} holds in its journal, for the {@code queue}
     * command: the entries not released, read from the segments as they are now.
     */
    static Journal reader(Path dir) throws IOException {
        Journal j = new Journal(dir, DEFAULT_SEGMENT_LIMIT, false, 0, SpoolFiles.SYSTEM);
        for (Path p : segmentFiles(dir)) {
            FileChannel ch;
            try {
                ch = FileChannel.open(p, StandardOpenOption.READ);
            } catch (NoSuchFileException gone) {
                continue; // released and deleted by serve since the listing
            }
            Segment seg = new Segment(0, p, ch, new byte[0], ch.size());
            j.segments.addLast(seg);
            scan(p, ch, new Visitor() {
                @Override
                public void entry(Found f) {
                    j.entries.put(f.entry().id(), new Located(f.entry(), seg, f.messageOffset(), f.messageLength(),
                            System.nanoTime()));
                }

                @Override
                public void release(String id) {
                    j.entries.remove(id);
                }
            });
        }
        return j;
    }

    /** The segment files of {@code dir}, oldest first. */
    static List<Path> segmentFiles(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.log")) {
            ds.forEach(out::add);
        }
        out.sort(null); // fixed-width hex numbers
        return out;
    }

    static long segmentNumber(Path p) {
        String name = p.getFileName().toString();
        try {
            return Long.parseLong(name.substring(0, name.length() - ".log".length()), 16);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * What a scan of one segment found wrong: a stretch of bytes from {@code offset} that holds
     * no valid record, up to {@code resumedAt} where the scan found the next valid one (or -1:
     * nothing valid follows). {@code lost} is the number of records in the stretch when the
     * damaged record's header still gave its length (1), or -1 when it is not known (at least
     * one). {@code lostId} is the queue ID the damaged record's envelope still names, or "".
     */
    record Damage(long offset, long resumedAt, int lost, String reason, String lostId) {
    }

    /**
     * The result of a scan: where the valid records end, what was damaged, and how many records
     * were read after the first damage (recovered by resynchronising).
     */
    record ScanReport(long end, List<Damage> damages, int recoveredAfterDamage, boolean legacy) {
        boolean damaged() {
            return !damages.isEmpty();
        }
    }

    /** What {@link #recover} found: the live entries, and the report of every damaged segment. */
    record Recovery(Map<String, Found> live, Map<Path, ScanReport> damaged) {
    }

    /**
     * Reads every segment of {@code dir} and returns the entries that were committed and never
     * released, in commit order, with a report for each segment where a record was damaged;
     * the caller moves the entries elsewhere, then deletes the undamaged segments and sets the
     * damaged ones aside.
     */
    static Recovery recover(Path dir) throws IOException {
        Map<String, Found> live = new LinkedHashMap<>();
        Map<Path, ScanReport> damaged = new LinkedHashMap<>();
        for (Path p : segmentFiles(dir)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                ScanReport r = scanReport(p, ch, new Visitor() {
                    @Override
                    public void entry(Found f) {
                        live.put(f.entry().id(), f);
                    }

                    @Override
                    public void release(String id) {
                        live.remove(id);
                    }
                });
                if (r.damaged()) {
                    damaged.put(p, r);
                }
                log.debug("journal {}: records end at {} of {} bytes", p.getFileName(), r.end(), ch.size());
            }
        }
        return new Recovery(live, damaged);
    }

    interface Visitor {
        void entry(Found f);

        void release(String id);
    }

    /** {@link #scanReport}, for callers that need only the offset where the valid records end. */
    static long scan(Path path, FileChannel ch, Visitor visitor) throws IOException {
        return scanReport(path, ch, visitor).end();
    }

    /** A record read by {@link #readRecord}: its type and payload length, its CRC checked. */
    private record Header(byte type, int length, long end) {
    }

    /**
     * Visits the valid records of one segment in order.
     *
     * <p>A segment starts with its header, twice: {@code magic 'S' 16 salt crc32c}, the salt
     * random per segment. Every record's CRC32C is seeded with that salt. After a record that is
     * not valid (a flipped bit, a torn write) the scan does not stop: it searches forward, byte by
     * byte, for the next offset holding the magic, a type, a length that fits, and a CRC that
     * matches under the salt, and goes on from there. A resynchronised record cannot be one an
     * app shaped inside its message: the app would have to compute the salted CRC of its fake
     * record, and the salt is 16 random bytes it never sees (files 0600), so a forgery passes with
     * probability 2^-32. The first record after a resync must in addition be a release, or an entry
     * whose envelope parses and whose ID this segment has not had yet.
     *
     * <p>A segment of the earlier format (no segment header, unsalted CRCs) cannot be resynchronised
     * safely: its scan stops at the first invalid record, as it always did, and reports it.
     *
     * <p>Zeros from an invalid offset to the end of the file are the space written ahead
     * ({@link #allocate}): the end of the records, not damage.
     */
    static ScanReport scanReport(Path path, FileChannel ch, Visitor visitor) throws IOException {
        long size = ch.size();
        byte[] salt = readSalt(ch, size);
        boolean legacy = salt == null;
        List<Damage> damages = new ArrayList<>();
        if (legacy) {
            if (size >= HEADER && isSegmentHeaderAt(ch, 0, size)) {
                // both copies of the header are damaged: no record can be checked
                damages.add(new Damage(0, -1, -1, "both copies of the segment header are damaged", ""));
                return new ScanReport(0, damages, 0, false);
            }
            salt = new byte[0];
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        long pos = legacy ? 0 : SEGMENT_START;
        int recovered = 0;
        boolean resynced = false;
        while (pos + HEADER + TRAILER <= size) {
            Header h = readRecord(ch, pos, size, salt);
            if (h == null) {
                if (zerosFrom(ch, pos, size)) {
                    return new ScanReport(pos, damages, recovered, legacy);
                }
                Header claimed = readHeader(ch, pos, size);
                String reason = claimed == null ? "invalid header" : "checksum mismatch";
                String lostId = claimed == null ? "" : envelopeId(ch, pos, claimed);
                if (legacy) {
                    damages.add(new Damage(pos, -1, -1, reason, lostId));
                    return new ScanReport(pos, damages, recovered, true);
                }
                long next = -1;
                int lost = -1;
                if (claimed != null && readRecord(ch, claimed.end(), size, salt) != null) {
                    next = claimed.end(); // only this record is damaged: its length still led to the next
                    lost = 1;
                } else {
                    next = resync(ch, pos + 1, size, salt, seen);
                }
                damages.add(new Damage(pos, next, lost, reason, lostId));
                if (next < 0) {
                    return new ScanReport(pos, damages, recovered, false);
                }
                pos = next;
                resynced = true;
                continue;
            }
            if (visit(path, ch, pos, h, visitor, seen) && resynced) {
                recovered++;
            }
            pos = h.end();
        }
        if (pos < size && !zerosFrom(ch, pos, size)) {
            // fewer bytes left than a record needs, and not zeros: a torn last write
            damages.add(new Damage(pos, -1, -1, "truncated record", ""));
        }
        return new ScanReport(pos, damages, recovered, legacy);
    }

    /** Hands one valid record to the visitor; false when an entry's envelope is unreadable. */
    private static boolean visit(Path path, FileChannel ch, long pos, Header h, Visitor visitor,
            java.util.Set<String> seen) throws IOException {
        if (h.type() == ENTRY) {
            QueueEntry e = envelope(ch, pos, h);
            if (e == null) {
                log.error("journal {}: record at {} has an unreadable envelope; skipped", path.getFileName(), pos);
                return false;
            }
            seen.add(e.id());
            long messageOffset = pos + HEADER + 4 + envelopeLength(ch, pos);
            visitor.entry(new Found(e, path, messageOffset, h.end() - TRAILER - messageOffset));
        } else {
            ByteBuffer id = ByteBuffer.allocate(h.length());
            readFully(ch, id, pos + HEADER);
            visitor.release(new String(id.array(), StandardCharsets.UTF_8));
        }
        return true;
    }

    /**
     * The first offset from {@code from} where a valid record starts, one that an app's bytes
     * cannot imitate (see {@link #scanReport}), or -1.
     */
    private static long resync(FileChannel ch, long from, long size, byte[] salt, java.util.Set<String> seen)
            throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        long base = from;
        while (base + HEADER + TRAILER <= size) {
            chunk.clear();
            chunk.limit((int) Math.min(chunk.capacity(), size - base));
            readFully(ch, chunk, base);
            int n = chunk.limit();
            byte[] a = chunk.array();
            for (int i = 0; i + 4 <= n; i++) {
                if (a[i] != 'R' || a[i + 1] != 'P' || a[i + 2] != 'J' || a[i + 3] != '1') {
                    continue;
                }
                long at = base + i;
                Header h = readRecord(ch, at, size, salt);
                if (h == null) {
                    continue;
                }
                if (h.type() == RELEASE) {
                    return at;
                }
                QueueEntry e = envelope(ch, at, h);
                if (e != null && !seen.contains(e.id())) {
                    return at;
                }
            }
            if (n < chunk.capacity()) {
                break;
            }
            base += n - 3; // a magic across the chunk boundary is seen in the next chunk
        }
        return -1;
    }

    /** The record at {@code pos} if its header is plausible and its CRC matches, else null. */
    private static Header readRecord(FileChannel ch, long pos, long size, byte[] salt) throws IOException {
        Header h = readHeader(ch, pos, size);
        if (h == null) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(salt);
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        readFully(ch, header, pos);
        crc.update(header.array(), 4, 5);
        ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(64 * 1024, Math.max(1, h.length())));
        long at = pos + HEADER;
        long end = at + h.length();
        while (at < end) {
            chunk.clear();
            chunk.limit((int) Math.min(chunk.capacity(), end - at));
            readFully(ch, chunk, at);
            crc.update(chunk.array(), 0, chunk.limit());
            at += chunk.limit();
        }
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER);
        readFully(ch, trailer, end);
        return trailer.getInt(0) == (int) crc.getValue() ? h : null;
    }

    /** The header at {@code pos} if it is plausible (magic, type, a length that fits), CRC unchecked. */
    private static Header readHeader(FileChannel ch, long pos, long size) throws IOException {
        if (pos + HEADER + TRAILER > size) {
            return null;
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        readFully(ch, header, pos);
        int magic = header.getInt(0);
        byte type = header.get(4);
        int length = header.getInt(5);
        if (magic != MAGIC || (type != ENTRY && type != RELEASE) || length < 0
                || pos + HEADER + length + TRAILER > size
                || (type == ENTRY && length < 4) || (type == RELEASE && length > 256)) {
            return null;
        }
        return new Header(type, length, pos + HEADER + length + TRAILER);
    }

    private static int envelopeLength(FileChannel ch, long pos) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(4);
        readFully(ch, len, pos + HEADER);
        return len.getInt(0);
    }

    /** The envelope of the entry record at {@code pos}, or null when it does not parse. */
    private static QueueEntry envelope(FileChannel ch, long pos, Header h) throws IOException {
        int envLength = envelopeLength(ch, pos);
        if (envLength < 0 || 4L + envLength > h.length()) {
            return null;
        }
        ByteBuffer env = ByteBuffer.allocate(envLength);
        readFully(ch, env, pos + HEADER + 4);
        try {
            return QueueEntry.parse(env.array());
        } catch (IllegalArgumentException bad) {
            return null;
        }
    }

    /** The ID a damaged entry record still names, for the operator; "" when it cannot be read. */
    private static String envelopeId(FileChannel ch, long pos, Header claimed) throws IOException {
        if (claimed.type() != ENTRY) {
            return "";
        }
        QueueEntry e = envelope(ch, pos, claimed);
        return e == null || !SpoolDirectory.isQueueId(e.id()) ? "" : e.id();
    }

    private static boolean zerosFrom(FileChannel ch, long pos, long size) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        while (pos < size) {
            chunk.clear();
            chunk.limit((int) Math.min(chunk.capacity(), size - pos));
            readFully(ch, chunk, pos);
            byte[] a = chunk.array();
            for (int i = 0; i < chunk.limit(); i++) {
                if (a[i] != 0) {
                    return false;
                }
            }
            pos += chunk.limit();
        }
        return true;
    }

    // ---------------------------------------------------------------- the segment header

    /** A segment's header, at offset 0 and again right after it: {@code magic 'S' length=16 salt crc32c}. */
    private static final int SALT = 16;
    private static final int SEGMENT_HEADER = HEADER + SALT + TRAILER;
    /** Where a segment's first record starts: after the two copies of its header. */
    static final long SEGMENT_START = 2L * SEGMENT_HEADER;

    private static ByteBuffer segmentHeader(byte[] salt) {
        ByteBuffer b = ByteBuffer.allocate(2 * SEGMENT_HEADER);
        for (int copy = 0; copy < 2; copy++) {
            int start = b.position();
            b.putInt(MAGIC).put(SEGMENT).putInt(SALT).put(salt);
            CRC32C crc = new CRC32C();
            crc.update(b.array(), start + 4, 5 + SALT);
            b.putInt((int) crc.getValue());
        }
        return b.flip();
    }

    /** The salt of a segment with a valid header (either copy), or null. */
    private static byte[] readSalt(FileChannel ch, long size) throws IOException {
        for (long at = 0; at < SEGMENT_START; at += SEGMENT_HEADER) {
            if (at + SEGMENT_HEADER > size) {
                return null;
            }
            ByteBuffer b = ByteBuffer.allocate(SEGMENT_HEADER);
            readFully(ch, b, at);
            CRC32C crc = new CRC32C();
            crc.update(b.array(), 4, 5 + SALT);
            if (b.getInt(0) == MAGIC && b.get(4) == SEGMENT && b.getInt(5) == SALT
                    && b.getInt(HEADER + SALT) == (int) crc.getValue()) {
                return java.util.Arrays.copyOfRange(b.array(), HEADER, HEADER + SALT);
            }
        }
        return null;
    }

    /** True when the file starts like a segment header (so is not of the earlier format), valid or not. */
    private static boolean isSegmentHeaderAt(FileChannel ch, long at, long size) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(HEADER);
        readFully(ch, b, at);
        if (b.get(4) == SEGMENT) {
            return true;
        }
        if (size < 2L * SEGMENT_HEADER) {
            return false;
        }
        ByteBuffer second = ByteBuffer.allocate(HEADER);
        readFully(ch, second, SEGMENT_HEADER);
        return second.getInt(0) == MAGIC && second.get(4) == SEGMENT;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }

    // ---------------------------------------------------------------- commit and release

    /**
     * Appends {@code entry} and {@code message}, and returns once they are synced to disk. On an
     * exception the app must not get a 250; nothing the journal still counts is left behind.
     */
    void commit(QueueEntry entry, OutboundMessage message) throws IOException {
        if (!writable) {
            throw new IllegalStateException("journal opened read-only");
        }
        byte[] env = entry.toBytes();
        long length = 4L + env.length + message.size();
        if (length > Integer.MAX_VALUE) {
            throw new IOException("message too large for the spool journal (" + message.size() + " bytes)");
        }
        Located located;
        appendLock.lock();
        try {
            Segment seg = segmentFor(HEADER + length + TRAILER);
            long start = seg.size;
            try (RecordWriter out = new RecordWriter(seg.channel, seg.salt, start)) {
                allocate(seg, start + HEADER + length + TRAILER);
                out.header(ENTRY, (int) length);
                out.writeInt(env.length);
                out.write(env);
                message.writeTo(out);
                if (out.payloadWritten() != length) {
                    throw new IOException("message wrote " + (out.payloadWritten() - 4 - env.length)
                            + " bytes, not the " + message.size() + " it announced");
                }
                out.trailer();
            } catch (IOException | RuntimeException e) {
                abandon(seg, start);
                throw e;
            }
            seg.size = start + HEADER + length + TRAILER;
            seg.live++;
            long messageOffset = start + HEADER + 4 + env.length;
            located = new Located(entry, seg, messageOffset, message.size(), System.nanoTime());
        } finally {
            appendLock.unlock();
        }
        try {
            syncs.sync();
        } catch (IOException e) {
            entries.put(entry.id(), located);
            release(entry.id()); // never acknowledged: a recovery must not deliver it
            throw e;
        }
        // visible (to a flush's rescan, say) only once durable
        entries.put(entry.id(), located);
    }

    /**
     * Makes the segment's file at least {@code end} bytes long, with zeros written ahead in steps
     * of {@link #ALLOCATION_STEP}. A record's fdatasync then overwrites blocks the file already
     * has: it writes the data alone, not the file's size and block map as well (an append's
     * fdatasync cost 340-420 µs here, an overwrite's 230 µs). The zeros need no sync of their
     * own: the next record's sync carries them. A scan stops at them (no magic number).
     */
    private void allocate(Segment seg, long end) throws IOException {
        if (end <= seg.allocated) {
            return;
        }
        long target = Math.max(end, Math.min(seg.allocated + ALLOCATION_STEP, segmentLimit));
        long pos = seg.allocated;
        try {
            while (pos < target) {
                ByteBuffer z = ZEROS.duplicate();
                z.limit((int) Math.min(z.capacity(), target - pos));
                pos += seg.channel.write(z, pos);
            }
        } catch (IOException e) {
            // the zeros ahead are an optimisation: a disk without a step's room (296 KiB free
            // refused a 4 KiB message with "452 disk full") still takes the record itself, which
            // extends the file as it is written; only a record that does not fit is refused
            seg.channel.truncate(seg.allocated);
            seg.allocated = end; // the record's own writes make the file this long, or abandon() cuts it
            return;
        }
        seg.allocated = target;
    }

    /**
     * After a failed {@code fdatasync} of {@code seg} nothing written to it since its last good
     * sync can be trusted to be on disk, and a later sync may report success for pages the
     * kernel has already dropped (PostgreSQL's "fsyncgate"): the commits that waited for it were
     * refused, and the segment takes no more records, so that no later 250 rests on it. What it
     * held before is kept (synced, or a release whose loss can only deliver a message again).
     * Every sync of a segment goes through here.
     */
    private void force(Segment seg) throws IOException {
        try {
            seg.channel.force(false);
        } catch (ClosedChannelException e) {
            throw e; // closed by a rotation or close(), not an I/O error: nothing to retire
        } catch (IOException e) {
            appendLock.lock();
            try {
                if (!seg.broken) {
                    seg.broken = true;
                    log.error("journal: fdatasync of {} failed ({}): the messages waiting for it were refused with "
                            + "452 4.3.1; new messages go to a new segment", seg.path, e.getMessage());
                }
            } finally {
                appendLock.unlock();
            }
            throw e;
        }
    }

    /**
     * A failed append: cut the segment back so that the next record follows a valid one (not
     * the rest of the failed one, which may hold an app's bytes shaped like a record).
     */
    private void abandon(Segment seg, long start) {
        try {
            seg.channel.truncate(start);
            seg.allocated = start;
        } catch (IOException e) {
            seg.broken = true; // the next append starts a new segment
        }
    }

    /**
     * Takes {@code id} out of the journal: it was delivered, bounced, or moved to {@code queue/}.
     * Returns false when it was not (or no longer) in it.
     */
    boolean release(String id) throws IOException {
        if (!writable) {
            throw new IllegalStateException("journal opened read-only");
        }
        Located l = entries.remove(id);
        if (l == null) {
            return false;
        }
        byte[] bytes = id.getBytes(StandardCharsets.UTF_8);
        appendLock.lock();
        try {
            Segment seg = segmentFor(HEADER + bytes.length + TRAILER);
            long start = seg.size;
            try (RecordWriter out = new RecordWriter(seg.channel, seg.salt, start)) {
                allocate(seg, start + HEADER + bytes.length + TRAILER);
                out.header(RELEASE, bytes.length);
                out.write(bytes);
                out.trailer();
                seg.size = start + HEADER + bytes.length + TRAILER;
            } catch (IOException e) {
                abandon(seg, start);
                // without its release record the entry comes back at the next start unless its
                // segment is gone by then: a duplicate at worst. Say so, and carry on.
                log.warn("journal: cannot record that {} left it ({}); it may be delivered again after a restart",
                        id, e.getMessage());
            }
        } finally {
            l.segment.live--;
            try {
                deleteReleased();
            } finally {
                appendLock.unlock();
            }
        }
        return true;
    }

    /** The segment a record of {@code length} bytes goes to, starting a new one when needed. */
    private Segment segmentFor(long length) throws IOException {
        Segment cur = current;
        if (cur != null && !cur.broken && (cur.size == SEGMENT_START || cur.size + length <= segmentLimit)) {
            return cur;
        }
        if (cur != null && !cur.broken) {
            // the committer syncs only the current segment: this one is synced in full first
            force(cur);
        }
        long number = nextNumber++;
        Path p = dir.resolve(String.format("%016x.log", number));
        FileChannel ch = files.open(p, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE), SpoolDirectory.PRIVATE_FILE);
        byte[] salt = new byte[SALT];
        SALTS.nextBytes(salt);
        try {
            // synced by the first record's sync, which covers everything written before it
            ByteBuffer header = segmentHeader(salt);
            while (header.hasRemaining()) {
                ch.write(header, header.position());
            }
            files.syncDirectory(dir); // the new name must survive a crash with the records in it
        } catch (IOException e) {
            ch.close();
            files.delete(p);
            throw e;
        }
        Segment seg = new Segment(number, p, ch, salt, SEGMENT_START);
        segments.addLast(seg);
        current = seg;
        deleteReleased();
        return seg;
    }

    /** Deletes the oldest segments while every entry they hold is released. */
    private void deleteReleased() throws IOException {
        boolean synced = false;
        while (segments.size() > 1 && segments.peekFirst().live == 0) {
            if (!synced) {
                force(current); // the release records of what goes must not be lost
                synced = true;
            }
            Segment old = segments.removeFirst();
            old.channel.close();
            files.delete(old.path);
        }
    }

    private void syncCurrent() throws IOException {
        while (true) {
            Segment seg = current;
            if (seg == null) {
                return;
            }
            try {
                force(seg);
                return;
            } catch (ClosedChannelException e) {
                if (seg == current) {
                    throw e;
                }
                // rotated and deleted meanwhile: it was synced in full before, sync its successor
            }
        }
    }

    // ---------------------------------------------------------------- lookups

    Optional<Located> get(String id) {
        return Optional.ofNullable(entries.get(id));
    }

    boolean contains(String id) {
        return entries.containsKey(id);
    }

    /**
     * Entries committed more than {@code nanos} ago that are not in the current segment: first
     * attempts that take long (an upstream that stalls), and that keep every later segment from
     * being deleted while they last.
     */
    List<Located> olderThan(long nanos) {
        long now = System.nanoTime();
        Segment cur = current;
        List<Located> out = new ArrayList<>();
        for (Located l : entries.values()) {
            if (l.segment() != cur && now - l.committedAt() > nanos) {
                out.add(l);
            }
        }
        return out;
    }

    List<String> ids() {
        return new ArrayList<>(entries.keySet());
    }

    /** How many syncs the commits so far cost (fewer than commits when grouped). */
    long syncCount() {
        return syncs == null ? 0 : syncs.count();
    }

    /** How many segment files exist now (for tests). */
    int segmentCount() {
        appendLock.lock();
        try {
            return segments.size();
        } finally {
            appendLock.unlock();
        }
    }

    @Override
    public void close() {
        if (syncs != null) {
            syncs.stop();
        }
        appendLock.lock();
        try {
            for (Segment s : segments) {
                try {
                    if (writable && !s.broken) {
                        s.channel.force(false);
                    }
                    s.channel.close();
                } catch (IOException ignored) {
                    // what is not synced was not acknowledged
                }
            }
            segments.clear();
            current = null;
        } finally {
            appendLock.unlock();
        }
    }

    // ---------------------------------------------------------------- I/O helpers

    /**
     * Writes one record at a position with positional writes through a 64 KiB buffer, the CRC
     * kept on the way.
     */
    private static final class RecordWriter extends OutputStream {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        private final CRC32C crc = new CRC32C();
        private long pos;
        private long payload = -HEADER;

        RecordWriter(FileChannel ch, byte[] salt, long pos) {
            this.ch = ch;
            this.pos = pos;
            crc.update(salt);
        }

        void header(byte type, int length) throws IOException {
            buf.putInt(MAGIC);
            payload += 4;
            write(type);
            writeInt(length);
        }

        void writeInt(int v) throws IOException {
            write(v >>> 24);
            write(v >>> 16);
            write(v >>> 8);
            write(v);
        }

        long payloadWritten() {
            return payload;
        }

        void trailer() throws IOException {
            int c = (int) crc.getValue();
            if (buf.remaining() < 4) {
                drain();
            }
            buf.putInt(c);
            drain();
        }

        @Override
        public void write(int b) throws IOException {
            if (!buf.hasRemaining()) {
                drain();
            }
            buf.put((byte) b);
            crc.update(b);
            payload++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            crc.update(b, off, len);
            payload += len;
            while (len > 0) {
                if (!buf.hasRemaining()) {
                    drain();
                }
                int n = Math.min(len, buf.remaining());
                buf.put(b, off, n);
                off += n;
                len -= n;
            }
        }

        private void drain() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                pos += ch.write(buf, pos);
            }
            buf.clear();
        }

        @Override
        public void close() throws IOException {
            drain();
        }
    }

    /** The bytes of a channel between two offsets, with positional reads; closing it closes the channel. */
    private static final class SliceInputStream extends InputStream {
        private final FileChannel ch;
        private final long end;
        private long pos;

        SliceInputStream(FileChannel ch, long start, long end) {
            this.ch = ch;
            this.pos = start;
            this.end = end;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= end) {
                return -1;
            }
            int n = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - pos)), pos);
            if (n < 0) {
                throw new IOException("journal segment ends before its record");
            }
            pos += n;
            return n;
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
