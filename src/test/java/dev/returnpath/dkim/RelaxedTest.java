package dev.returnpath.dkim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Random;

import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 6376 §3.4.2 and §3.4.4, with the example of §3.4.5. */
class RelaxedTest {

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] sha256(String s) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(ascii(s));
    }

    @Test
    void theHeaderExampleOfRfc6376Section345() {
        assertThat(new String(Relaxed.header(ascii("A: X\r\n")), StandardCharsets.US_ASCII)).isEqualTo("a:X\r\n");
        assertThat(new String(Relaxed.header(ascii("B : Y\t\r\n\tZ  \r\n")), StandardCharsets.US_ASCII))
                .isEqualTo("b:Y Z\r\n");
    }

    @Test
    void theBodyExampleOfRfc6376Section345() throws Exception {
        byte[] body = ascii(" C \r\nD \t E\r\n\r\n\r\n");
        assertThat(Relaxed.bodyHash(body)).isEqualTo(sha256(" C\r\nD E\r\n"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
            // body (\r \n \t written as such)   | canonical form
            "''                                  | ''",
            "'\\r\\n'                            | ''",
            "'\\r\\n\\r\\n\\r\\n'                | ''",
            "'x'                                 | 'x\\r\\n'",
            "'x  '                               | 'x\\r\\n'",
            "'x\\r\\n\\r\\ny \\t\\r\\n  \\r\\n'  | 'x\\r\\n\\r\\ny\\r\\n'",
            "'  lead\\tand  inner  \\r\\n'       | ' lead and inner\\r\\n'",
            "'8bit \u00e9t\u00e9\\r\\n'          | '8bit \u00e9t\u00e9\\r\\n'",
            "'a\\rb\\r\\n'                       | 'a\\rb\\r\\n'",
            "'end\\r'                            | 'end\\r\\r\\n'",
    })
    void bodiesCanonicalizeAsSection344Says(String body, String canonical) throws Exception {
        assertThat(Relaxed.bodyHash(ascii(unescape(body)))).isEqualTo(sha256(unescape(canonical)));
    }

    static String unescape(String s) {
        return s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t");
    }

    @ParameterizedTest(name = "field {0}")
    @CsvSource(delimiter = '|', value = {
            "'Subject:   many    spaces   \r\n'          | 'subject:many spaces\r\n'",
            "'Content-Type: text/plain;\r\n charset=utf-8\r\n' | 'content-type:text/plain; charset=utf-8\r\n'",
            "'X-Empty:\r\n'                             | 'x-empty:\r\n'",
            "'X-Empty:  \t \r\n'                       | 'x-empty:\r\n'",
            "'MIME-Version : 1.0\r\n'                   | 'mime-version:1.0\r\n'",
    })
    void headerFieldsCanonicalizeAsSection342Says(String raw, String canonical) {
        assertThat(new String(Relaxed.header(ascii(unescape(raw))), StandardCharsets.ISO_8859_1)).isEqualTo(unescape(canonical));
    }

    @Test
    void aBodyStreamedFromAFileThroughASmallBufferHashesAsInMemory(@TempDir Path dir) throws IOException {
        Random r = new Random(42);
        StringBuilder b = new StringBuilder();
        String[] pieces = {" ", "\t", "\r\n", "word", "\r\n\r\n", "  \r\n", "x"};
        for (int i = 0; i < 20_000; i++) {
            b.append(pieces[r.nextInt(pieces.length)]);
        }
        b.append("\r\n\r\n  \r\n");
        byte[] body = ascii(b.toString());
        byte[] file = new byte[body.length + 100];
        System.arraycopy(body, 0, file, 100, body.length);
        Path p = dir.resolve("msg");
        Files.write(p, file);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            for (int size : new int[] {1, 2, 3, 7, 4096}) {
                assertThat(Relaxed.bodyHash(ch, 100, file.length, ByteBuffer.allocate(size))).isEqualTo(Relaxed.bodyHash(body));
            }
            assertThat(ch.position()).isZero();
        }
    }
}
