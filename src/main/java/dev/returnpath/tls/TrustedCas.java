package dev.returnpath.tls;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

/**
 * A {@code ca-file}: the client side of a private CA. One implementation for every client that
 * verifies a server against such a file (the smarthost, the bounce mailbox), so that they trust
 * alike: the certificates in the PEM file, and only them. The OAuth token client takes the
 * same trust as a TLS context.
 */
public final class TrustedCas {
    private TrustedCas() {}

    /** A socket factory that trusts the certificates in {@code caFile} (PEM), and only them. */
    public static SSLSocketFactory socketFactory(Path caFile) throws GeneralSecurityException, IOException {
        return context(caFile).getSocketFactory();
    }

    /** A TLS context that trusts the certificates in {@code caFile} (PEM), and only them (for an HTTPS client). */
    public static SSLContext context(Path caFile) throws GeneralSecurityException, IOException {
        try (InputStream in = Files.newInputStream(caFile)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
            if (i == 0) {
                throw new GeneralSecurityException("no certificate in " + caFile);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        }
    }
}
