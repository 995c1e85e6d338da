package dev.returnpath.auth;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

/**
 * A salted, slow password hash: PBKDF2-HMAC-SHA256 from the JDK, written
 * {@code $pbkdf2-sha256$ITERATIONS$SALT$HASH} (salt 16 bytes and hash 32 bytes, base64 without
 * padding). PBKDF2 because it is in every JDK (no new dependency, FIPS-approved) and 600,000
 * iterations because that is OWASP's current figure for PBKDF2-HMAC-SHA256; bcrypt or Argon2
 * would need Bouncy Castle, which returnpath does not otherwise use. The iteration count is in
 * the hash, so that a stronger count later verifies old lines too.
 */
public final class PasswordHash {
    public static final String PREFIX = "$pbkdf2-sha256$";
    public static final int ITERATIONS = 600_000;
    /** Lines with fewer iterations are refused when the users file is read. */
    public static final int MIN_ITERATIONS = 10_000;
    private static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final int iterations;
    private final byte[] salt;
    private final byte[] hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash) {
        this.iterations = iterations;
        this.salt = salt;
        this.hash = hash;
    }

    /** A new hash of {@code password}, with a fresh random salt. */
    public static PasswordHash create(char[] password) {
        return create(password, ITERATIONS);
    }

    /** With another iteration count (tests keep theirs low, at {@link #MIN_ITERATIONS}). */
    public static PasswordHash create(char[] password, int iterations) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        return new PasswordHash(iterations, salt, derive(password, salt, iterations));
    }

    /** A hash of no password (random bytes): verifying against it costs what a real one does, and fails. */
    static PasswordHash decoy(int iterations) {
        byte[] salt = new byte[SALT_BYTES];
        byte[] hash = new byte[HASH_BYTES];
        RANDOM.nextBytes(salt);
        RANDOM.nextBytes(hash);
        return new PasswordHash(iterations, salt, hash);
    }

    /** Parses {@code $pbkdf2-sha256$N$SALT$HASH}; the message says what is wrong, never echoing the value. */
    public static PasswordHash parse(String text) throws IllegalArgumentException {
        if (!text.startsWith(PREFIX)) {
            throw new IllegalArgumentException("the hash must start with " + PREFIX + " (written by `returnpath passwd NAME`)");
        }
        String[] parts = text.substring(PREFIX.length()).split("\\$", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("the hash must be " + PREFIX + "ITERATIONS$SALT$HASH");
        }
        int n;
        try {
            n = Integer.parseInt(parts[0]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the iteration count is not a number");
        }
        if (n < MIN_ITERATIONS) {
            throw new IllegalArgumentException("the hash has " + n + " iterations, fewer than " + MIN_ITERATIONS);
        }
        try {
            byte[] salt = Base64.getDecoder().decode(parts[1]);
            byte[] hash = Base64.getDecoder().decode(parts[2]);
            if (salt.length < 8 || hash.length != HASH_BYTES) {
                throw new IllegalArgumentException("the salt or the hash has the wrong length");
            }
            return new PasswordHash(n, salt, hash);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() != null && e.getMessage().startsWith("the ")
                    ? e.getMessage() : "the salt or the hash is not base64");
        }
    }

    /** Whether {@code password} is the one hashed; the comparison takes the same time wherever it differs. */
    public boolean matches(char[] password) {
        return MessageDigest.isEqual(derive(password, salt, iterations), hash);
    }

    private static byte[] derive(char[] password, byte[] salt, int iterations) {
        PBEKeySpec spec = new PBEKeySpec(password, salt, iterations, HASH_BYTES * 8);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 is not available", e);
        } finally {
            spec.clearPassword();
        }
    }

    public int iterations() {
        return iterations;
    }

    /** The text form, for the users file. */
    public String text() {
        Base64.Encoder b = Base64.getEncoder().withoutPadding();
        return PREFIX + iterations + "$" + b.encodeToString(salt) + "$" + b.encodeToString(hash);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PasswordHash p && p.iterations == iterations && Arrays.equals(p.salt, salt)
                && Arrays.equals(p.hash, hash);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(salt);
    }

    /** Never the hash itself. */
    @Override
    public String toString() {
        return "PasswordHash[pbkdf2-sha256, " + iterations + " iterations]";
    }
}
