package dev.returnpath.tls;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.List;

/**
 * The listener's certificate chain and private key, read from two PEM files: the certificate
 * file holds the server certificate first, then any intermediates; the key file an
 * unencrypted PKCS#8 key ({@code -----BEGIN PRIVATE KEY-----}), RSA, EC or Ed25519. The key
 * must be the certificate's: a pair that does not match is refused here, at load, rather
 * than at every client's handshake. Messages name the files, never key material.
 */
public final class ServerCredentials {
    private static final char[] NO_PASSWORD = new char[0];

    private final Path certFile;
    private final Path keyFile;
    private final List<X509Certificate> chain;
    private final PrivateKey key;

    private ServerCredentials(Path certFile, Path keyFile, List<X509Certificate> chain, PrivateKey key) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.chain = chain;
        this.key = key;
    }

    /** A file that cannot be used: the message names the file and says why. */
    public static final class CredentialsException extends Exception {
        private final boolean aboutKey;

        CredentialsException(boolean aboutKey, String message) {
            super(message);
            this.aboutKey = aboutKey;
        }

        /** True when the key file is at fault (else the certificate file, or the pair). */
        public boolean aboutKey() {
            return aboutKey;
        }
    }

    public Path certFile() {
        return certFile;
    }

    public Path keyFile() {
        return keyFile;
    }

    public List<X509Certificate> chain() {
        return chain;
    }

    /** Reads both files and checks that the key is the certificate's. */
    public static ServerCredentials load(Path certFile, Path keyFile) throws CredentialsException {
        List<X509Certificate> chain = readChain(certFile);
        PrivateKey key = readKey(keyFile);
        checkPair(chain.getFirst(), key, certFile, keyFile);
        return new ServerCredentials(certFile, keyFile, chain, key);
    }

    /** A server context over this pair (the policy is applied per socket: {@link TlsPolicy}). */
    public SSLContext sslContext() {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("server", key, NO_PASSWORD, chain.toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, NO_PASSWORD);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a TLS context over " + certFile + " and " + keyFile + ": " + e, e);
        }
    }

    private static String read(Path file, boolean aboutKey, String what) throws CredentialsException {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new CredentialsException(aboutKey, "cannot read the " + what + " file " + file + ": "
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage()));
        }
    }

    static List<X509Certificate> readChain(Path file) throws CredentialsException {
        String pem = read(file, false, "certificate");
        if (!pem.contains("-----BEGIN CERTIFICATE-----")) {
            throw new CredentialsException(false, file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                    + (pem.contains("PRIVATE KEY-----") ? "; it holds a private key: is it the key-file?" : ""));
        }
        try {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
            List<X509Certificate> chain = certs.stream().map(c -> (X509Certificate) c).toList();
            if (chain.isEmpty()) {
                throw new CredentialsException(false, file + " holds no certificate");
            }
            return chain;
        } catch (CertificateException e) {
            throw new CredentialsException(false, file + " is not a readable PEM certificate chain: " + e.getMessage());
        }
    }

    static PrivateKey readKey(Path file) throws CredentialsException {
        String pem = read(file, true, "key");
        if (pem.contains("-----BEGIN RSA PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----")) {
            throw new CredentialsException(true, file + " is not PKCS#8: convert it with "
                    + "`openssl pkcs8 -topk8 -nocrypt -in " + file + " -out NEW.pem`");
        }
        if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
            throw new CredentialsException(true, file + " is encrypted: returnpath reads unencrypted PKCS#8 keys (keep the file mode 0600)");
        }
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new CredentialsException(true, file + " holds no PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)"
                    + (pem.contains("-----BEGIN CERTIFICATE-----") ? "; it holds a certificate: is it the cert-file?" : ""));
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
        } catch (IllegalArgumentException e) {
            throw new CredentialsException(true, file + ": the PEM body is not base64");
        }
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException | RuntimeException e) {
                // not this type; try the next
            }
        }
        throw new CredentialsException(true, file + " holds a private key of no type TLS can use here (RSA, EC, Ed25519)");
    }

    private static void checkPair(X509Certificate cert, PrivateKey key, Path certFile, Path keyFile)
            throws CredentialsException {
        PublicKey pub = cert.getPublicKey();
        String mismatch = keyFile + " is not the private key of the certificate in " + certFile
                + " (" + cert.getSubjectX500Principal().getName() + ")";
        String alg = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "RSASSA-PSS" -> "RSASSA-PSS";
            default -> null;
        };
        if (alg == null || !sameFamily(pub.getAlgorithm(), key.getAlgorithm())) {
            throw new CredentialsException(true, mismatch);
        }
        try {
            byte[] probe = new byte[32];
            new SecureRandom().nextBytes(probe);
            Signature s = Signature.getInstance(alg);
            if (alg.equals("RSASSA-PSS")) {
                s.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
                        java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
            }
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(pub);
            s.update(probe);
            if (!s.verify(sig)) {
                throw new CredentialsException(true, mismatch);
            }
        } catch (GeneralSecurityException e) {
            throw new CredentialsException(true, mismatch + ": " + e.getMessage());
        }
    }

    private static boolean sameFamily(String a, String b) {
        return a.equals(b) || (a.startsWith("Ed") && b.startsWith("Ed"));
    }

    /** The same files with the same content (so that a reload without a rotation is no change). */
    @Override
    public boolean equals(Object o) {
        return o instanceof ServerCredentials c && c.certFile.equals(certFile) && c.keyFile.equals(keyFile)
                && c.chain.equals(chain) && java.security.MessageDigest.isEqual(c.key.getEncoded(), key.getEncoded());
    }

    @Override
    public int hashCode() {
        return certFile.hashCode() * 31 + chain.getFirst().hashCode();
    }

    @Override
    public String toString() {
        return "ServerCredentials[cert=" + certFile + ", key=" + keyFile + ", subject="
                + chain.getFirst().getSubjectX500Principal().getName() + "]";
    }
}
