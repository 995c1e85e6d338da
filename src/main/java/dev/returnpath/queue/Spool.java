package dev.returnpath.queue;

import dev.returnpath.delivery.OutboundMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The spool directory ({@code queue.dir}) and the one promise it keeps: an entry that
 * {@link #commit} returned for survives a crash at any instant, and a crash during a commit
 * leaves either nothing or a complete entry.
 *
 * <p>Layout:
 * <pre>
 * incoming/       DATA being received (temporary; emptied at start)
 * journal/N.log   new messages with their envelopes, appended; see {@link Journal}
 * queue/ID.eml    a message waiting for a retry, exactly the bytes that go upstream; never changed once written
 * queue/ID.env    its envelope and per-recipient state ({@link QueueEntry}); the commit mark
 * queue/ID.env.tmp  an envelope being written; renamed over ID.env
 * corrupt/        envelopes that could not be read, and journal segments with a damaged
 *                 record (journal-N.log), set aside for a human
 * lock            held by the one {@code serve} that owns the spool
 * entries.lock    one byte-range lock per entry (see below)
 * flush           written by {@code queue flush}: "retry everything now"
 * </pre>
 *
 * <p>A commit appends the message and its envelope to the {@link Journal}, and returns once a
 * sync shared with the other commits waiting has put them on disk; only then does the app get
 * its 250. Most messages leave the spool on their first attempt and never touch
 * {@code queue/}. One that must wait (a recipient deferred) is moved there by its first
 * {@link #update}: {@code ID.eml} written and fsynced, {@code ID.env.tmp} written, fsynced and
 * renamed to {@code ID.env}, the directory fsynced (shared among concurrent moves), and only
 * then released from the journal. An {@code .eml} without its {@code .env} is removed at start;
 * what the journal still holds at start is moved to {@code queue/} the same way.
 *
 * <p>Per-entry exclusion between {@code serve} and the {@code queue} command is a POSIX
 * byte-range lock in {@code entries.lock} at the offset the entry's ID names ({@link #tryLock}),
 * held during a delivery attempt and during a {@code queue delete} or {@code flush} of that
 * entry. A file of its own, opened once: POSIX drops every lock a process holds on a file when
 * it closes <em>any</em> descriptor of that file, and the message file is opened and closed by
 * every delivery.
 */
public final class Spool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("returnpath.queue");

    private final Path root;
    private final Path queue;
    private final Path incoming;
    private final FileChannel lockChannel;   // null for inspect()
    private final FileLock ownerLock;
    private final FileChannel entryLocks;
    private final DirectorySync directory;   // null for inspect()
    private final GroupSync committer;       // null for inspect()
    private final SpoolFiles files;          // how serve changes the disk (a recording layer in the crash tests)
    private Journal journal;
    private int quarantined;
    private long recordsLost;
    /** Serialize, per entry, its move out of the journal with the update or removal that ends an attempt. */
    private final java.util.concurrent.locks.ReentrantLock[] stripes = new java.util.concurrent.locks.ReentrantLock[64];

    private Spool(Path root, FileChannel lockChannel, FileLock ownerLock, boolean committing) throws IOException {
        this(root, lockChannel, ownerLock, committing, SpoolFiles.SYSTEM);
    }

    private Spool(Path root, FileChannel lockChannel, FileLock ownerLock, boolean committing, SpoolFiles files)
            throws IOException {
        this.root = root;
        this.files = files;
        this.queue = root.resolve("queue");
        this.incoming = root.resolve("incoming");
        this.lockChannel = lockChannel;
        this.ownerLock = ownerLock;
        // absent only for inspect() of a spool never created: then there is nothing to lock
        this.entryLocks = Files.isDirectory(root) ? FileChannel.open(root.resolve("entries.lock"),
                java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE),
                SpoolDirectory.PRIVATE_FILE) : null;
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new java.util.concurrent.locks.ReentrantLock();
        }
        this.directory = committing ? new DirectorySync(queue, files) : null;
        this.committer = committing ? new GroupSync("spool-commit", directory::sync) : null;
    }

    /** The spool is used by another process (a second {@code serve} on the same directory). */
    public static final class BusyException extends IOException {
        BusyException(String message) {
            super(message);
        }
    }

    /**
     * Opens the spool for {@code serve}: creates the directories, takes the owner lock (a second
     * relay on the same directory is refused), empties {@code incoming/}, and removes what a
     * crash left half-written: {@code .env.tmp} files, messages without an envelope and
     * envelopes without a message.
     */
    public static Spool open(Path root) throws IOException {
        return open(root, Journal.DEFAULT_SEGMENT_LIMIT);
    }

    /** {@link #open(Path)} with journal segments of {@code segmentLimit} bytes (small in tests). */
    static Spool open(Path root, long segmentLimit) throws IOException {
        return open(root, segmentLimit, SpoolFiles.SYSTEM);
    }

    /** {@link #open(Path, long)} with the journal changing the disk through {@code files} (tests' fault layer). */
    static Spool open(Path root, long segmentLimit, SpoolFiles files) throws IOException {
        SpoolDirectory.prepare(root);
        FileChannel ch = FileChannel.open(root.resolve("lock"), java.util.Set.of(StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE), SpoolDirectory.PRIVATE_FILE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw new BusyException("\"" + root + "\" is in use by another returnpath serve (" + root.resolve("lock") + " is locked)");
        }
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
        Spool s = new Spool(root, ch, lock, true, files);
        try {
            long next = s.recover();
            s.journal = Journal.writer(root.resolve("journal"), segmentLimit, next, files);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * The spool for the {@code queue} command: reads, locks entries one by one, never takes the
     * owner lock and never cleans up (a running {@code serve} owns that). A directory that does
     * not exist is an empty spool.
     */
    public static Spool inspect(Path root) throws IOException {
        Spool s = new Spool(root, null, null, false);
        s.journal = Journal.reader(root.resolve("journal"));
        return s;
    }

    public Path root() {
        return root;
    }

    /** True when a {@code serve} holds the owner lock (tells {@code queue flush} whether anyone listens). */
    public boolean ownedByServe() {
        if (ownerLock != null) {
            return true;
        }
        Path lockFile = root.resolve("lock");
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // this JVM holds it
        } catch (IOException e) {
            return false;
        }
    }

    public Path incoming() {
        return incoming;
    }

    public Path messageFile(String id) {
        return queue.resolve(checkedId(id) + ".eml");
    }

    private Path envelopeFile(String id) {
        return queue.resolve(checkedId(id) + ".env");
    }

    /**
     * {@code id} when it can name an entry; a {@link NotAQueueIdException} otherwise, before it
     * becomes a path ({@code queue show ../../x} must not read outside the spool).
     */
    private static String checkedId(String id) throws NotAQueueIdException {
        if (!SpoolDirectory.isQueueId(id)) {
            throw new NotAQueueIdException(id);
        }
        return id;
    }

    /** A string that is not a queue ID (letters and digits, at most 64) was given as one. */
    public static final class NotAQueueIdException extends IllegalArgumentException {
        NotAQueueIdException(String id) {
            super("not a queue ID: \"" + id + "\" (queue IDs are letters and digits, such as 18F3A2B4C5D6E)");
        }
    }

    // ---------------------------------------------------------------- commit

    /**
     * Writes {@code message} and {@code entry} durably; on return the entry survives a crash.
     * On any failure the entry is not in the spool and the exception says why (disk full,
     * unwritable).
     */
    public void commit(QueueEntry entry, OutboundMessage message) throws IOException {
        if (committer == null) {
            throw new IllegalStateException("spool opened read-only");
        }
        journal.commit(entry, message);
    }

    /**
     * Replaces the envelope of an existing entry atomically (state after an attempt, flush). An
     * entry still in the journal is moved to {@code queue/} with its new envelope first.
     */
    public void update(QueueEntry entry) throws IOException {
        java.util.concurrent.locks.ReentrantLock stripe = stripe(entry.id());
        stripe.lock();
        try {
            Optional<Journal.Located> journaled = journal.get(entry.id());
            if (journaled.isPresent()) {
                writeFiles(entry, journaled.get().message());
                journal.release(entry.id());
                return;
            }
            Path env = envelopeFile(entry.id());
            if (!Files.exists(env)) {
                throw new NoSuchFileException(env.toString(), null, "entry is gone");
            }
            writeEnvelope(entry, env);
        } finally {
            stripe.unlock();
        }
    }

    private java.util.concurrent.locks.ReentrantLock stripe(String id) {
        return stripes[Math.floorMod(id.hashCode(), stripes.length)];
    }

    /**
     * Moves to {@code queue/} the entries whose first attempt has lasted longer than
     * {@code after}, as they were committed: each keeps every later journal segment on disk
     * while it lasts, and an upstream that stalls can make that minutes. The attempt goes on;
     * its update (or removal) then applies to the files. Returns how many were moved.
     */
    public int moveLongFirstAttempts(java.time.Duration after) throws IOException {
        int moved = 0;
        for (Journal.Located l : journal.olderThan(after.toNanos())) {
            String id = l.entry().id();
            java.util.concurrent.locks.ReentrantLock stripe = stripe(id);
            stripe.lock();
            try {
                if (journal.get(id).orElse(null) != l) {
                    continue; // its attempt ended meanwhile
                }
                writeFiles(l.entry(), l.message());
                journal.release(id);
                moved++;
            } finally {
                stripe.unlock();
            }
        }
        return moved;
    }

    /**
     * The entry as {@code queue/ID.eml} and {@code queue/ID.env}, both fsynced and the directory
     * synced (grouped with concurrent callers) before it returns. On failure nothing is left.
     */
    private void writeFiles(QueueEntry entry, OutboundMessage message) throws IOException {
        if (committer == null) {
            throw new IllegalStateException("spool opened read-only");
        }
        Path eml = messageFile(entry.id());
        Path env = envelopeFile(entry.id());
        boolean done = false;
        try {
            try (FileChannel ch = files.open(eml, java.util.Set.of(StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE), SpoolDirectory.PRIVATE_FILE)) {
                OutputStream out = new java.io.BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
                message.writeTo(out);
                out.flush();
                ch.force(true);
            }
            writeEnvelope(entry, env);
            committer.sync();
            done = true;
        } finally {
            if (!done) {
                deleteQuietly(env);
                deleteQuietly(queue.resolve(entry.id() + ".env.tmp"));
                deleteQuietly(eml);
            }
        }
    }

    /**
     * Write to a temporary name, fsync, rename over: a crash leaves the old envelope or the new
     * one, never a torn or empty one (an un-fsynced rename can leave a zero-length file on
     * filesystems without ext4's auto_da_alloc).
     */
    private void writeEnvelope(QueueEntry entry, Path env) throws IOException {
        SpoolDirectory.replace(files, env, queue.resolve(entry.id() + ".env.tmp"), true,
                java.nio.ByteBuffer.wrap(entry.toBytes()));
    }

    // ---------------------------------------------------------------- read, remove, lock

    /** The entry, or empty when it is not (or no longer) in the queue. */
    public Optional<QueueEntry> read(String id) throws IOException {
        Optional<Journal.Located> journaled = journal.get(id);
        if (journaled.isPresent()) {
            return Optional.of(journaled.get().entry());
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(envelopeFile(id));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        try {
            return Optional.of(QueueEntry.parse(bytes));
        } catch (IllegalArgumentException e) {
            throw new CorruptEntryException(id, e.getMessage());
        }
    }

    /** An envelope that does not parse. */
    public static final class CorruptEntryException extends IOException {
        public final String id;

        CorruptEntryException(String id, String problem) {
            super("envelope of " + id + " cannot be read: " + problem);
            this.id = id;
        }
    }

    /**
     * Removes an entry: from the journal, or its envelope first (the commit mark), then its
     * message.
     */
    public boolean remove(String id) throws IOException {
        java.util.concurrent.locks.ReentrantLock stripe = stripe(id);
        stripe.lock();
        try {
            if (journal.contains(id)) {
                return journal.release(id);
            }
            boolean existed = files.delete(envelopeFile(id));
            files.delete(messageFile(id));
            return existed;
        } finally {
            stripe.unlock();
        }
    }

    /** Moves an unreadable entry to {@code corrupt/}, so that it is neither lost nor retried forever. */
    public void setAside(String id) throws IOException {
        Path corrupt = root.resolve("corrupt");
        SpoolDirectory.refuseSymbolicLink(corrupt);
        SpoolDirectory.createPrivateDirectory(corrupt);
        for (Path p : List.of(envelopeFile(id), messageFile(id))) {
            if (Files.exists(p)) {
                Files.move(p, corrupt.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** IDs of the committed entries, oldest first (IDs grow with time). */
    public List<String> ids() throws IOException {
        List<String> out = new ArrayList<>(journal.ids());
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(queue)) { // no glob: a matcher per name is slow
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!name.endsWith(".env")) {
                    continue;
                }
                String id = name.substring(0, name.length() - ".env".length());
                if (SpoolDirectory.isQueueId(id)) {
                    out.add(id); // anything else was not written by a relay
                }
            }
        } catch (NoSuchFileException e) {
            // no queue/ yet
        }
        return sortedUnique(out);
    }

    /**
     * A sort and one pass, not a TreeSet: 100,000 IDs for queue list (an ID may be in both the
     * journal and queue/ while it moves).
     */
    private static List<String> sortedUnique(List<String> out) {
        out.sort(null);
        List<String> unique = new ArrayList<>(out.size());
        for (String id : out) {
            if (unique.isEmpty() || !unique.get(unique.size() - 1).equals(id)) {
                unique.add(id);
            }
        }
        return unique;
    }

    /**
     * One entry as {@code queue list} sees it: the entry, or empty when it left the spool while
     * we looked; {@code problem} is not empty when its envelope cannot be read.
     */
    public record Listing(String id, Optional<QueueEntry> entry, String problem) {
    }

    /**
     * Every entry, in ID order, handed to {@code sink} {@code chunk} at a time (each chunk read
     * in parallel), for {@code queue list}. Entries in {@code queue/} come from the list index
     * ({@link ListIndex}) where it vouches for them and from their envelopes otherwise; the
     * index is then rewritten when anything it held was stale. Entries in the journal are read
     * from the journal.
     */
    public void list(int chunk, java.util.function.Consumer<List<Listing>> sink) throws IOException {
        list(chunk, sink, true);
    }

    /**
     * Brings {@code list-index} up to date as a listing would, on the calling thread alone and
     * printing nothing: serve's background refresh ({@link ListIndexKeeper}), so that the
     * operator's first {@code queue list} during an outage reads one file, not every envelope.
     */
    void refreshListIndex() throws IOException {
        list(4096, chunk -> { }, false);
    }

    /** The modification time of {@code queue/} (ns), which every change to it moves; -1 when there is none. */
    long queueDirectoryTime() throws IOException {
        try {
            return Files.getLastModifiedTime(queue).to(java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (NoSuchFileException e) {
            return -1;
        }
    }

    private void list(int chunk, java.util.function.Consumer<List<Listing>> sink, boolean parallel) throws IOException {
        long scanStart = nowNanos();
        long dirTime = queueDirectoryTime(); // -1: no queue/ yet
        Optional<ListIndex.Loaded> index = dirTime < 0 ? Optional.empty() : ListIndex.load(root);
        boolean quiet = index.isPresent() && index.get().quiet(dirTime);
        List<String> ids;
        if (quiet) {
            List<String> all = new ArrayList<>(journal.ids());
            all.addAll(Arrays.asList(index.get().ids()));
            ids = sortedUnique(all);
        } else {
            ids = ids();
        }
        ListIndex.Record[] next = new ListIndex.Record[ids.size()];
        java.util.concurrent.atomic.AtomicBoolean changed = new java.util.concurrent.atomic.AtomicBoolean(); // an entry the index did not vouch for, or not as it is now
        for (int from = 0; from < ids.size(); from += chunk) {
            java.util.stream.IntStream slots = java.util.stream.IntStream.range(from, Math.min(ids.size(), from + chunk));
            List<Listing> listed = (parallel ? slots.parallel() : slots)
                    .mapToObj(i -> listOne(ids.get(i), index, quiet, next, i, changed)).toList();
            sink.accept(listed);
        }
        if (quiet && !changed.get() || dirTime < 0) {
            return;
        }
        long fromIndex = java.util.Arrays.stream(next).filter(r -> r != null && r.fromIndex()).count();
        try {
            if (!changed.get() && index.isPresent() && fromIndex == index.get().ids().length) {
                ListIndex.retime(root, index.get(), dirTime, scanStart); // the same records, a newer directory time
                return;
            }
        } catch (IOException e) {
            log.debug("cannot write {}: {}", root.resolve(ListIndex.FILE), e.toString());
            return;
        }
        List<ListIndex.Record> records = new ArrayList<>(next.length);
        for (ListIndex.Record r : next) {
            if (r != null) {
                records.add(r);
            }
        }
        try {
            ListIndex.write(root, dirTime, scanStart, records);
        } catch (IOException | RuntimeException e) {
            log.debug("cannot write {}: {}", root.resolve(ListIndex.FILE), e.toString()); // the next listing reads the envelopes
        }
    }

    private Listing listOne(String id, Optional<ListIndex.Loaded> index, boolean quiet, ListIndex.Record[] next, int slot,
                            java.util.concurrent.atomic.AtomicBoolean changed) {
        Optional<Journal.Located> journaled = journal.get(id);
        if (journaled.isPresent()) {
            return new Listing(id, Optional.of(journaled.get().entry()), "");
        }
        int at = index.map(x -> x.find(id)).orElse(-1);
        try {
            if (quiet && at >= 0 && index.get().hasCopy(at)) {
                Optional<ListIndex.Record> r = fromIndex(index.get(), at);
                if (r.isPresent()) {
                    next[slot] = r.get();
                    return new Listing(id, Optional.of(r.get().entry()), "");
                }
                changed.set(true); // read from its file below, and the index written again
            }
            Path env = envelopeFile(id);
            Optional<ListIndex.Validator> v = ListIndex.Validator.of(env); // before the read, never after
            if (v.isEmpty()) {
                changed.set(true);
                return new Listing(id, Optional.empty(), ""); // delivered or deleted meanwhile
            }
            Optional<QueueEntry> copy;
            try {
                copy = index.isPresent() ? index.get().entryIf(at, v.get()) : Optional.empty();
            } catch (IllegalStateException undecodable) {
                copy = Optional.empty();
            }
            if (copy.isPresent()) {
                next[slot] = new ListIndex.Record(id, v.get(), copy.get(), true);
                return new Listing(id, copy, "");
            }
            Optional<QueueEntry> read = read(id);
            changed.set(true);
            next[slot] = read.isPresent() ? new ListIndex.Record(id, v.get(), read.get(), false) : null;
            return new Listing(id, read, "");
        } catch (CorruptEntryException e) {
            next[slot] = index.isPresent() && at >= 0 && !index.get().hasCopy(at) ? index.get().record(at)
                    : ListIndex.Record.uncopied(id, false); // the same uncopied record: no change to the index
            if (!next[slot].fromIndex()) {
                changed.set(true);
            }
            return new Listing(id, Optional.empty(), e.getMessage());
        } catch (IOException e) {
            changed.set(true);
            next[slot] = ListIndex.Record.uncopied(id, false);
            return new Listing(id, Optional.empty(), "envelope of " + id + " cannot be read: " + e.getMessage());
        }
    }

    /** The index's record, or empty when its copy does not decode: the envelope is read instead. */
    private static Optional<ListIndex.Record> fromIndex(ListIndex.Loaded index, int at) {
        try {
            return Optional.of(index.record(at));
        } catch (IllegalStateException undecodable) {
            log.debug("{}", undecodable.getMessage());
            return Optional.empty();
        }
    }

    private static long nowNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** True while entry {@code id} is in the spool (journal or {@code queue/}). */
    public boolean contains(String id) {
        if (committer == null && journal.contains(id)) {
            refreshJournal(); // the queue command's view: serve may have moved or delivered it since
        }
        return journal.contains(id) || Files.exists(messageFile(id));
    }

    /** For {@link #inspect}: reads the journal again, as serve has it now. */
    private void refreshJournal() {
        try {
            Journal fresh = Journal.reader(root.resolve("journal"));
            journal.close();
            journal = fresh;
        } catch (IOException e) {
            log.debug("cannot read the journal again: {}", e.getMessage());
        }
    }

    /** The bytes of entry {@code entry} that go upstream, read from disk when written. */
    public OutboundMessage message(QueueEntry entry) {
        Optional<Journal.Located> journaled = journal.get(entry.id());
        if (journaled.isPresent()) {
            return journaled.get().message();
        }
        return new OutboundMessage(new byte[0], messageFile(entry.id()), 0, entry.size());
    }

    /** The message of entry {@code id}, to read; {@link NoSuchFileException} when it is gone. */
    public InputStream openMessage(String id) throws IOException {
        Optional<Journal.Located> journaled = journal.get(id);
        if (journaled.isPresent()) {
            return journaled.get().open();
        }
        return Files.newInputStream(messageFile(id));
    }

    /** Entries that are in the journal: on their first attempt, never locked by the queue command. */
    public boolean inJournal(String id) {
        return journal.contains(id);
    }

    /** An exclusive lock on one entry; close it to release. */
    public interface EntryLock extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Locks entry {@code id} for this caller, or returns empty when someone else (a delivery
     * attempt, a {@code queue} command) holds it, or the entry is gone.
     */
    public Optional<EntryLock> tryLock(String id) throws IOException {
        if (entryLocks == null) {
            return Optional.empty();
        }
        FileLock l;
        try {
            l = entryLocks.tryLock(lockOffset(id), 1, false);
        } catch (OverlappingFileLockException e) {
            l = null; // held by another thread of this JVM
        }
        if (l == null) {
            return Optional.empty();
        }
        // a journaled entry belongs to serve's first attempt: the queue command waits for it
        // (its view of the journal is re-read by contains(), once per round of its wait loop)
        boolean lockable = committer != null ? contains(id) : !journal.contains(id) && Files.exists(messageFile(id));
        if (!lockable) {
            l.release();
            return Optional.empty();
        }
        FileLock held = l;
        return Optional.of(() -> {
            try {
                held.release();
            } catch (IOException ignored) {
                // the channel is gone: so is the lock
            }
        });
    }

    /** Queue IDs are hex numbers: the ID itself is the offset. Others hash above every ID. */
    static long lockOffset(String id) {
        if (!id.isEmpty() && id.length() <= 15 && id.chars().allMatch(c -> Character.digit(c, 16) >= 0 && c < 0x80)) {
            return Long.parseLong(id, 16);
        }
        return (1L << 60) + (id.hashCode() & 0xffffffffL);
    }

    // ---------------------------------------------------------------- flush requests

    /** Asks a running {@code serve} to retry every entry now. */
    public void requestFlush() throws IOException {
        if (!Files.isDirectory(queue)) {
            return; // no spool yet: nothing to flush
        }
        Path f = root.resolve("flush");
        SpoolDirectory.refuseSymbolicLink(f); // written by the queue command, often run as root
        try (FileChannel ch = FileChannel.open(f, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.LinkOption.NOFOLLOW_LINKS), SpoolDirectory.PRIVATE_FILE)) {
            ch.write(java.nio.ByteBuffer.wrap((java.time.Instant.now() + "\n").getBytes(StandardCharsets.US_ASCII)));
        }
    }

    /** True (once) when a flush was requested since the last call. */
    public boolean takeFlushRequest() {
        try {
            return Files.deleteIfExists(root.resolve("flush"));
        } catch (IOException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- start-up recovery

    /**
     * Start-up: removes half-written files, then moves what the journal still holds to
     * {@code queue/} and deletes its segments. Returns the number the next segment takes.
     */
    private long recover() throws IOException {
        removeHalfWritten();
        Path journalDir = root.resolve("journal");
        List<Path> segments = Journal.segmentFiles(journalDir);
        if (segments.isEmpty()) {
            return 1;
        }
        long next = Journal.segmentNumber(segments.get(segments.size() - 1)) + 1;
        int moved = 0;
        Journal.Recovery recovery = Journal.recover(journalDir);
        for (Journal.Found f : recovery.live().values()) {
            if (Files.exists(envelopeFile(f.entry().id()))) {
                continue; // moved to queue/ before the crash, its release record lost: the files are newer
            }
            try (FileChannel ch = FileChannel.open(f.segment(), StandardOpenOption.READ)) {
                writeFiles(f.entry(), OutboundMessage.ofOpenFile(new byte[0], f.segment(), ch, f.messageOffset(),
                        f.messageOffset() + f.messageLength()));
            }
            moved++;
        }
        for (Path p : segments) {
            Journal.ScanReport damage = recovery.damaged().get(p);
            if (damage == null) {
                Files.deleteIfExists(p);
            } else {
                setAsideSegment(p, damage);
            }
        }
        fsyncDirectory(journalDir);
        if (moved > 0) {
            log.info("spool {}: {} message(s) moved from the journal to the queue", root, moved);
        }
        return next;
    }

    /**
     * Moves a journal segment with a damaged record to {@code corrupt/}, never deletes it (what
     * was lost may still be read there by hand), and says so in one ERROR line per damage: the
     * segment, the offset, what is wrong, where the scan resumed, how many records were lost and
     * how many were recovered after the damage. What was recovered is in {@code queue/} by now.
     */
    private void setAsideSegment(Path segment, Journal.ScanReport report) throws IOException {
        Path corrupt = root.resolve("corrupt");
        SpoolDirectory.refuseSymbolicLink(corrupt);
        SpoolDirectory.createPrivateDirectory(corrupt);
        Path target = corrupt.resolve("journal-" + segment.getFileName());
        for (int n = 1; Files.exists(target); n++) {
            target = corrupt.resolve("journal-" + segment.getFileName() + "." + n);
        }
        Files.move(segment, target);
        fsyncDirectory(corrupt);
        quarantined++;
        for (Journal.Damage d : report.damages()) {
            recordsLost += Math.max(1, d.lost()); // -1: at least one
            String lost = d.lost() < 0 ? "at least 1 record" : d.lost() + " record" + (d.lost() == 1 ? "" : "s");
            log.error("journal {}: damaged record at offset {} ({}{}); {}; {} lost, {} recovered after it; "
                            + "segment kept as {}",
                    segment.getFileName(), d.offset(), d.reason(),
                    d.lostId().isEmpty() ? "" : ", its envelope names " + d.lostId(),
                    d.resumedAt() >= 0 ? "resumed at offset " + d.resumedAt()
                            : report.legacy() ? "segment of the earlier format: the scan stops there"
                            : "no valid record after it",
                    lost, report.recoveredAfterDamage(), target);
        }
    }

    /** Journal segments set aside in {@code corrupt/} by this start. */
    public int quarantinedSegments() {
        return quarantined;
    }

    /** Journal records this start found damaged and could not read (at least one per damage). */
    public long recordsLost() {
        return recordsLost;
    }

    /**
     * What {@code queue.dir/corrupt/} holds now: damaged journal segments ({@code journal-*}) and
     * entries set aside because their envelope could not be read (one per {@code ID.env}). They
     * stay there until the operator removes them.
     */
    public record Corrupt(int journalSegments, int envelopes) {
        public boolean isEmpty() {
            return journalSegments == 0 && envelopes == 0;
        }
    }

    public Corrupt corrupt() {
        int segments = 0;
        int envelopes = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root.resolve("corrupt"))) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith("journal-")) {
                    segments++;
                } else if (name.endsWith(".env")) {
                    envelopes++;
                }
            }
        } catch (IOException e) {
            // none set aside yet (no corrupt/), or it cannot be read: nothing to count
        }
        return new Corrupt(segments, envelopes);
    }

    private void removeHalfWritten() throws IOException {
        int removed = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(incoming)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
                removed++;
            }
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(queue)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.endsWith(".env.tmp")) {
                    Files.deleteIfExists(p);
                    removed++;
                } else if (name.endsWith(".eml")
                        && !Files.exists(queue.resolve(name.substring(0, name.length() - 4) + ".env"))) {
                    // written, but its envelope never was: the app was not told 250
                    Files.deleteIfExists(p);
                    removed++;
                } else if (name.endsWith(".env")
                        && !Files.exists(queue.resolve(name.substring(0, name.length() - 4) + ".eml"))) {
                    // the two names are not ordered on disk without a sync between them: either a
                    // removal's second deletion came first (the message was delivered), or a move
                    // out of the journal lost its message's name (the journal still holds it and
                    // writes both files again below)
                    Files.deleteIfExists(p);
                    removed++;
                }
            }
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, ListIndex.FILE + ".tmp.*")) {
            for (Path p : ds) {
                Files.deleteIfExists(p); // a queue list killed while it rewrote the list index
            }
        }
        if (removed > 0) {
            log.info("spool {}: removed {} file(s) of transactions that never completed", root, removed);
            fsyncDirectory(queue);
        }
    }

    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the start-up recovery removes it
        }
    }

    @Override
    public void close() {
        if (journal != null) {
            journal.close();
        }
        if (committer != null) {
            committer.stop();
            directory.close();
        }
        try {
            if (entryLocks != null) {
                entryLocks.close();
            }
        } catch (IOException ignored) {
            // locks go with it
        }
        try {
            if (ownerLock != null) {
                ownerLock.release();
            }
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }

    /** The fsync of {@code queue/}, its handle kept open between syncs (one thread calls it). */
    private static final class DirectorySync {
        private final Path dir;
        private final SpoolFiles files;
        private FileChannel ch;

        DirectorySync(Path dir, SpoolFiles files) {
            this.dir = dir;
            this.files = files;
        }

        synchronized void sync() throws IOException {
            try {
                if (ch == null) {
                    ch = files.open(dir, java.util.Set.of(StandardOpenOption.READ));
                }
                ch.force(true);
            } catch (IOException e) {
                close();
                throw e;
            }
        }

        synchronized void close() {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // read-only directory handle
                }
                ch = null;
            }
        }
    }

    /** How many directory fsyncs the moves to {@code queue/} so far cost (fewer than moves when grouped). */
    long directorySyncs() {
        return committer == null ? 0 : committer.count();
    }

    /** How many journal syncs the commits so far cost (fewer than commits when grouped). */
    long journalSyncs() {
        return journal.syncCount();
    }

    /** Segment files the journal has now. */
    int journalSegments() {
        return journal.segmentCount();
    }
}
