package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig.BareNewline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.subethamail.smtp.internal.io.DotTerminatedInputStream;
import org.subethamail.smtp.internal.io.DotUnstuffingInputStream;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DATA read in blocks from the session's input ({@link DataReceiver#receiveRaw}) against DATA
 * read through SubEtha's own streams ({@link DataReceiver#receive}): the same message bytes,
 * header, flags, and the same place in the input afterwards, for every input.
 */
class DataReceiverTest {
    @TempDir
    Path dir;

    /** What one way of reading produced: the file, the result, and what was left in the input. */
    record Outcome(byte[] file, DataReceiver.Received r, byte[] rest) {}

    /** An input that hands out at most a few bytes per read, so that every block boundary is met. */
    static final class Trickle extends InputStream {
        private final byte[] data;
        private final Random random;
        private final int most;
        private int pos;

        Trickle(byte[] data, long seed, int most) {
            this.data = data;
            this.random = new Random(seed);
            this.most = most;
        }

        @Override
        public int read() {
            return pos < data.length ? data[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= data.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, 1 + random.nextInt(most)), data.length - pos);
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public int available() {
            return 0; // never promises more: BufferedInputStream returns after each read
        }
    }

    private Outcome viaSubEtha(byte[] input, long max, BareNewline policy, long seed, int most) throws IOException {
        BufferedInputStream session = new BufferedInputStream(new Trickle(input, seed, most), 8192);
        InputStream data = new DotUnstuffingInputStream(new DotTerminatedInputStream(session));
        try (FileChannel ch = channel("subetha")) {
            DataReceiver.Received r = DataReceiver.receive(data, ch, max, policy, false);
            return new Outcome(read(ch, r.size(), max), r, session.readAllBytes());
        }
    }

    private Outcome viaRaw(byte[] input, long max, BareNewline policy, long seed, int most) throws IOException {
        BufferedInputStream session = new BufferedInputStream(new Trickle(input, seed, most), 8192);
        try (FileChannel ch = channel("raw")) {
            DataReceiver.Received r = DataReceiver.receiveRaw(session, ch, max, policy, false);
            // SubEtha's drain after data(): its stream must find the end at once, in ".CRLF"
            assertThat(new DotTerminatedInputStream(session).read()).isEqualTo(-1);
            return new Outcome(read(ch, r.size(), max), r, session.readAllBytes());
        }
    }

    private int files;

