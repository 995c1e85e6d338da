/**
 * The listener's TLS: the server certificate and key read from PEM files
 * ({@link dev.returnpath.tls.ServerCredentials}), and the one policy every listener socket gets
 * ({@link dev.returnpath.tls.TlsPolicy}): TLS 1.2 and 1.3 only, AEAD cipher suites with forward
 * secrecy only, the server's order. Used by {@code config} (a file that cannot be used is a
 * configuration error at load) and by {@code inbound} (STARTTLS and the implicit-TLS port).
 * On the client side, {@link dev.returnpath.tls.TrustedCas}: a {@code ca-file}'s certificates as
 * the only trust, for the smarthost ({@code delivery}) and the bounce mailbox ({@code bounce}).
 */
package dev.returnpath.tls;
