/**
 * SPF: RFC 7208 {@code check_host()} and the relay's guard built on it.
 *
 * <p>Entry points: {@link dev.returnpath.spf.SpfEvaluator#checkHost} (the RFC's function) and
 * {@link dev.returnpath.spf.SpfEvaluator#checkIdentity} (MAIL FROM, or HELO for the null sender),
 * returning an {@link dev.returnpath.spf.SpfOutcome}; {@link dev.returnpath.spf.SpfGuard#check},
 * which checks every outbound IP before a message is relayed, caches by TTL, and returns a sealed
 * {@link dev.returnpath.spf.GuardVerdict} with the advice to publish.
 *
 * <p>Inside: {@code SpfRecord} parses a record whole before it is evaluated (§4.6),
 * {@code MacroString} parses and expands macros (§7), {@code IpLiterals} reads and writes address
 * text without DNS.
 *
 * <p>What it never does: it talks to DNS only through {@link dev.returnpath.dns.Dns}; it never
 * reads the obsolete type-99 SPF record; it never throws for what DNS or a record says (every
 * problem is one of the seven results); it never decides what a result means for a message: the
 * relay's {@code spf.on-fail} does.
 */
package dev.returnpath.spf;
