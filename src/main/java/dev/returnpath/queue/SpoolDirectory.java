package dev.returnpath.queue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code queue.dir} must look like before a relay writes mail into it, and how its files
 * are made: mail is private to the relay's user whatever the umask.
 *
 * <p>{@link #prepare} runs at start. It creates what is missing with mode 0700, and refuses
 * (with an {@link IOException} whose message names the path and the fix) a directory owned by
 * another user, a {@code queue.dir} writable by group or others (they could swap its
 * subdirectories), and a symbolic link where the relay keeps its own files: a relay that
 * followed {@code incoming -> /somewhere} would empty {@code /somewhere} at start. Existing
 * subdirectories wider than 0700 are narrowed to it. The checks are what Postfix's
 * {@code postfix check} does for its queue directory, done by the relay itself.
 *
 * <p>Files are created with {@link #PRIVATE_FILE} (0600); a mode given at creation can only be
 * narrowed by the umask, never widened.
 */
public final class SpoolDirectory {
    /** rw------- at creation. */
    public static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final Set<PosixFilePermission> DIRECTORY_MODE = PosixFilePermissions.fromString("rwx------");
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIRECTORY =
            PosixFilePermissions.asFileAttribute(DIRECTORY_MODE);

    /** The subdirectories the relay creates; each must be a real directory of its own user. */
    static final List<String> SUBDIRECTORIES = List.of("incoming", "queue", "journal", "corrupt");
    /** The files directly under {@code queue.dir}; none may be a symbolic link. */
    static final List<String> FILES = List.of("lock", "entries.lock", "flush");

    private SpoolDirectory() {}

    /**
     * Replaces {@code file} whole: {@code content} goes to {@code tmp} (beside it, created
     * {@link #PRIVATE_FILE}, never through a symbolic link), forced to disk when {@code sync},
     * and is renamed over {@code file}, so that a reader or a crash sees the old content or the
     * new one, never a torn or empty file. A failure leaves no {@code tmp} behind.
     */
    public static void replace(Path file, Path tmp, boolean sync, ByteBuffer... content) throws IOException {
        replace(SpoolFiles.SYSTEM, file, tmp, sync, content);
    }

    /** {@link #replace(Path, Path, boolean, ByteBuffer...)} through {@code files} (the crash tests' recording layer). */
    static void replace(SpoolFiles files, Path file, Path tmp, boolean sync, ByteBuffer... content) throws IOException {
        boolean moved = false;
        try {
            try (FileChannel ch = files.open(tmp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PRIVATE_FILE)) {
                for (ByteBuffer b : content) {
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                }
                if (sync) {
                    ch.force(true);
                }
            }
            files.move(tmp, file);
            moved = true;
        } finally {
            if (!moved) {
                files.delete(tmp);
            }
        }
    }

    /**
     * True for a string that can name a spool entry: a queue ID as {@code QueueId} makes them (and
     * tests' short ones), 1 to 64 letters and digits. Anything else ({@code ../../etc/passwd},
     * {@code x/y}, an empty string) is refused before it becomes a path.
     */
    public static boolean isQueueId(String id) {
        if (id == null || id.isEmpty() || id.length() > 64) {
            return false;
        }
        // [0-9A-Za-z]{1,64} without the regex engine: queue list checks 100,000 names at a time
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Creates {@code root} and its subdirectories as needed (0700) and checks them; see the
     * class comment. Returns {@code root}.
     */
    public static Path prepare(Path root) throws IOException {
        createPrivateDirectory(root);
        PosixFileAttributes top = attributes(root, true);
        if (!top.isDirectory()) {
            throw new IOException("\"" + root + "\" is not a directory");
        }
        checkOwner(root, top);
        Set<PosixFilePermission> mode = top.permissions();
        if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException("\"" + root + "\" is writable by group or others (mode "
                    + PosixFilePermissions.toString(mode) + "): anyone who can write there can replace the spool's "
                    + "directories; chmod 700 it");
        }
        for (String name : SUBDIRECTORIES) {
            Path p = root.resolve(name);
            if (!name.equals("corrupt")) {
                createPrivateDirectory(p);
            }
            PosixFileAttributes a = attributesOrNull(p);
            if (a == null) {
                continue;
            }
            if (a.isSymbolicLink()) {
                throw symlink(p);
            }
            if (!a.isDirectory()) {
                throw new IOException("\"" + p + "\" is not a directory; move it away");
            }
            checkOwner(p, a);
            if (!a.permissions().equals(DIRECTORY_MODE)) {
                Files.setPosixFilePermissions(p, DIRECTORY_MODE);
            }
        }
        for (String name : FILES) {
            Path p = root.resolve(name);
            PosixFileAttributes a = attributesOrNull(p);
            if (a != null && a.isSymbolicLink()) {
                throw symlink(p);
            }
        }
        return root;
    }

    /**
     * Refuses a symbolic link at {@code dir}, which the relay is about to create files in or
     * empty (it checks before every new scratch file, not only at start).
     */
    public static void refuseSymbolicLink(Path dir) throws IOException {
        PosixFileAttributes a = attributesOrNull(dir);
        if (a != null && a.isSymbolicLink()) {
            throw symlink(dir);
        }
    }

    /** Creates {@code dir} and its missing parents with mode 0700 (the umask cannot widen it). */
    public static void createPrivateDirectory(Path dir) throws IOException {
        if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null && !Files.exists(parent)) {
            createPrivateDirectory(parent);
        }
        try {
            Files.createDirectory(dir, PRIVATE_DIRECTORY);
            Files.setPosixFilePermissions(dir, DIRECTORY_MODE); // a umask of 0777 would leave it 0000
        } catch (FileAlreadyExistsException e) {
            // a symbolic link or a file: prepare() says which; a directory made meanwhile is fine
        }
    }

    private static IOException symlink(Path p) throws IOException {
        String target;
        try {
            target = Files.readSymbolicLink(p).toString();
        } catch (IOException e) {
            target = "?";
        }
        return new IOException("\"" + p + "\" is a symbolic link (to \"" + target + "\"): returnpath does not follow "
                + "symbolic links inside queue.dir (it empties incoming/ at start); replace it by a directory, or "
                + "point queue.dir itself at the place you want");
    }

    private static void checkOwner(Path p, PosixFileAttributes a) throws IOException {
        Integer mine = currentUid();
        if (mine == null) {
            return;
        }
        Object uid = Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (uid instanceof Integer u && u.intValue() != mine) {
            throw new IOException("\"" + p + "\" is owned by " + a.owner().getName() + " (uid " + u
                    + "), not by the user returnpath runs as (uid " + mine + "); chown it");
        }
    }

    /** The process's effective uid: the owner of {@code /proc/self}; null where there is no /proc. */
    private static Integer currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        }
    }

    private static PosixFileAttributes attributes(Path p, boolean follow) throws IOException {
        LinkOption[] opts = follow ? new LinkOption[0] : new LinkOption[]{LinkOption.NOFOLLOW_LINKS};
        return Files.getFileAttributeView(p, PosixFileAttributeView.class, opts).readAttributes();
    }

    private static PosixFileAttributes attributesOrNull(Path p) throws IOException {
        try {
            return attributes(p, false);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** For tests: the permission bits of {@code p}. */
    static Set<PosixFilePermission> mode(Path p) throws IOException {
        return EnumSet.copyOf(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
