package dev.returnpath.tls;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * What every listener socket is set to, whatever the JDK's defaults are: SubEtha's own socket
 * factory takes the context's defaults, and a JDK whose {@code jdk.tls.disabledAlgorithms} was
 * relaxed (or an older one) would then offer TLS 1.0/1.1 and CBC or static-RSA suites. Here the
 * protocols and suites are listed, in the server's order of preference (Mozilla's
 * "intermediate" profile: TLS 1.3 suites, then ECDHE with AES-GCM or ChaCha20-Poly1305).
 */
public final class TlsPolicy {
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    public static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private TlsPolicy() {}

    /** The listener's parameters for {@code ctx}: the listed protocols and suites the context supports, server order, no client certificates. */
    public static SSLParameters serverParameters(SSLContext ctx) {
        SSLParameters supported = ctx.getSupportedSSLParameters();
        Set<String> protocols = Set.of(supported.getProtocols());
        Set<String> suites = Set.of(supported.getCipherSuites());
        SSLParameters p = new SSLParameters();
        p.setProtocols(PROTOCOLS.stream().filter(protocols::contains).toArray(String[]::new));
        p.setCipherSuites(CIPHER_SUITES.stream().filter(suites::contains).toArray(String[]::new));
        p.setUseCipherSuitesOrder(true);
        p.setNeedClientAuth(false);
        p.setWantClientAuth(false);
        return p;
    }

    /** For tests and the docs: what {@link #serverParameters} gives on this JDK. */
    public static String describe(SSLContext ctx) {
        SSLParameters p = serverParameters(ctx);
        return Arrays.toString(p.getProtocols()) + " " + Arrays.toString(p.getCipherSuites());
    }
}
