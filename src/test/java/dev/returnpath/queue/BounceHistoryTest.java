package dev.returnpath.queue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BounceHistoryTest {
    @TempDir
    Path dir;
    final Instant t = Instant.parse("2026-12-03T07:00:00Z");

    @Test
    void linesAreAppendedStampedPrivateAndReadBackInOrder() throws Exception {
        assertThat(BounceHistory.append(dir, "18C2F3A4B5C6D", t, "bounce: id=18C2F3A4B5C6D status=5.7.26")).isTrue();
        assertThat(BounceHistory.append(dir, "18C2F3A4B5C6D", t.plusSeconds(60), "bounce: id=18C2F3A4B5C6D status=5.1.1\nforged")).isTrue();
        assertThat(BounceHistory.read(dir, "18C2F3A4B5C6D")).containsExactly(
                "2026-12-03T07:00:00Z bounce: id=18C2F3A4B5C6D status=5.7.26",
                "2026-12-03T07:01:00Z bounce: id=18C2F3A4B5C6D status=5.1.1 forged");
        Path f = dir.resolve("bounced/18C2F3A4B5C6D");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f.getParent()))).isEqualTo("rwx------");
        assertThat(BounceHistory.read(dir, "18C2F3A4B5C6E")).isEmpty();
    }

    @Test
    void aFileStopsGrowingAtItsCap() throws Exception {
        String line = "bounce: " + "x".repeat(200);
        int kept = 0;
        while (BounceHistory.append(dir, "ABC", t, line)) {
            kept++;
        }
        assertThat(kept).isBetween(30, 40);
        assertThat(Files.size(dir.resolve("bounced/ABC"))).isLessThanOrEqualTo(BounceHistory.MAX_BYTES);
        assertThat(BounceHistory.read(dir, "ABC")).hasSize(kept);
    }

    @Test
    void aPathInsteadOfAnIdIsNeitherWrittenNorRead() throws Exception {
        assertThat(BounceHistory.append(dir, "../../x", t, "bounce: x")).isFalse();
        assertThat(BounceHistory.read(dir, "../lock")).isEmpty();
        assertThat(Files.exists(dir.resolve("bounced"))).isFalse();
    }

    @Test
    void aSymbolicLinkForTheDirectoryIsRefused() throws Exception {
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        Path root = Files.createDirectory(dir.resolve("spool"));
        Files.createSymbolicLink(root.resolve("bounced"), elsewhere);
        assertThatThrownBy(() -> BounceHistory.append(root, "ABC", t, "bounce: x")).hasMessageContaining("symbolic link");
        assertThat(elsewhere).isEmptyDirectory();
    }

    @Test
    void pruneRemovesOnlyFilesOlderThanTheirKeep() throws Exception {
        BounceHistory.append(dir, "OLD", t, "bounce: old");
        BounceHistory.append(dir, "NEW", t, "bounce: new");
        Instant now = t.plus(BounceHistory.KEEP).plus(Duration.ofDays(1));
        Files.setLastModifiedTime(dir.resolve("bounced/OLD"), FileTime.from(now.minus(BounceHistory.KEEP).minusSeconds(1)));
        Files.setLastModifiedTime(dir.resolve("bounced/NEW"), FileTime.from(now.minus(BounceHistory.KEEP).plusSeconds(60)));
        assertThat(BounceHistory.prune(dir, now)).isEqualTo(1);
        assertThat(BounceHistory.read(dir, "OLD")).isEmpty();
        assertThat(BounceHistory.read(dir, "NEW")).hasSize(1);
        assertThat(BounceHistory.prune(dir.resolve("nowhere"), now)).isZero();
    }
}
