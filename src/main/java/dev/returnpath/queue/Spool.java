package dev.returnpath.queue;

import dev.returnpath.delivery.OutboundMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The spool directory ({@code queue.dir}) and the one promise it keeps: an entry that
 * {@link #commit} returned for survives a crash at any instant, and a crash during a commit
 * leaves either nothing or a complete entry.
 *
 * <p>Layout:
 * <pre>
 * incoming/       DATA being received (temporary; emptied at start)
 * queue/ID.eml    the message, exactly the bytes that go upstream; never changed once written
 * queue/ID.env    its envelope and per-recipient state ({@link QueueEntry}); the commit mark
 * queue/ID.env.tmp  an envelope being written; renamed over ID.env
 * corrupt/        envelopes that could not be read, set aside for a human
 * lock            held by the one {@code serve} that owns the spool
 * entries.lock    one byte-range lock per entry (see below)
 * flush           written by {@code queue flush}: "retry everything now"
 * </pre>
 *
 * <p>A commit writes {@code ID.eml} and fsyncs it, writes {@code ID.env.tmp} and fsyncs it,
 * renames it to {@code ID.env}, and fsyncs the directory. Only then does the app get its 250.
 * An {@code .eml} without its {@code .env} was never acknowledged and is removed at start.
 * The directory fsync is shared: a committer thread syncs once for every commit waiting, so
 * that many sessions committing at once cost one directory sync, not one each (group commit).
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
    private final Committer committer;       // null for inspect()

    private Spool(Path root, FileChannel lockChannel, FileLock ownerLock, boolean committing) throws IOException {
        this.root = root;
        this.queue = root.resolve("queue");
        this.incoming = root.resolve("incoming");
        this.lockChannel = lockChannel;
        this.ownerLock = ownerLock;
        // absent only for inspect() of a spool never created: then there is nothing to lock
        this.entryLocks = Files.isDirectory(root) ? FileChannel.open(root.resolve("entries.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE) : null;
        this.committer = committing ? new Committer(queue) : null;
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
     * crash left half-written: {@code .env.tmp} files and messages without an envelope.
     */
    public static Spool open(Path root) throws IOException {
        Files.createDirectories(root.resolve("queue"));
        Files.createDirectories(root.resolve("incoming"));
        FileChannel ch = FileChannel.open(root.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
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
        Spool s = new Spool(root, ch, lock, true);
        s.recover();
        return s;
    }

    /**
     * The spool for the {@code queue} command: reads, locks entries one by one, never takes the
     * owner lock and never cleans up (a running {@code serve} owns that). A directory that does
     * not exist is an empty spool.
     */
    public static Spool inspect(Path root) throws IOException {
        return new Spool(root, null, null, false);
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
        return queue.resolve(id + ".eml");
    }

    private Path envelopeFile(String id) {
        return queue.resolve(id + ".env");
    }

    // ---------------------------------------------------------------- commit

    /**
     * Writes {@code message} and {@code entry} durably; on return the entry survives a crash.
     * On any failure nothing is left behind and the exception says why (disk full, unwritable).
     */
    public void commit(QueueEntry entry, OutboundMessage message) throws IOException {
        if (committer == null) {
            throw new IllegalStateException("spool opened read-only");
        }
        Path eml = messageFile(entry.id());
        Path env = envelopeFile(entry.id());
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(eml, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = Channels.newOutputStream(ch);
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

    /** Replaces the envelope of an existing entry atomically (state after an attempt, flush). */
    public void update(QueueEntry entry) throws IOException {
        Path env = envelopeFile(entry.id());
        if (!Files.exists(env)) {
            throw new NoSuchFileException(env.toString(), null, "entry is gone");
        }
        writeEnvelope(entry, env);
    }

    /**
     * Write to a temporary name, fsync, rename over: a crash leaves the old envelope or the new
     * one, never a torn or empty one (an un-fsynced rename can leave a zero-length file on
     * filesystems without ext4's auto_da_alloc).
     */
    private void writeEnvelope(QueueEntry entry, Path env) throws IOException {
        Path tmp = queue.resolve(entry.id() + ".env.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(entry.toBytes());
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, env, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    // ---------------------------------------------------------------- read, remove, lock

    /** The entry, or empty when it is not (or no longer) in the queue. */
    public Optional<QueueEntry> read(String id) throws IOException {
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

    /** Removes an entry: the envelope first (the commit mark), then the message. */
    public boolean remove(String id) throws IOException {
        boolean existed = Files.deleteIfExists(envelopeFile(id));
        Files.deleteIfExists(messageFile(id));
        return existed;
    }

    /** Moves an unreadable entry to {@code corrupt/}, so that it is neither lost nor retried forever. */
    public void setAside(String id) throws IOException {
        Path corrupt = root.resolve("corrupt");
        Files.createDirectories(corrupt);
        for (Path p : List.of(envelopeFile(id), messageFile(id))) {
            if (Files.exists(p)) {
                Files.move(p, corrupt.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** IDs of the committed entries, oldest first (IDs grow with time). */
    public List<String> ids() throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(queue, "*.env")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                out.add(name.substring(0, name.length() - ".env".length()));
            }
        } catch (NoSuchFileException e) {
            return out;
        }
        out.sort(null);
        return out;
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
        if (!Files.exists(messageFile(id))) {
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
        if (id.matches("[0-9A-Fa-f]{1,15}")) {
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
        Files.writeString(f, java.time.Instant.now() + "\n");
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

    private void recover() throws IOException {
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
                }
            }
        }
        if (removed > 0) {
            log.info("spool {}: removed {} file(s) of transactions that never completed", root, removed);
            fsyncDirectory(queue);
        }
    }

    private static void fsyncDirectory(Path dir) throws IOException {
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
        if (committer != null) {
            committer.stop();
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

    /**
     * Group commit of directory fsyncs: callers rename their envelope into place, then wait here;
     * one thread fsyncs the directory once for all that are waiting, and releases them. Every
     * caller's rename happened before it enqueued, so the sync covers it.
     */
    private static final class Committer {
        private final Path dir;
        private final LinkedBlockingQueue<CompletableFuture<Void>> waiting = new LinkedBlockingQueue<>();
        private final Thread thread;
        private volatile boolean stopped;
        final java.util.concurrent.atomic.AtomicLong syncs = new java.util.concurrent.atomic.AtomicLong();

        Committer(Path dir) {
            this.dir = dir;
            this.thread = Thread.ofPlatform().daemon().name("spool-commit").start(this::run);
        }

        void sync() throws IOException {
            CompletableFuture<Void> f = new CompletableFuture<>();
            if (stopped) {
                throw new IOException("spool is closed");
            }
            waiting.add(f);
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the spool directory sync");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
        }

        private void run() {
            List<CompletableFuture<Void>> batch = new ArrayList<>();
            FileChannel ch = null;
            while (!stopped || !waiting.isEmpty()) {
                try {
                    CompletableFuture<Void> first = waiting.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                    waiting.drainTo(batch);
                    try {
                        if (ch == null) {
                            ch = FileChannel.open(dir, StandardOpenOption.READ);
                        }
                        ch.force(true);
                        syncs.incrementAndGet();
                        batch.forEach(f -> f.complete(null));
                    } catch (IOException e) {
                        batch.forEach(f -> f.completeExceptionally(e));
                        closeQuietly(ch);
                        ch = null;
                    }
                    batch.clear();
                } catch (InterruptedException e) {
                    break;
                }
            }
            closeQuietly(ch);
            IOException closed = new IOException("spool is closed");
            CompletableFuture<Void> f;
            while ((f = waiting.poll()) != null) {
                f.completeExceptionally(closed);
            }
        }

        private static void closeQuietly(FileChannel ch) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // read-only directory handle
                }
            }
        }

        void stop() {
            stopped = true;
            try {
                thread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** How many directory fsyncs the commits so far cost (fewer than commits when grouped). */
    long directorySyncs() {
        return committer == null ? 0 : committer.syncs.get();
    }
}
