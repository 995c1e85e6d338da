package dev.returnpath.queue;

import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The spool's files are the relay user's alone, and queue.dir is checked before anything is written or deleted. */
class SpoolDirectoryTest {
    @TempDir
    Path dir;

    static QueueEntry entry(String id) {
        Instant t = Instant.parse("2025-03-01T10:00:00Z");
        return new QueueEntry(id, t, "127.0.0.1", "web01", "apache@web01.internal", "bounce@example.com", 12, 0, t, false,
                List.of(new Recipient("a@example.org", State.PENDING, "", "")));
    }

    static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void everySpoolFileIs0600AndEveryDirectory0700UnderTheUsualUmask() throws Exception {
        Path root = dir.resolve("spool");
        try (Spool s = Spool.open(root)) {
            s.commit(entry("A1"), SpoolTest.message("Subject: x\r\n\r\nbody\r\n"));
            try (Stream<Path> logs = Files.list(root.resolve("journal"))) {
                List<Path> segments = logs.toList();
                assertThat(segments).isNotEmpty();
                for (Path p : segments) {
                    assertThat(mode(p)).as(p.toString()).isEqualTo("rw-------");
                }
            }
            s.update(entry("A1").withAttempt(1, Instant.parse("2025-03-01T10:05:00Z"), false));
            assertThat(mode(root.resolve("queue/A1.eml"))).isEqualTo("rw-------");
            assertThat(mode(root.resolve("queue/A1.env"))).isEqualTo("rw-------");
            s.setAside("A1");
            assertThat(mode(root.resolve("corrupt"))).isEqualTo("rwx------");
            s.requestFlush();
            assertThat(mode(root.resolve("flush"))).isEqualTo("rw-------");
        }
        assertThat(mode(root)).isEqualTo("rwx------");
        for (String d : List.of("incoming", "queue", "journal")) {
            assertThat(mode(root.resolve(d))).as(d).isEqualTo("rwx------");
        }
        assertThat(mode(root.resolve("lock"))).isEqualTo("rw-------");
        assertThat(mode(root.resolve("entries.lock"))).isEqualTo("rw-------");
    }

    @Test
    void anExistingSubdirectoryWiderThan0700IsNarrowed() throws Exception {
        Path root = dir.resolve("spool");
        Files.createDirectories(root.resolve("queue"));
        Files.setPosixFilePermissions(root.resolve("queue"), PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Spool s = Spool.open(root)) {
            assertThat(mode(root.resolve("queue"))).isEqualTo("rwx------");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"incoming", "queue", "journal", "corrupt"})
    void aSymbolicLinkInsideTheSpoolIsRefusedAndItsTargetKeepsItsFiles(String name) throws Exception {
        Path root = dir.resolve("spool");
        Files.createDirectories(root);
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path precious = Files.writeString(elsewhere.resolve("precious.eml"), "keep me");
        Files.writeString(elsewhere.resolve("x.env.tmp"), "keep me too");
        Files.createSymbolicLink(root.resolve(name), elsewhere);
        assertThatThrownBy(() -> Spool.open(root)).isInstanceOf(IOException.class)
                .hasMessageContaining(root.resolve(name) + "\" is a symbolic link (to \"" + elsewhere + "\")");
        assertThat(precious).hasContent("keep me");
        assertThat(elsewhere.resolve("x.env.tmp")).exists();
    }

    @Test
    void aSymbolicLinkAsTheLockFileIsRefused() throws Exception {
        Path root = Files.createDirectories(dir.resolve("spool"));
        Path target = Files.writeString(dir.resolve("target"), "untouched");
        Files.createSymbolicLink(root.resolve("lock"), target);
        assertThatThrownBy(() -> Spool.open(root)).hasMessageContaining("is a symbolic link");
        assertThat(target).hasContent("untouched");
    }

    @Test
    void aQueueDirWritableByOthersIsRefused() throws Exception {
        Path root = Files.createDirectories(dir.resolve("spool"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> SpoolDirectory.prepare(root)).hasMessageContaining("is writable by group or others")
                .hasMessageContaining("chmod 700");
    }

    @Test
    void aSubdirectoryOwnedByAnotherUserIsRefused() throws Exception {
        Path root = Files.createDirectories(dir.resolve("spool"));
        Path queue = Files.createDirectories(root.resolve("queue"));
        int mine = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        org.junit.jupiter.api.Assumptions.assumeTrue(mine == 0, "changing a directory's owner takes root");
        Files.setAttribute(queue, "unix:uid", 54321);
        assertThatThrownBy(() -> SpoolDirectory.prepare(root)).hasMessageContaining("(uid 54321), not by the user");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../../victim", "a/b", "", ".", "..", "A1.env", "A1\u0000", "A B"})
    void aStringThatIsNotAQueueIdNeverBecomesAPath(String bad) throws Exception {
        Path root = dir.resolve("spool");
        Files.writeString(dir.resolve("victim.eml"), "outside");
        try (Spool s = Spool.open(root)) {
            assertThat(SpoolDirectory.isQueueId(bad)).isFalse();
            assertThatThrownBy(() -> s.read(bad)).isInstanceOf(Spool.NotAQueueIdException.class);
            assertThatThrownBy(() -> s.remove(bad)).isInstanceOf(Spool.NotAQueueIdException.class);
            assertThatThrownBy(() -> s.openMessage(bad)).isInstanceOf(Spool.NotAQueueIdException.class);
        }
        assertThat(dir.resolve("victim.eml")).exists();
    }
}
