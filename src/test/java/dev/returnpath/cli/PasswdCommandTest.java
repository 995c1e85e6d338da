package dev.returnpath.cli;

import dev.returnpath.auth.PasswordHash;
import dev.returnpath.auth.UsersFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class PasswdCommandTest {
    record Run(int code, String out, String err) {}

    static Run run(String stdin, String... args) {
        PasswdCommand cmd = new PasswdCommand();
        cmd.in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        cmd.out = new PrintStream(out, true, StandardCharsets.UTF_8);
        cmd.err = new PrintStream(err, true, StandardCharsets.UTF_8);
        cmd.console = null;
        int code = new CommandLine(cmd).execute(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsALineThatTheUsersFileAcceptsWith600kIterations(@TempDir Path dir) throws Exception {
        Run r = run("a long enough password\n", "app");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("app:$pbkdf2-sha256$600000$").doesNotContain("a long enough password");
        Path users = dir.resolve("users");
        Files.writeString(users, r.out());
        UsersFile file = UsersFile.read(users);
        assertThat(file.check("app", "a long enough password".toCharArray())).contains("app");
        assertThat(file.check("app", "a long enough passwore".toCharArray())).isEmpty();
        assertThat(file.check("other", "a long enough password".toCharArray())).isEmpty();
        // salted: the same password twice gives two hashes
        assertThat(run("a long enough password\n", "app").out()).isNotEqualTo(r.out());
    }

    @Test
    void aShortPasswordABadNameAndNoInputAreRefused() {
        assertThat(run("short\n", "app").code()).isEqualTo(Main.EXIT_USAGE);
        Run badName = run("a long enough password\n", "app:x");
        assertThat(badName.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badName.err()).contains("not a user name");
        assertThat(run("", "app").err()).contains("no password on stdin");
        // there is no option that takes the password
        assertThat(run("", "app", "--password", "x").code()).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void theHashRoundTripsAndNeverShowsInToString() {
        PasswordHash h = PasswordHash.create("s3cret-s3cret".toCharArray(), PasswordHash.MIN_ITERATIONS);
        PasswordHash back = PasswordHash.parse(h.text());
        assertThat(back).isEqualTo(h);
        assertThat(back.matches("s3cret-s3cret".toCharArray())).isTrue();
        assertThat(back.matches("s3cret-s3creT".toCharArray())).isFalse();
        assertThat(back.toString()).doesNotContain(h.text().substring(20));
    }
}
