package dev.returnpath.dns;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.xbill.DNS.Record;

/**
 * The outcome of one DNS question. A {@code switch} over it must handle all four cases:
 *
 * <ul>
 *   <li>{@link Records}: RCODE 0 with at least one record of the asked type (CNAMEs already
 *       followed);
 *   <li>{@link NxDomain}: RCODE 3, the name does not exist (RFC 2308 "Name Error");
 *   <li>{@link NoData}: RCODE 0 and no record of that type (RFC 2308 "NODATA");
 *   <li>{@link Failure}: anything else: SERVFAIL, REFUSED, a timeout, a network error, a CNAME loop,
 *       or a name that cannot be put on the wire.
 * </ul>
 *
 * <p>{@link NxDomain} and {@link NoData} together are what RFC 7208 §4.6.4 calls a "void lookup".
 */
public sealed interface DnsAnswer
        permits DnsAnswer.Records, DnsAnswer.NxDomain, DnsAnswer.NoData, DnsAnswer.Failure {

    /** True for NXDOMAIN and NODATA, the two answers RFC 7208 §4.6.4 counts as void lookups. */
    default boolean isVoid() {
        return this instanceof NxDomain || this instanceof NoData;
    }

    /**
     * Records of the asked type, never empty. {@code ttl} is the smallest TTL among them, as
     * published: on a cache hit it is not reduced by the time the records spent in the cache.
     */
    record Records(List<Record> records, Duration ttl) implements DnsAnswer {
        public Records {
            records = List.copyOf(records);
            if (records.isEmpty()) {
                throw new IllegalArgumentException("Records needs at least one record; use NoData");
            }
            Objects.requireNonNull(ttl, "ttl");
        }

        /** The records with their smallest TTL as {@code ttl}. */
        public static Records of(List<Record> records) {
            long min = records.stream().mapToLong(Record::getTTL).min().orElse(0);
            return new Records(records, Duration.ofSeconds(min));
        }
    }

    /** The name does not exist (RCODE 3). */
    record NxDomain() implements DnsAnswer {}

    /** The name exists but has no record of the asked type (RCODE 0, empty answer). */
    record NoData() implements DnsAnswer {}

    /** No usable answer: SERVFAIL or another RCODE, a timeout, a network or protocol error. */
    record Failure(String message) implements DnsAnswer {
        public Failure {
            Objects.requireNonNull(message, "message");
        }
    }
}
