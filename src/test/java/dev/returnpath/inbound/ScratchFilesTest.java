package dev.returnpath.inbound;

import dev.returnpath.cli.Main;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The passthrough scratch files: private, holding one message only, never created through a link. */
class ScratchFilesTest {
    @TempDir
    Path dir;

    static List<Path> scratchFiles(Path incoming) throws Exception {
        try (Stream<Path> s = Files.list(incoming)) {
            return s.filter(p -> p.getFileName().toString().startsWith("scratch-")).toList();
        }
    }

    @Test
    void aScratchFileIs0600AndKeepsNoTailOfALongerEarlierMessage() throws Exception {
        Path spool = dir.resolve("spool");
        try (Upstream upstream = new Upstream(); TestRelay relay = new TestRelay(upstream.port(), spool, "")) {
            // above the 64 KiB receive buffer: this one goes to the scratch file
            String secret = "the-earlier-message-secret ".repeat(3000);
            try (SmtpClient c = relay.client()) {
                assertThat(c.send("apache@web01.internal", List.of("a@gmail.test"),
                        ("From: noreply@example.com\r\nSubject: long\r\n\r\n" + secret + "\r\n").getBytes(StandardCharsets.US_ASCII)))
                        .startsWith("250 ");
                assertThat(c.send("apache@web01.internal", List.of("a@gmail.test"),
                        "From: noreply@example.com\r\nSubject: short\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII)))
                        .startsWith("250 ");
            }
            Path incoming = spool.resolve("incoming");
            List<Path> files = scratchFiles(incoming);
            assertThat(files).hasSize(1); // one session, one scratch file reused
            Path f = files.get(0);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(incoming))).isEqualTo("rwx------");
            // the short one stayed in the receive buffer: the file keeps nothing of the long one
            String content = Files.readString(f, StandardCharsets.ISO_8859_1);
            assertThat(content).isEmpty();
            assertThat(upstream.received).hasSize(2);
            assertThat(new String(upstream.received.get(1).data(), StandardCharsets.ISO_8859_1)).endsWith("hi\r\n");
            // in the file, the same size (nothing to cut), in memory, larger, in memory again:
            // the file holds the last message that went to it or nothing, never a stale tail
            try (SmtpClient c = relay.client()) {
                for (String body : List.of("a".repeat(100), "b".repeat(70_000), "c".repeat(70_000),
                        "tail-secret ".repeat(300), "e".repeat(90_000), "d".repeat(40))) {
                    String message = "From: noreply@example.com\r\nSubject: n\r\n\r\n" + body + "\r\n";
                    assertThat(c.send("apache@web01.internal", List.of("a@gmail.test"),
                            message.getBytes(StandardCharsets.US_ASCII))).startsWith("250 ");
                    String now = Files.readString(scratchFiles(incoming).get(0), StandardCharsets.ISO_8859_1);
                    assertThat(now).as("the scratch file after a message of %d bytes", body.length())
                            .isEqualTo(message.length() > DataReceiver.BUFFER ? message : "");
                    assertThat(new String(upstream.received.getLast().data(), StandardCharsets.ISO_8859_1))
                            .as("what went upstream").endsWith("\r\n\r\n" + body + "\r\n");
                }
            }
            assertThat(upstream.received).hasSize(8);
        }
    }

    @Test
    void incomingAsASymbolicLinkIsNeitherEmptiedNorWrittenInto() throws Exception {
        Path spool = Files.createDirectories(dir.resolve("spool"));
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path precious = Files.writeString(elsewhere.resolve("precious"), "keep");
        Files.createSymbolicLink(spool.resolve("incoming"), elsewhere);

        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> Receiver.removeIncomingLeftovers(spool)))
                .hasMessageContaining("is a symbolic link");
        // the relay's start checks queue.dir (as serve does) and refuses to run on it
        try (Upstream upstream = new Upstream()) {
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> new TestRelay(upstream.port(), spool, "")))
                    .hasMessageContaining("is a symbolic link");
            assertThat(upstream.received).isEmpty();
        }
        try (Stream<Path> s = Files.list(elsewhere)) {
            assertThat(s.toList()).containsExactly(precious);
        }
        assertThat(Files.isSymbolicLink(spool.resolve("incoming"))).isTrue();
    }

    @Test
    void servePassthroughRefusesAnIncomingSymlinkWithExit78() throws Exception {
        Path spool = Files.createDirectories(dir.resolve("spool"));
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path precious = Files.writeString(elsewhere.resolve("precious"), "keep");
        Files.createSymbolicLink(spool.resolve("incoming"), elsewhere);
        Path conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, """
                returnpath {
                  listen.port = 0
                  management.port = 0
                  domains { "example.com" { return-path = "bounce@example.com" } }
                  delivery.smarthost.host = "127.0.0.1"
                  queue.dir = "%s"
                }
                """.formatted(spool));
        int rc = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Main.execute("serve", "--config", conf.toString()));
        assertThat(rc).isEqualTo(Main.EXIT_CONFIG);
        assertThat(precious).hasContent("keep");
        assertThat(Files.isSymbolicLink(spool.resolve("incoming"))).isTrue();
        assertThat(Files.exists(spool.resolve("incoming"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    }
}
