package dev.returnpath.queue;

import dev.returnpath.delivery.OutboundMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The journal on a nearly full file system: a real one, a 1 MiB tmpfs mounted for the test
 * (it takes root and a kernel that lets this process mount; the test is skipped elsewhere).
 */
class JournalDiskFullTest {
    @TempDir
    Path dir;
    Path mount;
    boolean mounted;

    static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    @BeforeEach
    void mountSmallFileSystem() throws Exception {
        mount = Files.createDirectories(dir.resolve("small"));
        mounted = run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mount.toString()) == 0;
        assumeTrue(mounted, "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            run("umount", "-l", mount.toString());
        }
    }

    static OutboundMessage message(int bytes) {
        byte[] m = new byte[bytes];
        java.util.Arrays.fill(m, (byte) 'x');
        byte[] head = "Subject: x\r\n\r\n".getBytes();
        System.arraycopy(head, 0, m, 0, head.length);
        return OutboundMessage.inMemory(m);
    }

    @Test
    void aSmallMessageIsCommittedWith296KiBFreeAndOnlyARecordThatDoesNotFitIsRefused() throws Exception {
        Path root = mount.resolve("spool");
        try (Spool s = Spool.open(root)) {
            long free = Files.getFileStore(mount).getUsableSpace();
            Files.write(mount.resolve("filler"), new byte[(int) (free - 296 * 1024)]);
            assertThat(Files.getFileStore(mount).getUsableSpace()).isBetween(280L * 1024, 300L * 1024);

            s.commit(SpoolTest.entry("A1"), message(4096));
            assertThat(s.read("A1")).isPresent();

            assertThatThrownBy(() -> s.commit(SpoolTest.entry("A2"), message(400 * 1024))).isInstanceOf(IOException.class);
            assertThat(s.read("A2")).isEmpty();

            s.commit(SpoolTest.entry("A3"), message(4096)); // the failed record left the journal usable
            assertThat(s.ids()).containsExactly("A1", "A3");
            assertThat(SpoolTest.bytesOf(s.message(SpoolTest.entry("A3")))).hasSize(4096);
        }
        try (Spool reopened = Spool.open(root)) { // recovery reads both records back
            assertThat(reopened.ids()).containsExactly("A1", "A3");
        }
    }
}
