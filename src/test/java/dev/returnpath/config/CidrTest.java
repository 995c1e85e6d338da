package dev.returnpath.config;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;

class CidrTest {
    @ParameterizedTest(name = "{1} in {0}: {2}")
    @CsvSource(textBlock = """
            127.0.0.0/8,      127.0.0.1,        true
            127.0.0.0/8,      128.0.0.1,        false
            10.1.2.0/23,      10.1.3.255,       true
            10.1.2.0/23,      10.1.4.0,         false
            0.0.0.0/0,        203.0.113.5,      true
            203.0.113.5,      203.0.113.5,      true
            203.0.113.5,      203.0.113.6,      false
            ::1/128,          ::1,              true
            ::1/128,          127.0.0.1,        false
            2001:db8::/32,    2001:db8:1::5,    true
            2001:db8::/32,    2001:db9::5,      false
            127.0.0.0/8,      ::ffff:127.0.0.9, true
            10.0.0.0/8,       ::1,              false
            """)
    void networkContainsAddress(String cidr, String ip, boolean expected) throws Exception {
        assertThat(Cidr.parse(cidr).contains(InetAddress.getByName(ip))).isEqualTo(expected);
    }
}
