package dev.returnpath.dkim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * One signing key: the domain ({@code d=}) and selector ({@code s=}) it signs as, and the
 * private key read from a PKCS#8 PEM file, with its public half (what the selector's TXT
 * record must publish). The key type gives the algorithm. {@link #toString} never shows key
 * material, so a key can go into a log line or an exception without leaking.
 */
public record DkimKey(String domain, String selector, Path file, Algorithm algorithm, int bits,
                      PrivateKey privateKey, PublicKey publicKey) {

    /** RSA keys shorter than this are refused (RFC 8301 §3.2). */
    public static final int MIN_RSA_BITS = 1024;
    /** RSA keys shorter than this are accepted with a warning (Gmail's recommendation). */
    public static final int RECOMMENDED_RSA_BITS = 2048;

    /** The signing algorithms, by the {@code a=} tag and the record's {@code k=} tag. */
    public enum Algorithm {
        RSA_SHA256("rsa-sha256", "rsa"),
        ED25519_SHA256("ed25519-sha256", "ed25519"); // RFC 8463

        private final String tag;
        private final String keyType;

        Algorithm(String tag, String keyType) {
            this.tag = tag;
            this.keyType = keyType;
        }

        /** The {@code a=} value. */
        public String tag() {
            return tag;
        }

        /** The {@code k=} value of the DNS record. */
        public String keyType() {
            return keyType;
        }
    }

    /** A key file that cannot be used; the message names the file and says why, never the key. */
    public static final class KeyException extends Exception {
        public KeyException(String message) {
            super(message);
        }
    }

    /** An RSA key shorter than {@link #RECOMMENDED_RSA_BITS}: accepted, with a warning. */
    public boolean belowRecommendedSize() {
        return algorithm == Algorithm.RSA_SHA256 && bits < RECOMMENDED_RSA_BITS;
    }

    /** {@code s._domainkey.d}: where the public key is published. */
    public String recordName() {
        return selector + "._domainkey." + domain;
    }

    /** {@code s.d}, as the arrival line names a signature. */
    public String label() {
        return selector + "." + domain;
    }

    /** The record to publish, one string: {@code v=DKIM1; k=rsa; p=...}. */
    public String record() {
        return "v=DKIM1; k=" + algorithm.keyType() + "; p=" + publicKeyBase64();
    }

    /**
     * The {@code p=} value: for RSA the DER SubjectPublicKeyInfo (what opendkim-genkey and
     * every verifier take), for Ed25519 the raw 32-byte key (RFC 8463 §4.2).
     */
    public String publicKeyBase64() {
        return Base64.getEncoder().encodeToString(publicKeyBytes(publicKey, algorithm));
    }

    static byte[] publicKeyBytes(PublicKey k, Algorithm a) {
        byte[] spki = k.getEncoded();
        // An Ed25519 SubjectPublicKeyInfo is a 12-byte prefix and the 32 bytes of the key (RFC 8410).
        return a == Algorithm.ED25519_SHA256 ? Arrays.copyOfRange(spki, spki.length - 32, spki.length) : spki;
    }

    @Override
    public String toString() {
        return "DkimKey[" + label() + ", " + algorithm.tag() + (algorithm == Algorithm.RSA_SHA256 ? " " + bits + " bits" : "")
                + ", file=" + file + "]";
    }

    /** Reads {@code file} (a PKCS#8 PEM private key, RSA or Ed25519) as the key of {@code selector} at {@code domain}. */
    public static DkimKey load(String domain, String selector, Path file) throws KeyException {
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new KeyException("cannot read the key file " + file + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()));
        }
        return fromPem(domain, selector, file, pem);
    }

    static DkimKey fromPem(String domain, String selector, Path file, String pem) throws KeyException {
        if (pem.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            throw new KeyException(file + " is a PKCS#1 RSA key: convert it to PKCS#8 with "
                    + "`openssl pkcs8 -topk8 -nocrypt -in " + file + " -out NEW.pem`");
        }
        if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
            throw new KeyException(file + " is encrypted: returnpath reads unencrypted PKCS#8 keys (keep the file mode 0600)");
        }
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new KeyException(file + " holds no PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        } catch (IllegalArgumentException e) {
            throw new KeyException(file + ": the PEM body is not base64");
        }
        try {
            PrivateKey k = parse(der);
            return switch (k) {
                case RSAPrivateCrtKey rsa -> {
                    int bits = rsa.getModulus().bitLength();
                    if (bits < MIN_RSA_BITS) {
                        throw new KeyException(file + " is a " + bits + "-bit RSA key: DKIM needs at least "
                                + MIN_RSA_BITS + " bits (" + RECOMMENDED_RSA_BITS + " recommended)");
                    }
                    PublicKey pub = KeyFactory.getInstance("RSA")
                            .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
                    yield new DkimKey(domain, selector, file, Algorithm.RSA_SHA256, bits, rsa, pub);
                }
                case EdECPrivateKey ed when ed.getParams().getName().equalsIgnoreCase("Ed25519") ->
                        new DkimKey(domain, selector, file, Algorithm.ED25519_SHA256, 256, ed, ed25519Public(ed));
                default -> throw new KeyException(file + " holds a " + k.getAlgorithm()
                        + " key: DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)");
            };
        } catch (GeneralSecurityException e) {
            throw new KeyException(file + " is not a usable RSA or Ed25519 private key ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    private static PrivateKey parse(byte[] der) throws GeneralSecurityException {
        GeneralSecurityException first = null;
        for (String alg : new String[] {"RSA", "Ed25519", "EC", "Ed448"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException | ClassCastException e) {
                if (first == null && e instanceof GeneralSecurityException g) {
                    first = g;
                }
            }
        }
        throw first == null ? new GeneralSecurityException("unknown key type") : first;
    }

    /**
     * The public half of an Ed25519 key. The JDK has no API for it; its generator derives the
     * pair from 32 random bytes, so it is handed the private key's bytes as its randomness
     * (RFC 8032 §5.1.5: the public key is a function of those 32 bytes alone).
     */
    static PublicKey ed25519Public(EdECPrivateKey k) throws GeneralSecurityException {
        byte[] seed = k.getBytes().orElseThrow(() -> new GeneralSecurityException("the Ed25519 key hides its bytes"));
        KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
        g.initialize(NamedParameterSpec.ED25519, new FixedBytes(seed));
        KeyPair pair = g.generateKeyPair();
        Arrays.fill(seed, (byte) 0);
        return pair.getPublic();
    }

    /** A "random" source that gives the same bytes again (only for {@link #ed25519Public}). */
    private static final class FixedBytes extends SecureRandom {
        private final byte[] bytes;

        FixedBytes(byte[] bytes) {
            this.bytes = bytes.clone();
        }

        @Override
        public void nextBytes(byte[] out) {
            if (out.length != bytes.length) {
                throw new IllegalStateException("the Ed25519 generator asked for " + out.length + " bytes");
            }
            System.arraycopy(bytes, 0, out, 0, out.length);
        }
    }

    /** A new key pair: RSA of {@code bits}, or Ed25519. */
    public static KeyPair generate(Algorithm a, int bits) throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance(a == Algorithm.RSA_SHA256 ? "RSA" : "Ed25519");
        if (a == Algorithm.RSA_SHA256) {
            g.initialize(bits);
        }
        return g.generateKeyPair();
    }

    /** {@code key} as a PKCS#8 PEM file's text. */
    public static String pem(PrivateKey key) {
        return "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }
}
