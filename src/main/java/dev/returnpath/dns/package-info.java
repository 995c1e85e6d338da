/**
 * DNS lookups with typed outcomes, for SPF, direct MX delivery and the doctor.
 *
 * <p>Entry points: {@link dev.returnpath.dns.Dns#lookup(String, int)} answers one question
 * (name, type) with a {@link dev.returnpath.dns.DnsAnswer}: the records, NXDOMAIN, NODATA, or a
 * failure (SERVFAIL, timeout, other RCODE). {@link dev.returnpath.dns.DnsjavaDns} implements it
 * on dnsjava's {@code LookupSession} with a TTL cache, talking to the configured servers
 * ({@code dns.servers}) or the system's resolvers.
 *
 * <p>What it never does: it never reads {@code /etc/hosts} (an MTA must see what the world sees),
 * never applies a search path (every name is absolute), never throws for a DNS outcome, and never
 * interprets what it fetched: record semantics belong to the callers ({@code spf}, {@code delivery}).
 */
package dev.returnpath.dns;
