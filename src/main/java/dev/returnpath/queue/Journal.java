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
 * <p>Record: {@code magic(4) type(1) length(4) payload(length) crc32c(4)}, big-endian; the CRC
 * covers type, length and payload. An entry's payload is {@code envelope-length(4) envelope
 * message}, the envelope in {@link QueueEntry}'s text format; a release's is the queue ID.
 *
 * <p>Why a scan may stop at the first bad record: records are appended one after the other
 * under one lock, and a commit is acknowledged only after a sync that began once its record was
 * written, so every acknowledged record lies before the first torn or missing one. A segment
 * is synced in full before the next one takes over.
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
    static final int HEADER = 9;
    static final int TRAILER = 4;
    static final long DEFAULT_SEGMENT_LIMIT = 32L << 20;
    /** Zeros written ahead of the records at a time (see {@link #allocate}). */
    static final long ALLOCATION_STEP = 1L << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024);

    /** One segment file; {@code size} and {@code live} are guarded by the append lock. */
    static final class Segment {
        final long number;
        final Path path;
        final FileChannel channel;
        long size;       // where the next record goes
        long allocated;  // the file's size: zeros from size up to here
        int live;
        boolean broken;

        Segment(long number, Path path, FileChannel channel, long size) {
            this.number = number;
            this.path = path;
            this.channel = channel;
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
    private volatile Segment current;
    private long nextNumber;

    private Journal(Path dir, long segmentLimit, boolean writable, long nextNumber) {
        this.dir = dir;
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
        SpoolDirectory.refuseSymbolicLink(dir);
        SpoolDirectory.createPrivateDirectory(dir);
        return new Journal(dir, segmentLimit, true, nextNumber);
    }

    /**
     * What a running (or stopped) {@code serve} holds in its journal, for the {@code queue}
     * command: the entries not released, read from the segments as they are now.
     */
    static Journal reader(Path dir) throws IOException {
        Journal j = new Journal(dir, DEFAULT_SEGMENT_LIMIT, false, 0);
        for (Path p : segmentFiles(dir)) {
            FileChannel ch;
            try {
                ch = FileChannel.open(p, StandardOpenOption.READ);
            } catch (NoSuchFileException gone) {
                continue; // released and deleted by serve since the listing
            }
            Segment seg = new Segment(0, p, ch, ch.size());
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
     * Reads every segment of {@code dir} and returns the entries that were committed and never
     * released, in commit order; the caller moves them elsewhere and then deletes the segments.
     */
    static Map<String, Found> recover(Path dir) throws IOException {
        Map<String, Found> live = new LinkedHashMap<>();
        for (Path p : segmentFiles(dir)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                long end = scan(p, ch, new Visitor() {
                    @Override
                    public void entry(Found f) {
                        live.put(f.entry().id(), f);
                    }

                    @Override
                    public void release(String id) {
                        live.remove(id);
                    }
                });
                // after `end`: zeros written ahead, or a record whose commit was never acknowledged
                log.debug("journal {}: records end at {} of {} bytes", p.getFileName(), end, ch.size());
            }
        }
        return live;
    }

    interface Visitor {
        void entry(Found f);

        void release(String id);
    }

    /**
     * Visits the records of one segment in order and returns the offset where the valid ones
     * end: the end of the file, or the first record that is incomplete, torn or not a record.
     */
    static long scan(Path path, FileChannel ch, Visitor visitor) throws IOException {
        long size = ch.size();
        long pos = 0;
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        while (pos + HEADER + TRAILER <= size) {
            header.clear();
            readFully(ch, header, pos);
            header.flip();
            int magic = header.getInt();
            byte type = header.get();
            int length = header.getInt();
            if (magic != MAGIC || (type != ENTRY && type != RELEASE) || length < 0
                    || pos + HEADER + length + TRAILER > size) {
                return pos;
            }
            CRC32C crc = new CRC32C();
            crc.update(header.array(), 4, 5);
            long at = pos + HEADER;
            long end = at + length;
            while (at < end) {
                chunk.clear();
                chunk.limit((int) Math.min(chunk.capacity(), end - at));
                readFully(ch, chunk, at);
                crc.update(chunk.array(), 0, chunk.limit());
                at += chunk.limit();
            }
            ByteBuffer trailer = ByteBuffer.allocate(TRAILER);
            readFully(ch, trailer, end);
            if (trailer.getInt(0) != (int) crc.getValue()) {
                return pos;
            }
            if (type == ENTRY) {
                ByteBuffer len = ByteBuffer.allocate(4);
                readFully(ch, len, pos + HEADER);
                int envLength = len.getInt(0);
                if (envLength < 0 || 4L + envLength > length) {
                    log.error("journal {}: record at {} has a bad envelope length; skipped", path.getFileName(), pos);
                } else {
                    ByteBuffer env = ByteBuffer.allocate(envLength);
                    readFully(ch, env, pos + HEADER + 4);
                    try {
                        QueueEntry e = QueueEntry.parse(env.array());
                        long messageOffset = pos + HEADER + 4 + envLength;
                        visitor.entry(new Found(e, path, messageOffset, end - messageOffset));
                    } catch (IllegalArgumentException bad) {
                        log.error("journal {}: record at {} has an unreadable envelope ({}); skipped",
                                path.getFileName(), pos, bad.getMessage());
                    }
                }
            } else {
                ByteBuffer id = ByteBuffer.allocate(length);
                readFully(ch, id, pos + HEADER);
                visitor.release(new String(id.array(), StandardCharsets.UTF_8));
            }
            pos = end + TRAILER;
        }
        return pos;
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
            try (RecordWriter out = new RecordWriter(seg.channel, start)) {
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
        while (pos < target) {
            ByteBuffer z = ZEROS.duplicate();
            z.limit((int) Math.min(z.capacity(), target - pos));
            pos += seg.channel.write(z, pos);
        }
        seg.allocated = target;
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
            try (RecordWriter out = new RecordWriter(seg.channel, start)) {
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
        if (cur != null && !cur.broken && (cur.size == 0 || cur.size + length <= segmentLimit)) {
            return cur;
        }
        if (cur != null && !cur.broken) {
            // the committer syncs only the current segment: this one is synced in full first
            cur.channel.force(false);
        }
        long number = nextNumber++;
        Path p = dir.resolve(String.format("%016x.log", number));
        FileChannel ch = FileChannel.open(p, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE), SpoolDirectory.PRIVATE_FILE);
        try {
            Spool.fsyncDirectory(dir); // the new name must survive a crash with the records in it
        } catch (IOException e) {
            ch.close();
            Files.deleteIfExists(p);
            throw e;
        }
        Segment seg = new Segment(number, p, ch, 0);
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
                current.channel.force(false); // the release records of what goes must not be lost
                synced = true;
            }
            Segment old = segments.removeFirst();
            old.channel.close();
            Files.deleteIfExists(old.path);
        }
    }

    private void syncCurrent() throws IOException {
        while (true) {
            Segment seg = current;
            if (seg == null) {
                return;
            }
            try {
                seg.channel.force(false);
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

        RecordWriter(FileChannel ch, long pos) {
            this.ch = ch;
            this.pos = pos;
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
