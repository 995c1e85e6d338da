package dev.returnpath.queue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file layer for the spool's tests: the real files, with every change and sync recorded in
 * order ({@link #log}), and {@code fdatasync} made to fail on demand ({@link #failSyncs}). The
 * crash-state test rebuilds from the log every state a crash could leave on disk.
 */
final class RecordingFiles implements SpoolFiles {
    sealed interface Op permits Create, Write, Truncate, Force, Delete, Rename, DirSync {
    }

    record Create(Path path) implements Op {
    }

    record Write(Path path, long position, byte[] bytes) implements Op {
    }

    record Truncate(Path path, long size) implements Op {
    }

    record Force(Path path) implements Op {
    }

    record Delete(Path path) implements Op {
    }

    record Rename(Path from, Path to) implements Op {
    }

    record DirSync(Path dir) implements Op {
    }

    final List<Op> log = Collections.synchronizedList(new ArrayList<>());
    /** The next this many syncs of a journal segment throw, as a failed fdatasync does (EIO). */
    final AtomicInteger failSyncs = new AtomicInteger();

    @Override
    public FileChannel open(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attributes)
            throws IOException {
        boolean existed = java.nio.file.Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        FileChannel ch = FileChannel.open(path, options, attributes);
        if (!existed && (options.contains(StandardOpenOption.CREATE_NEW) || options.contains(StandardOpenOption.CREATE))) {
            log.add(new Create(path));
        } else if (existed && options.contains(StandardOpenOption.TRUNCATE_EXISTING)
                && options.contains(StandardOpenOption.WRITE)) {
            log.add(new Truncate(path, 0));
        }
        return new Recorded(path, ch);
    }

    @Override
    public boolean delete(Path path) throws IOException {
        boolean existed = SpoolFiles.SYSTEM.delete(path);
        log.add(new Delete(path));
        return existed;
    }

    @Override
    public void move(Path from, Path to) throws IOException {
        SpoolFiles.SYSTEM.move(from, to);
        log.add(new Rename(from, to));
    }

    @Override
    public void syncDirectory(Path dir) throws IOException {
        SpoolFiles.SYSTEM.syncDirectory(dir);
        log.add(new DirSync(dir));
    }

    /** A channel that records its writes, truncations and syncs (of a directory too: a DirSync). */
    private final class Recorded extends FileChannel {
        private final Path path;
        private final FileChannel ch;

        Recorded(Path path, FileChannel ch) {
            this.path = path;
            this.ch = ch;
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            ByteBuffer copy = src.duplicate();
            int n = ch.write(src, position);
            byte[] b = new byte[n];
            copy.get(b);
            log.add(new Write(path, position, b));
            return n;
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            ch.truncate(size);
            log.add(new Truncate(path, size));
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            if (java.nio.file.Files.isDirectory(path)) {
                ch.force(metaData);
                log.add(new DirSync(path));
                return;
            }
            if (path.toString().endsWith(".log") && failSyncs.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new IOException("Input/output error (an injected fdatasync failure)");
            }
            ch.force(metaData);
            log.add(new Force(path));
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return ch.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return ch.read(dsts, offset, length);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return ch.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            long at = ch.position();
            ByteBuffer copy = src.duplicate();
            int n = ch.write(src);
            byte[] b = new byte[n];
            copy.get(b);
            log.add(new Write(path, at, b));
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            throw new UnsupportedOperationException("the journal writes at positions");
        }

        @Override
        public long position() throws IOException {
            return ch.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            ch.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return ch.size();
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return ch.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) {
            throw new UnsupportedOperationException("the journal writes at positions");
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return ch.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return ch.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return ch.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            ch.close();
        }
    }
}
