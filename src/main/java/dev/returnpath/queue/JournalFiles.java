package dev.returnpath.queue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;

/**
 * The file operations through which the {@link Journal} changes the disk: opening a segment for
 * writing, deleting one, syncing the directory. {@link #SYSTEM} is the file system itself; the
 * crash-state tests put a layer here that records every write and sync, and one whose
 * {@code fdatasync} fails, to prove what a crash or an I/O error can and cannot lose.
 */
interface JournalFiles {
    FileChannel open(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attributes) throws IOException;

    void delete(Path path) throws IOException;

    void syncDirectory(Path dir) throws IOException;

    JournalFiles SYSTEM = new JournalFiles() {
        @Override
        public FileChannel open(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attributes)
                throws IOException {
            return FileChannel.open(path, options, attributes);
        }

        @Override
        public void delete(Path path) throws IOException {
            Files.deleteIfExists(path);
        }

        @Override
        public void syncDirectory(Path dir) throws IOException {
            Spool.fsyncDirectory(dir);
        }
    };
}
