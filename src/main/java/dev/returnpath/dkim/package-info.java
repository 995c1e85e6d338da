/**
 * DKIM signing (RFC 6376), on the JDK's own crypto: {@link dev.returnpath.dkim.DkimKey} (a
 * PKCS#8 PEM key, RSA for {@code rsa-sha256} or Ed25519 for {@code ed25519-sha256}, RFC 8463),
 * {@link dev.returnpath.dkim.Relaxed} (relaxed header and body canonicalization) and
 * {@link dev.returnpath.dkim.DkimSigner} (the body hash, streamed from a file channel, and the
 * {@code DKIM-Signature} field over a header block).
 *
 * <p>Entry point: cleanup calls {@code DkimSigner.bodyHash} once per message and
 * {@code DkimSigner.sign} once per key, as its last step. This package never reads the
 * configuration, never logs, and never prints a key.
 */
package dev.returnpath.dkim;
