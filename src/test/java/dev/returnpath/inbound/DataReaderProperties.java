package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig.BareNewline;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterProperty;
import org.subethamail.smtp.internal.io.DotTerminatedInputStream;
import org.subethamail.smtp.internal.io.DotUnstuffingInputStream;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The DATA reader as properties: dot-stuffing undone exactly, the end found only at CRLF.CRLF,
 * bare CR and LF flagged (and turned into CRLF with normalize), BDAT content taken as it is.
 * Messages are drawn from an alphabet rich in the bytes that matter: '.', CR, LF.
 */
class DataReaderProperties {
    private final Path dir;

    DataReaderProperties() throws IOException {
        dir = Files.createTempDirectory("data-reader-properties");
    }

    @AfterProperty
    void clean() throws IOException {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Provide
    Arbitrary<byte[]> messages() {
        Arbitrary<String> piece = Arbitraries.of(".", "..", "\r\n", "\r", "\n", "a", "From: x\r\n", " ", "\r\n.\r\n.", "\u00e9");
        return piece.list().ofMaxSize(60).map(l -> String.join("", l).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Dot-stuffs for the wire (RFC 5321 §4.5.2): a dot after CRLF, or first, is doubled; ends with CRLF.CRLF. */
    static byte[] stuffed(byte[] message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean lineStart = true;
        for (int i = 0; i < message.length; i++) {
            byte b = message[i];
            if (lineStart && b == '.') {
                out.write('.');
            }
            out.write(b);
            lineStart = b == '\n' && i > 0 && message[i - 1] == '\r';
        }
        boolean endsWithCrlf = message.length >= 2 && message[message.length - 2] == '\r' && message[message.length - 1] == '\n';
        if (!endsWithCrlf && message.length > 0) {
            out.writeBytes("\r\n".getBytes());
        }
        out.writeBytes(".\r\n".getBytes());
        return out.toByteArray();
    }

    static boolean hasBareNewline(byte[] m) {
        for (int i = 0; i < m.length; i++) {
            if (m[i] == '\r' && (i + 1 >= m.length || m[i + 1] != '\n')) {
                return true;
            }
            if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) {
                return true;
            }
        }
        return false;
    }

    private int n;

    private FileChannel channel() throws IOException {
        return FileChannel.open(dir.resolve("f" + n++), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
    }

    private static byte[] content(FileChannel ch, DataReceiver.Received r) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) r.size());
        ch.read(b, 0);
        return b.array();
    }

    private static byte[] expectedOnDisk(byte[] message) {
        boolean endsWithCrlf = message.length >= 2 && message[message.length - 2] == '\r' && message[message.length - 1] == '\n';
        if (endsWithCrlf || message.length == 0) {
            return message;
        }
        byte[] m = java.util.Arrays.copyOf(message, message.length + 2);
        m[message.length] = '\r';
        m[message.length + 1] = '\n';
        return m;
    }

    @Property
    void theBlockReaderUndoesDotStuffingExactlyAndLeavesTheEndForSubEtha(@ForAll("messages") byte[] message,
                                                                         @ForAll("trailers") String next) throws IOException {
        byte[] wire = concat(stuffed(message), next.getBytes());
        BufferedInputStream session = new BufferedInputStream(new ByteArrayInputStream(wire), 8192);
        try (FileChannel ch = channel()) {
            DataReceiver.Received r = DataReceiver.receiveRaw(session, ch, Long.MAX_VALUE, BareNewline.REJECT, false);
            assertThat(content(ch, r)).isEqualTo(expectedOnDisk(message));
            assertThat(r.bareNewline()).isEqualTo(hasBareNewline(message));
            assertThat(new String(session.readAllBytes())).isEqualTo(".\r\n" + next); // nothing past the end read
            assertThat(r.bodyOffset()).isLessThanOrEqualTo(r.size());
            assertThat(r.headerBytes().length).isLessThanOrEqualTo((int) r.bodyOffset());
        }
    }

    @Provide
    Arbitrary<String> trailers() {
        return Arbitraries.of("", "QUIT\r\n", "MAIL FROM:<a@b.test>\r\n");
    }

    @Property
    void subEthasStreamAndTheBlockReaderAgree(@ForAll("messages") byte[] message) throws IOException {
        byte[] wire = stuffed(message);
        try (FileChannel a = channel(); FileChannel b = channel()) {
            InputStream data = new DotUnstuffingInputStream(new DotTerminatedInputStream(
                    new BufferedInputStream(new ByteArrayInputStream(wire), 8192)));
            DataReceiver.Received viaStream = DataReceiver.receive(data, a, Long.MAX_VALUE, BareNewline.REJECT, false);
            DataReceiver.Received viaBlocks = DataReceiver.receiveRaw(new BufferedInputStream(new ByteArrayInputStream(wire)),
                    b, Long.MAX_VALUE, BareNewline.REJECT, false);
            assertThat(content(a, viaStream)).isEqualTo(content(b, viaBlocks));
            assertThat(viaStream.headerBytes()).isEqualTo(viaBlocks.headerBytes());
            assertThat(viaStream.bareNewline()).isEqualTo(viaBlocks.bareNewline());
        }
    }

    @Property
    void normalizeLeavesNoBareCrOrLf(@ForAll("messages") byte[] message) throws IOException {
        try (FileChannel ch = channel()) {
            DataReceiver.Received r = DataReceiver.receiveRaw(new BufferedInputStream(new ByteArrayInputStream(stuffed(message))),
                    ch, Long.MAX_VALUE, BareNewline.NORMALIZE, false);
            byte[] out = content(ch, r);
            assertThat(hasBareNewline(out)).as(new String(out)).isFalse();
            assertThat(r.bareNewline()).isEqualTo(hasBareNewline(message));
        }
    }

    @Property
    void bdatContentIsTakenByteForByte(@ForAll("messages") byte[] message) throws IOException {
        try (FileChannel ch = channel()) {
            // BDAT's stream is neither dot-stuffed nor dot-terminated (RFC 3030 §2)
            DataReceiver.Received r = DataReceiver.receive(new ByteArrayInputStream(message), ch, Long.MAX_VALUE,
                    BareNewline.REJECT, false);
            assertThat(content(ch, r)).isEqualTo(message);
            assertThat(r.bareNewline()).isEqualTo(hasBareNewline(message));
        }
    }

    @Property
    void theSizeLimitIsCountedOnTheBytesWritten(@ForAll("messages") byte[] message) throws IOException {
        long max = Math.max(0, message.length / 2);
        try (FileChannel ch = channel()) {
            DataReceiver.Received r = DataReceiver.receive(new ByteArrayInputStream(message), ch, max, BareNewline.REJECT, false);
            assertThat(r.tooBig()).isEqualTo(message.length > max);
            assertThat(ch.size()).isLessThanOrEqualTo(max);
        }
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
