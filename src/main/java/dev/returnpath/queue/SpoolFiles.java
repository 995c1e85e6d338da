package dev.returnpath.queue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;

/**
 * The file operations through which {@code serve}'s spool changes the disk: the {@link Journal}
 * opening, deleting and syncing segments, and the {@link Spool} writing, renaming and removing
 * the files of {@code queue/} and syncing that directory. {@link #SYSTEM} is the file system itself; the
 * crash-state tests put a layer here that records every write and sync, and one whose
 * {@code fdatasync} fails, to prove what a crash or an I/O error can and cannot lose.
 */
interface SpoolFiles {
    FileChannel open(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attributes) throws IOException;

    /** Deletes {@code path} if it is there; true if it was. */
    boolean delete(Path path) throws IOException;

    /** Renames {@code from} over {@code to}, atomically where the file system can. */
    void move(Path from, Path to) throws IOException;

    void syncDirectory(Path dir) throws IOException;

    SpoolFiles SYSTEM = new SpoolFiles() {
        @Override
        public FileChannel open(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attributes)
                throws IOException {
            return FileChannel.open(path, options, attributes);
        }

        @Override
        public boolean delete(Path path) throws IOException {
            return Files.deleteIfExists(path);
        }

        @Override
        public void move(Path from, Path to) throws IOException {
            try {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
            }
        }

        @Override
        public void syncDirectory(Path dir) throws IOException {
            Spool.fsyncDirectory(dir);
        }
    };
}