    private FileChannel channel(String name) throws IOException {
        return FileChannel.open(dir.resolve(name + files++), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
    }

    private static byte[] read(FileChannel ch, long size, long max) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(size, max));
        ch.read(b, 0);
        return b.array();
    }

    private void assertSame(byte[] input, long max, BareNewline policy, long seed, int most) throws IOException {
        Outcome want = viaSubEtha(input, max, policy, seed, most);
        Outcome got = viaRaw(input, max, policy, seed, most);
        // SubEtha leaves a dot that starts the first line (its unstuffing starts with last={-1,-1}):
        // the old path undoes that for "..", the block reader removes any leading dot (RFC 5321 §4.5.2)
        boolean firstLineDot = input.length >= 3 && input[0] == '.' && input[1] != '.'
                && !(input[1] == '\r' && input[2] == '\n');
        String what = "input " + printable(input) + " max " + max + " " + policy;
        if (firstLineDot) {
            Outcome shifted = viaSubEtha(Arrays.copyOfRange(input, 1, input.length), max, policy, seed, most);
            assertThat(got.file()).as(what).isEqualTo(shifted.file());
            assertThat(got.r().size()).as(what).isEqualTo(shifted.r().size());
            assertThat(got.rest()).as(what).isEqualTo(shifted.rest());
            return;
        }
        assertThat(got.file()).as(what).isEqualTo(want.file());
        assertThat(got.r().size()).as(what).isEqualTo(want.r().size());
        assertThat(got.r().headerBytes()).as(what).isEqualTo(want.r().headerBytes());
        assertThat(got.r().bodyOffset()).as(what).isEqualTo(want.r().bodyOffset());
        assertThat(got.r().tooBig()).as(what).isEqualTo(want.r().tooBig());
        assertThat(got.r().headerTooBig()).as(what).isEqualTo(want.r().headerTooBig());
        assertThat(got.r().bareNewline()).as(what).isEqualTo(want.r().bareNewline());
        assertThat(got.rest()).as(what).isEqualTo(want.rest());
    }

    private static String printable(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1).replace("\r", "\\r").replace("\n", "\\n");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // DATA as it comes from the client, up to and past its end
            ".\\r\\nQUIT\\r\\n",
            "Subject: x\\r\\n\\r\\nbody\\r\\n.\\r\\nQUIT\\r\\n",
            "Subject: x\\r\\n\\r\\n..leading dot\\r\\n...two\\r\\n.\\r\\n",
            "..first line stuffed\\r\\n\\r\\nx\\r\\n.\\r\\n",
            "a\\r\\nb\\n.\\nc\\r\\n.\\r\\nMAIL FROM:<x@y>\\r\\n",
            "a\\r\\n.\\n.\\r\\n.\\r\\n",
            "a\\r\\r\\n.\\r\\n",
            "a\\r\\n.\\r.\\r\\n\\r\\n.\\r\\n",
            "the last line.\\r\\n.\\r\\n",
            "x\\r\\n\\r\\n\\r\\n.\\r\\n",
    })
    void edgeCasesReadTheSameBothWays(String escaped) throws Exception {
        byte[] input = bytes(escaped.replace("\\r", "\r").replace("\\n", "\n"));
        for (BareNewline policy : BareNewline.values()) {
            for (int most : new int[] {1, 2, 3, 7, 8192}) {
                assertSame(input, 1 << 20, policy, 1, most);
                assertSame(input, 5, policy, 1, most);
            }
        }
    }

    /**
     * Bare CRs: with normalize, CRs right before a CRLF are dropped (CR CR LF is what nullmailer
     * sends for PHP's CRLF lines: one line end, so the header keeps all its fields); any other
     * bare CR is a line end. With reject the bytes stay as they came, and the message is flagged.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "To: a\\r\\r\\nSubject: b\\r\\r\\n\\r\\r\\nbody\\r\\r\\n.\\r\\n | NORMALIZE | To: a\\r\\nSubject: b\\r\\n\\r\\nbody\\r\\n | To: a\\r\\nSubject: b\\r\\n",
            "S: x\\r\\n\\r\\na\\r\\r\\r\\nb\\r\\n.\\r\\n | NORMALIZE | S: x\\r\\n\\r\\na\\r\\nb\\r\\n | S: x\\r\\n",
            "S: x\\r\\n\\r\\na\\rb\\r\\r.\\r\\n.\\r\\n | NORMALIZE | S: x\\r\\n\\r\\na\\r\\nb\\r\\n\\r\\n.\\r\\n | S: x\\r\\n",
            "To: a\\r\\r\\nS: b\\r\\n\\r\\nc\\r\\r\\n.\\r\\n | REJECT | To: a\\r\\r\\nS: b\\r\\n\\r\\nc\\r\\r\\n | To: a\\r\\r\\nS: b\\r\\n",
    })
    void crsBeforeALineEnd(String input, BareNewline policy, String file, String header) throws Exception {
        byte[] in = bytes(unescape(input.strip()));
        Outcome got = viaRaw(in, 1 << 20, policy, 1, 8192);
        assertThat(printable(got.file())).isEqualTo(file.strip());
        assertThat(printable(got.r().headerBytes())).isEqualTo(header.strip());
        assertThat(got.r().bareNewline()).isTrue();
        for (int most : new int[] {1, 2, 3, 8192}) {
            assertSame(in, 1 << 20, policy, 1, most);
        }
    }

    private static String unescape(String s) {
        return s.replace("\\r", "\r").replace("\\n", "\n");
    }

    @Test
    void randomDataReadsTheSameBothWays() throws Exception {
        Random random = new Random(8);
        byte[] alphabet = bytes("a.\r\n:H ");
        for (int n = 0; n < 4000; n++) {
            int len = random.nextInt(120);
            byte[] content = new byte[len];
            for (int i = 0; i < len; i++) {
                content[i] = alphabet[random.nextInt(alphabet.length)];
            }
            byte[] input = concat(content, bytes("\r\n.\r\nNEXT\r\n"));
            BareNewline policy = random.nextBoolean() ? BareNewline.REJECT : BareNewline.NORMALIZE;
            long max = random.nextInt(4) == 0 ? random.nextInt(60) : 1 << 20;
            assertSame(input, max, policy, n, 1 + random.nextInt(12));
        }
    }

    @Test
    void largeDataWithLongLinesAndStuffedDotsReadsTheSameBothWays() throws Exception {
        StringBuilder s = new StringBuilder("From: a@example.com\r\nSubject: big\r\n\r\n");
        Random random = new Random(3);
        while (s.length() < 300_000) {
            int kind = random.nextInt(10);
            s.append(kind == 0 ? ".." : kind == 1 ? "." : "").append("x".repeat(random.nextInt(2000))).append("\r\n");
        }
        byte[] input = concat(bytes(s.toString()), bytes(".\r\nQUIT\r\n"));
        assertSame(input, 1 << 20, BareNewline.REJECT, 5, 9000);
        assertSame(input, 1 << 20, BareNewline.REJECT, 5, 100);
        assertSame(input, 100_000, BareNewline.NORMALIZE, 5, 5000);
    }

    @Test
    void theInputEndingBeforeTheEndOfDataIsAnError() {
        for (String s : new String[] {"abc", "abc\r\n", "abc\r\n.", "abc\r\n.\r"}) {
            BufferedInputStream session = new BufferedInputStream(new ByteArrayInputStream(bytes(s)), 8192);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
                try (FileChannel ch = channel("eof")) {
                    DataReceiver.receiveRaw(session, ch, 1 << 20, BareNewline.REJECT, false);
                }
            }).as(s).isInstanceOf(java.io.EOFException.class);
        }
    }

    /**
     * With a lent buffer, a message that fits it stays there and the file is not written; one
     * that does not fit (or is over the size limit) goes to the file as before. Either way the
     * bytes, header, offsets, flags and the rest of the input are those of the file path.
     */
    @Test
    void aMessageThatFitsTheLentBufferStaysThereAndOneThatDoesNotGoesToTheFile() throws Exception {
        Random random = new Random(12);
        byte[] alphabet = bytes("ab.\r\n:H ");
        for (int len : new int[] {0, 1, 100, 4096, DataReceiver.BUFFER - 10, DataReceiver.BUFFER + 10, 200_000}) {
            byte[] content = new byte[len];
            for (int i = 0; i < len; i++) {
                content[i] = alphabet[random.nextInt(alphabet.length)];
            }
            byte[] input = concat(content, bytes("\r\n.\r\nNEXT\r\n"));
            for (BareNewline policy : BareNewline.values()) {
                for (long max : new long[] {1 << 20, 50}) {
                    String what = len + " bytes, " + policy + ", max " + max;
                    Outcome want = viaRaw(input, max, policy, len, 8192);
                    BufferedInputStream session = new BufferedInputStream(new Trickle(input, len, 8192), 8192);
                    byte[] buffer = new byte[DataReceiver.BUFFER];
                    try (FileChannel ch = channel("lent")) {
                        DataReceiver.Received r = DataReceiver.receiveRaw(session, ch, max, policy, false, buffer, true);
                        boolean fits = want.r().size() <= DataReceiver.BUFFER && !want.r().tooBig();
                        assertThat(r.inBuffer()).as(what).isEqualTo(fits);
                        byte[] got = fits ? Arrays.copyOf(buffer, (int) r.size()) : read(ch, r.size(), max);
                        assertThat(ch.size()).as(what + ": the file").isEqualTo(fits ? 0 : Math.min(r.size(), max));
                        assertThat(got).as(what).isEqualTo(want.file());
                        assertThat(r.size()).as(what).isEqualTo(want.r().size());
                        assertThat(r.headerBytes()).as(what).isEqualTo(want.r().headerBytes());
                        assertThat(r.bodyOffset()).as(what).isEqualTo(want.r().bodyOffset());
                        assertThat(r.tooBig()).as(what).isEqualTo(want.r().tooBig());
                        assertThat(r.bareNewline()).as(what).isEqualTo(want.r().bareNewline());
                        assertThat(new DotTerminatedInputStream(session).read()).as(what).isEqualTo(-1);
                        assertThat(session.readAllBytes()).as(what).isEqualTo(want.rest());
                    }
                }
            }
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
