package dev.returnpath.delivery;

import dev.returnpath.tls.TrustedCas;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;

/** The TLS socket factories the SMTP client uses. There is no trust-all option for a smarthost. */
final class Tls {
    private Tls() {}

    /** An SSL socket factory that trusts the certificates in {@code caFile} (PEM), and only them. */
    static SSLSocketFactory trusting(Path caFile) {
        try {
            return TrustedCas.socketFactory(caFile);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use CA file " + caFile + ": " + e.getMessage(), e);
        }
    }

    /** The JDK's trust store. */
    static SSLSocketFactory jdk() {
        return (SSLSocketFactory) SSLSocketFactory.getDefault();
    }

    /**
     * Opportunistic TLS, as MTAs do without DANE or MTA-STS (RFC 7435): encrypt, but accept any
     * certificate, since the alternative is plain text. Used for MX hosts only.
     */
    static final SSLSocketFactory TRUST_ANY;

    static {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            TRUST_ANY = ctx.getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
