package dev.returnpath.spf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 7208 §4.5, §4.6.1, §5, §6 and Appendix A: which records parse, and what they parse to. */
class SpfRecordSyntaxTest {

    @ParameterizedTest(name = "\"{0}\" is selected: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            v=spf1          | true
            v=spf1 -all     | true
            V=SPF1 -all     | true
            v=spf10         | false
            v=spf1-all      | false
            v=spf2.0/pra    | false
            ' v=spf1 -all'  | false
            spf1            | false
            """)
    void onlyVersionOneFollowedBySpaceOrEndIsSelected(String text, boolean selected) {
        assertThat(SpfRecord.isSpf1(text)).isEqualTo(selected);
    }

    @ParameterizedTest(name = "\"{0}\" parses to {1} directives")
    @CsvSource(delimiter = '|', textBlock = """
            v=spf1                                                    | 0
            v=spf1 -all                                               | 1
            v=spf1    ip4:192.0.2.0/24   -all                         | 2
            v=spf1 -all                                               | 1
            v=spf1 a mx ptr exists:%{i}.x.example include:_spf.example.com ~all | 6
            v=spf1 a:example.com/24//64 mx:example.com//48 -all       | 3
            v=spf1 A:EXAMPLE.COM Mx IP4:192.0.2.1 ?ALL                | 4
            v=spf1 ip6:2001:db8::/32 ip6:::ffff:1.2.3.4 ip6:::        | 3
            v=spf1 redirect=_spf.example.com                          | 0
            v=spf1 -all exp=explain._spf.%{d}                         | 1
            v=spf1 foo=bar moo.cow-far_out=man:dog/cat -all           | 1
            v=spf1 unknown= -all                                      | 1
            'v=spf1 -all '                                            | 1
            """)
    void wellFormedRecordsParse(String text, int directives) throws Exception {
        assertThat(SpfRecord.parse(text).directives()).hasSize(directives);
    }

    @ParameterizedTest(name = "\"{0}\" is a permerror: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            v=spf1 -all moo                              | an unknown mechanism anywhere
            v=spf1 all.                                  | all with a suffix
            v=spf1 all:example.com                       | all with an argument
            v=spf1 +-all                                 | two qualifiers
            v=spf1 include                               | include without a domain
            v=spf1 include:                              | include with an empty domain
            v=spf1 exists                                | exists without a domain
            v=spf1 a:                                    | a with an empty domain
            v=spf1 a/33                                  | an IPv4 prefix over 32
            v=spf1 a//129                                | an IPv6 prefix over 128
            v=spf1 a/024                                 | a prefix with a leading zero
            v=spf1 a/24/64                               | a dual CIDR without the double slash
            v=spf1 mx:example.com:25                     | a port in the domain
            v=spf1 ptr/24                                | ptr with a prefix
            v=spf1 ip4                                   | ip4 without a network
            v=spf1 ip4:192.0.2                           | a short IPv4 network
            v=spf1 ip4:192.0.2.256                       | an octet over 255
            v=spf1 ip4:192.0.02.1                        | an octet with a leading zero
            v=spf1 ip4:192.0.2.0/33                      | an ip4 prefix over 32
            v=spf1 ip4:192.0.2.0//32                     | a dual CIDR on ip4
            v=spf1 ip6:2001:db8::/129                    | an ip6 prefix over 128
            v=spf1 ip6:2001:db8::1::2                    | two double colons
            v=spf1 ip6:2001:db8:::1                      | a triple colon
            v=spf1 ip6:12345::                           | a five-digit group
            v=spf1 ip6:1:2:3:4:5:6:7:8:9                 | nine groups
            v=spf1 ip6:192.0.2.1                         | an IPv4 address as ip6
            v=spf1 redirect=a.example redirect=b.example | redirect twice
            v=spf1 exp=a.example exp=b.example           | exp twice
            v=spf1 exp=                                  | exp with an empty domain
            v=spf1 redirect=                             | redirect with an empty domain
            v=spf1 1up=foo                               | a modifier name starting with a digit
            v=spf1 =foo                                  | an empty modifier name
            v=spf1 foo=%x                                | a bad macro in an unknown modifier
            v=spf1 a:%{c}.example.com                    | c outside explanation text
            v=spf1 redirect:example.com                  | redirect written as a mechanism
            """)
    void malformedRecordsArePermerrors(String text, String why) {
        assertThatThrownBy(() -> SpfRecord.parse(text))
                .as(why)
                .isInstanceOfSatisfying(CheckHostError.class, e -> assertThat(e.result()).isEqualTo(SpfResult.PERMERROR));
    }

    @ParameterizedTest(name = "control character {0} is a permerror")
    @CsvSource({"9", "13", "10", "0", "127", "128", "233"})
    void nonPrintableOrNonAsciiCharactersArePermerrors(int code) {
        String text = "v=spf1 a:example.com" + (char) code + "ptr -all";

        assertThatThrownBy(() -> SpfRecord.parse(text)).isInstanceOf(CheckHostError.class);
    }

    @ParameterizedTest(name = "{0} gives {1}/{2}")
    @CsvSource(delimiter = '|', textBlock = """
            a                      | 32 | 128
            a/24                   | 24 | 128
            a//64                  | 32 | 64
            a/0//0                 | 0  | 0
            a:example.com/16//48   | 16 | 48
            mx:example.com/32//128 | 32 | 128
            """)
    void dualCidrLengthsApplyPerAddressFamily(String term, int cidr4, int cidr6) throws Exception {
        SpfRecord.Mechanism mechanism = SpfRecord.parse("v=spf1 " + term).directives().get(0).mechanism();

        switch (mechanism) {
            case SpfRecord.Mechanism.A a -> assertThat(new int[] {a.cidr4(), a.cidr6()}).containsExactly(cidr4, cidr6);
            case SpfRecord.Mechanism.Mx mx -> assertThat(new int[] {mx.cidr4(), mx.cidr6()}).containsExactly(cidr4, cidr6);
            default -> throw new AssertionError("not a or mx: " + mechanism);
        }
    }
}
