package dev.returnpath.auth;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * {@code listen.auth.users-file}: one {@code NAME:HASH} line per user ({@code returnpath passwd
 * NAME} prints one), blank lines and {@code #} comments allowed. Read with the configuration,
 * so that it reloads with it; a bad line is an error naming the file and the line (never the
 * hash). {@link #check} spends the same time for an unknown name as for a wrong password.
 *
 * <p>A slow hash makes every AUTH cost what it costs an attacker: 600,000 PBKDF2 rounds are
 * about 0.1 s of CPU, and an app that opens a session per message (PHP's {@code mail()}) would
 * pay it each time. As Dovecot's auth cache does, a successful check is remembered as an
 * HMAC-SHA256 of the password under a key made for this instance at random (never written
 * anywhere, gone with a reload), so the next AUTH with the same password is one HMAC; a
 * password that does not match what is remembered still takes the slow path, so a wrong
 * guess costs what it did. One entry per listed user at most.
 */
public final class UsersFile {
    /** What a user name may be: no colon, no spaces, no control characters. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}");

    private final Path file;
    private final Map<String, PasswordHash> users;
    /** Verified against for an unknown name, so that it costs what a known one does. */
    private final PasswordHash decoy;
    /** Per user, the HMAC of the last password that passed the slow check. */
    private final Map<String, byte[]> verified = new ConcurrentHashMap<>();
    private final SecretKeySpec cacheKey;

    private UsersFile(Path file, Map<String, PasswordHash> users) {
        this.file = file;
        this.users = Map.copyOf(users);
        int n = users.values().stream().findFirst().map(PasswordHash::iterations).orElse(PasswordHash.ITERATIONS);
        this.decoy = PasswordHash.decoy(n);
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        this.cacheKey = new SecretKeySpec(key, "HmacSHA256");
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
        byte[] remembered = h == null ? null : verified.get(name);
        byte[] mac = h == null ? null : mac(password);
        if (remembered != null && MessageDigest.isEqual(remembered, mac)) {
            return Optional.of(name);
        }
        boolean ok = (h == null ? decoy : h).matches(password);
        if (ok && h != null) {
            verified.put(name, mac);
            return Optional.of(name);
        }
        return Optional.empty();
    }

    /** Whether a password of {@code name} is remembered (for tests). */
    boolean remembers(String name) {
        return verified.containsKey(name);
    }

    private byte[] mac(char[] password) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(cacheKey);
            ByteBuffer utf8 = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
            m.update(utf8);
            if (utf8.hasArray()) {
                Arrays.fill(utf8.array(), (byte) 0);
            }
            return m.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
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
