package dev.returnpath.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EndpointTest {

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            # written                  | host              | port  | toString
            127.0.0.1                  | 127.0.0.1         | 53    | 127.0.0.1:53
            127.0.0.1:5353             | 127.0.0.1         | 5353  | 127.0.0.1:5353
            `  127.0.0.1:5353  `       | 127.0.0.1         | 5353  | 127.0.0.1:5353
            dns.example.net            | dns.example.net   | 53    | dns.example.net:53
            dns.example.net:5300       | dns.example.net   | 5300  | dns.example.net:5300
            [::1]:5353                 | ::1               | 5353  | [::1]:5353
            [::1]                      | ::1               | 53    | [::1]:53
            ::1                        | ::1               | 53    | [::1]:53
            2001:db8::53               | 2001:db8::53      | 53    | [2001:db8::53]:53
            [2001:db8::53]:65535       | 2001:db8::53      | 65535 | [2001:db8::53]:65535
            [192.0.2.1]:25             | 192.0.2.1         | 25    | 192.0.2.1:25
            [smtp.example.net]         | smtp.example.net  | 53    | smtp.example.net:53
            """)
    void hostAndPortAreParsedOnceAndTheHostIsNeverBracketed(String text, String host, int port, String shown) {
        Endpoint e = Endpoint.parse(text, 53);
        assertThat(e.host()).isEqualTo(host).doesNotStartWith("[");
        assertThat(e.port()).isEqualTo(port);
        assertThat(e).hasToString(shown);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            # written            | message
            ``                   | "": empty host
            :53                  | ":53": empty host
            []:53                | "[]:53": empty host
            [::1                 | "[::1": unclosed [
            [::1]53              | "[::1]53" is not host or host:port
            [::1]:               | "[::1]:": port must be 1-65535
            127.0.0.1:           | "127.0.0.1:": port must be 1-65535
            127.0.0.1:0          | "127.0.0.1:0": port must be 1-65535
            127.0.0.1:99999      | "127.0.0.1:99999": port must be 1-65535
            127.0.0.1:dns        | "127.0.0.1:dns": port must be 1-65535
            not a host!          | "not a host!" is neither a host name nor an IP address
            bad_name.example:53  | "bad_name.example:53" is neither a host name nor an IP address
            1.2.3.4:53:53        | "1.2.3.4:53:53" is neither a host name nor an IP address
            """)
    void badInputIsRefusedWithWhatIsWrongWithIt(String text, String message) {
        assertThatThrownBy(() -> Endpoint.parse(text, 53))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            # written               | host or message
            127.0.0.1               | 127.0.0.1
            [::1]                   | ::1
            ::                      | ::
            0.0.0.0                 | 0.0.0.0
            smtp.example.net        | smtp.example.net
            [smtp.example.net]      | smtp.example.net
            smtp.example.net:2525   | "smtp.example.net:2525" has a port: write host = "smtp.example.net" and the.port = 2525
            [::1]:2525              | "[::1]:2525" has a port: write host = "::1" and the.port = 2525
            [::1                    | "[::1" is neither a host name nor an IP address
            not a host!             | "not a host!" is neither a host name nor an IP address
            """)
    void aHostKeyTakesAHostAloneAndPointsAPortToItsOwnKey(String text, String expected) {
        if (expected.startsWith("\"")) {
            assertThatThrownBy(() -> Endpoint.parseHost(text, "the.port")).hasMessage(expected);
        } else {
            assertThat(Endpoint.parseHost(text, "the.port")).isEqualTo(expected);
        }
    }

    @Test
    void theHostGoesToTheResolverAsIsAndNamesTheSameAddress() throws Exception {
        Endpoint e = Endpoint.parse("[::1]:25", 25);
        assertThat(InetAddress.getByName(e.host()).isLoopbackAddress()).isTrue();
    }

    @Test
    void aBracketedHostOrAnOutOfRangePortCannotBeBuiltDirectly() {
        assertThatThrownBy(() -> new Endpoint("[::1]", 25)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Endpoint("", 25)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Endpoint("::1", 65536)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new Endpoint("::1", 0)).hasToString("[::1]:0");
    }
}
