package dev.returnpath.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code listen.auth.users-file}: one {@code NAME:HASH} line per user ({@code returnpath passwd
 * NAME} prints one), blank lines and {@code #} comments allowed. Read with the configuration,
 * so that it reloads with it; a bad line is an error naming the file and the line (never the
 * hash). {@link #check} spends the same time for an unknown name as for a wrong password.
 */
public final class UsersFile {
    /** What a user name may be: no colon, no spaces, no control characters. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}");

    private final Path file;
    private final Map<String, PasswordHash> users;
    /** Verified against for an unknown name, so that it costs what a known one does. */
    private final PasswordHash decoy;

    private UsersFile(Path file, Map<String, PasswordHash> users) {
        this.file = file;
        this.users = Map.copyOf(users);
        int n = users.values().stream().findFirst().map(PasswordHash::iterations).orElse(PasswordHash.ITERATIONS);
        this.decoy = PasswordHash.decoy(n);
    }

    /** A line that cannot be used: its line number, and why. */
    public static final class UsersFileException extends Exception {
        private final int line;

        UsersFileException(int line, String message) {
            super(message);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    public static UsersFile read(Path file) throws UsersFileException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new UsersFileException(-1, "cannot read the users file " + file + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()));
        }
        Map<String, PasswordHash> users = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                throw new UsersFileException(i + 1, "not a NAME:HASH line");
            }
            String name = line.substring(0, colon);
            if (!NAME.matcher(name).matches()) {
                throw new UsersFileException(i + 1, "\"" + name + "\" is not a user name "
                        + "(letters, digits, . _ @ + -, up to 64)");
            }
            try {
                if (users.put(name, PasswordHash.parse(line.substring(colon + 1))) != null) {
                    throw new UsersFileException(i + 1, "user " + name + " is listed twice");
                }
            } catch (IllegalArgumentException e) {
                throw new UsersFileException(i + 1, "user " + name + ": " + e.getMessage());
            }
        }
        return new UsersFile(file, users);
    }

    public Path file() {
        return file;
    }

    public int size() {
        return users.size();
    }

    /** The user, when {@code name} is listed and {@code password} is theirs. */
    public Optional<String> check(String name, char[] password) {
        PasswordHash h = users.get(name);
        boolean ok = (h == null ? decoy : h).matches(password);
        return ok && h != null ? Optional.of(name) : Optional.empty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UsersFile u && u.file.equals(file) && u.users.equals(users);
    }

    @Override
    public int hashCode() {
        return file.hashCode();
    }

    @Override
    public String toString() {
        return "UsersFile[" + file + ", " + users.size() + " users]";
    }
}
