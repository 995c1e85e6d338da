package dev.returnpath.cli;

import dev.returnpath.auth.PasswordHash;
import dev.returnpath.auth.UsersFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * {@code passwd NAME}: prints a {@code NAME:HASH} line for {@code listen.auth.users-file}. The
 * password is read from the terminal (twice, not echoed) or, without one, from the first line
 * of stdin (for scripts: {@code printf '%s\n' "$PW" | returnpath passwd app}); never from the
 * command line, where {@code ps} and the shell history would show it.
 */
@Command(name = "passwd", mixinStandardHelpOptions = true,
        description = "Print a NAME:HASH line for listen.auth.users-file (the password from the terminal or stdin).")
final class PasswdCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "The user name the app gives in AUTH.")
    String name;

    /** For tests: stdin and the streams, and no terminal. */
    InputStream in = System.in;
    PrintStream out = System.out;
    PrintStream err = System.err;
    Console console = System.console();

    @Override
    public Integer call() throws IOException {
        if (!UsersFile.NAME.matcher(name).matches()) {
            err.println("returnpath: \"" + name + "\" is not a user name (letters, digits, . _ @ + -, up to 64, no colon)");
            return Main.EXIT_USAGE;
        }
        char[] password;
        if (console != null && in == System.in) {
            password = console.readPassword("Password for %s: ", name);
            char[] again = console.readPassword("Again: ");
            if (password == null || again == null || !Arrays.equals(password, again)) {
                err.println("returnpath: the passwords differ (or input ended); nothing printed");
                return Main.EXIT_USAGE;
            }
            Arrays.fill(again, '\0');
        } else {
            String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
            if (line == null) {
                err.println("returnpath: no password on stdin");
                return Main.EXIT_USAGE;
            }
            password = line.toCharArray();
        }
        try {
            if (password.length < 12) {
                err.println("returnpath: the password must have 12 characters at least");
                return Main.EXIT_USAGE;
            }
            out.println(name + ":" + PasswordHash.create(password).text());
            return 0;
        } finally {
            Arrays.fill(password, '\0');
        }
    }
}
