package dev.returnpath.dns;

/**
 * One DNS question, one typed answer.
 *
 * <p>{@code name} is a domain name as text, absolute whether or not it ends with a dot. Every
 * character other than the label separator {@code .} is taken literally: there are no master-file
 * escapes, so an SPF target such as {@code foo:bar/baz.example.com} or a name with a space reaches
 * the wire byte for byte. {@code type} is a {@link org.xbill.DNS.Type} value such as
 * {@code Type.TXT}.
 *
 * <p>Implementations never throw for anything the DNS says or fails to say: NXDOMAIN, NODATA,
 * SERVFAIL and timeouts are all answers. They may block the calling thread up to their timeout,
 * and must be safe to call from many threads at once.
 */
public interface Dns {
    DnsAnswer lookup(String name, int type);
}
