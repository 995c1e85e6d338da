package dev.returnpath.spf;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Address text as SPF reads and writes it (RFC 7208 §5.6, §7.3; RFC 4291 §2.2; RFC 5952). */
class IpLiteralsTest {

    @ParameterizedTest(name = "{0} reads as {1}")
    @CsvSource(delimiter = '|', textBlock = """
            ::                        | ::
            ::1                       | ::1
            1::                       | 1::
            2001:db8::1               | 2001:db8::1
            2001:DB8:0:0:0:0:0:1      | 2001:db8::1
            2001:db8:0:0:1:0:0:1      | 2001:db8::1:0:0:1
            1:2:3:4:5:6:7:8           | 1:2:3:4:5:6:7:8
            ::ffff:1.2.3.4            | ::ffff:102:304
            ::1.1.1.1                 | ::101:101
            cafe:babe:8000::          | cafe:babe:8000::
            1:0:0:2:0:0:0:3           | 1:0:0:2::3
            """)
    void ipv6TextIsReadAndWrittenAsRfc5952(String text, String readable) {
        assertThat(IpLiterals.parseIp6(text)).hasValueSatisfying(b -> assertThat(IpLiterals.readable(b)).isEqualTo(readable));
    }

    @ParameterizedTest(name = "{0} is not IPv6")
    @CsvSource(delimiter = '|', textBlock = """
            ''
            :
            :::
            1::2::3
            :1::
            1::2:
            1:2:3:4:5:6:7:8:9
            1:2:3:4:5:6:7
            12345::
            g::
            1.2.3.4
            ::1.2.3
            1::2:3:4:5:6:7:8
            """)
    void malformedIpv6IsRejected(String text) {
        assertThat(IpLiterals.parseIp6(text)).isEmpty();
    }

    @ParameterizedTest(name = "{0} is not IPv4")
    @CsvSource(delimiter = '|', textBlock = """
            1.2.3
            1.2.3.4.5
            1.2.3.256
            01.2.3.4
            1.2.3.
            a.b.c.d
            1.2.3.-4
            """)
    void malformedIpv4IsRejected(String text) {
        assertThat(IpLiterals.parseIp4(text)).isEmpty();
    }

    @ParameterizedTest(name = "{0} reverses to {1}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.3      | 3.2.0.192.in-addr.arpa
            ::ffff:1.2.3.4 | 4.3.2.1.in-addr.arpa
            2001:db8::cb01 | 1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa
            """)
    void reverseNamesFollowInAddrAndIp6Arpa(String ip, String name) throws Exception {
        assertThat(IpLiterals.reverseName(IpLiterals.canonical(InetAddress.getByName(ip)))).isEqualTo(name);
    }

    @ParameterizedTest(name = "{0} in {1}/{2}: {3}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.3    | 192.0.2.0     | 24  | true
            192.0.3.3    | 192.0.2.0     | 24  | false
            192.0.2.3    | 192.0.2.3     | 32  | true
            192.0.2.3    | 0.0.0.0       | 0   | true
            192.0.2.129  | 192.0.2.128   | 25  | true
            192.0.2.127  | 192.0.2.128   | 25  | false
            2001:db8::1  | 2001:db8::    | 32  | true
            2001:db9::1  | 2001:db8::    | 32  | false
            2001:db8::1  | 2001:db8::    | 127 | true
            2001:db8::2  | 2001:db8::    | 127 | false
            """)
    void prefixesCompareTheLeadingBits(String ip, String network, int prefix, boolean inside) throws Exception {
        byte[] a = IpLiterals.canonical(InetAddress.getByName(ip));
        byte[] n = IpLiterals.canonical(InetAddress.getByName(network));

        assertThat(IpLiterals.sameNetwork(a, n, prefix)).isEqualTo(inside);
    }

    @ParameterizedTest(name = "{0} is authorized by {1}")
    @CsvSource(delimiter = '|', textBlock = """
            203.0.113.5          | ip4:203.0.113.5
            ::ffff:203.0.113.5   | ip4:203.0.113.5
            2001:DB8:0::5        | ip6:2001:db8::5
            """)
    void theMechanismToPublishUsesTheAddressFamilySpfSees(String ip, String mechanism) throws Exception {
        assertThat(IpLiterals.mechanismFor(InetAddress.getByName(ip))).isEqualTo(mechanism);
    }
}
