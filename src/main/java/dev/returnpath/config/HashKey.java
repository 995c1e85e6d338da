package dev.returnpath.config;

import java.util.Arrays;

/**
 * The secret behind {@code {hash}} in return-path templates ({@code rewrite.hash-key}, usually
 * from {@code RETURNPATH_HASH_KEY}). It never appears in a log line, an error message or a
 * {@code toString()}.
 */
public record HashKey(byte[] bytes) {

    /** Shorter keys are refused: the hash is only as unguessable as its key. */
    public static final int MIN_BYTES = 16;

    public HashKey {
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HashKey k && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "HashKey[***]";
    }
}
