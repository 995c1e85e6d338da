package dev.returnpath.cli;

import dev.returnpath.dkim.DkimKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code dkim-keygen}: the key file (mode 0600, loadable, never overwritten) and the record it prints. */
class DkimKeygenCommandTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream o = System.out, e = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
    }

    /** The strings of the printed record, joined (as a verifier joins them, RFC 6376 §3.6.2.2). */
    static String joined(String line) {
        Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(line);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            assertThat(m.group(1).length()).isLessThanOrEqualTo(255);
            b.append(m.group(1));
        }
        return b.toString();
    }

    @Test
    void anRsaKeyIsWrittenPrivateAndItsRecordPrintedInStringsOf255() throws Exception {
        Path out = dir.resolve("keys/example.com.rp2026.pem");
        Run r = run("dkim-keygen", "--domain", "Example.COM", "--selector", "rp2026", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(out))).isEqualTo("rw-------");
        DkimKey k = DkimKey.load("example.com", "rp2026", out);
        assertThat(k.algorithm()).isEqualTo(DkimKey.Algorithm.RSA_SHA256);
        assertThat(k.bits()).isEqualTo(2048);
        String line = r.out().strip();
        assertThat(line).startsWith("rp2026._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; p=");
        assertThat(joined(line)).isEqualTo(k.record());
        assertThat(r.err()).contains("key-file = \"" + out.toAbsolutePath() + "\"").doesNotContain("PRIVATE KEY");
        assertThat(r.out()).doesNotContain("PRIVATE KEY");
    }

    @Test
    void anEd25519RecordIsOneStringOfTheRaw32ByteKey() throws Exception {
        Path out = dir.resolve("ed.pem");
        Run r = run("dkim-keygen", "--domain", "example.com", "--selector", "ed2026", "--type", "ed25519", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        DkimKey k = DkimKey.load("example.com", "ed2026", out);
        assertThat(r.out().strip()).isEqualTo("ed2026._domainkey.example.com. IN TXT \"" + k.record() + "\"");
        String p = k.record().substring(k.record().indexOf("p=") + 2);
        assertThat(Base64.getDecoder().decode(p)).hasSize(32);
        assertThat(k.record()).startsWith("v=DKIM1; k=ed25519; p=");
    }

    @Test
    void anExistingFileIsNeverOverwritten() throws Exception {
        Path out = dir.resolve("k.pem");
        Files.writeString(out, "in use");
        Run r = run("dkim-keygen", "--domain", "example.com", "--selector", "s", "--out", out.toString());
        assertThat(r.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err()).contains(out + " exists");
        assertThat(Files.readString(out)).isEqualTo("in use");
    }

    @Test
    void badArgumentsAreUsageErrorsWithoutAFile() {
        Path out = dir.resolve("k.pem");
        assertThat(run("dkim-keygen", "--domain", "example.com", "--selector", "s", "--bits", "512", "--out", out.toString()).err())
                .contains("--bits must be between 1024 and 4096");
        assertThat(run("dkim-keygen", "--domain", "example.com", "--selector", "s", "--type", "dsa", "--out", out.toString()).code())
                .isEqualTo(Main.EXIT_USAGE);
        assertThat(run("dkim-keygen", "--domain", "not a domain", "--selector", "s", "--out", out.toString()).err())
                .contains("is not a domain name");
        assertThat(out).doesNotExist();
    }

    @Test
    void a1024BitKeyIsMadeWithAWarning() throws Exception {
        Path out = dir.resolve("small.pem");
        Run r = run("dkim-keygen", "--domain", "example.com", "--selector", "s", "--bits", "1024", "--out", out.toString());
        assertThat(r.code()).isZero();
        assertThat(r.err()).contains("warning: a 1024-bit RSA key");
        assertThat(DkimKey.load("example.com", "s", out).bits()).isEqualTo(1024);
    }
}
