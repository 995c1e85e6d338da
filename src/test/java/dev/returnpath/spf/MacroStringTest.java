package dev.returnpath.spf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 7208 §7: macro syntax and expansion, starting with the examples of §7.4. */
class MacroStringTest {

    private static MacroString.Values values(String ip) throws Exception {
        byte[] address = IpLiterals.canonical(InetAddress.getByName(ip));
        return letter -> switch (letter) {
            case 's' -> "strong-bad@email.example.com";
            case 'l' -> "strong-bad";
            case 'o', 'd' -> "email.example.com";
            case 'i' -> IpLiterals.dotted(address);
            case 'p' -> "mx.example.org";
            case 'v' -> address.length == 4 ? "in-addr" : "ip6";
            case 'h' -> "mx.example.org";
            case 'c' -> IpLiterals.readable(address);
            case 'r' -> "relay.example.net";
            case 't' -> "1700000000";
            default -> throw new IllegalStateException();
        };
    }

    @ParameterizedTest(name = "{0} expands to {1}")
    @CsvSource(delimiter = '|', textBlock = """
            %{s}                              | strong-bad@email.example.com
            %{o}                              | email.example.com
            %{d}                              | email.example.com
            %{d4}                             | email.example.com
            %{d3}                             | email.example.com
            %{d2}                             | example.com
            %{d1}                             | com
            %{dr}                             | com.example.email
            %{d2r}                            | example.email
            %{l}                              | strong-bad
            %{l-}                             | strong.bad
            %{lr}                             | strong-bad
            %{lr-}                            | bad.strong
            %{l1r-}                           | strong
            %{ir}.%{v}._spf.%{d2}             | 3.2.0.192.in-addr._spf.example.com
            %{lr-}.lp._spf.%{d2}              | bad.strong.lp._spf.example.com
            %{lr-}.lp.%{ir}.%{v}._spf.%{d2}   | bad.strong.lp.3.2.0.192.in-addr._spf.example.com
            %{ir}.%{v}.%{l1r-}.lp._spf.%{d2}  | 3.2.0.192.in-addr.strong.lp._spf.example.com
            %{d2}.trusted-domains.example.net | example.com.trusted-domains.example.net
            %{d99}                            | email.example.com
            %{d2147483648}                    | email.example.com
            %{p2}.x.example                   | example.org.x.example
            %{h}                              | mx.example.org
            %{s-.}                            | strong.bad@email.example.com
            %{sr}                             | com.example.strong-bad@email
            %{DR}                             | com.example.email
            %{S}                              | strong-bad%40email.example.com
            %{L}                              | strong-bad
            a%%b%_c%-d.example.com            | a%b c%20d.example.com
            """)
    void theRfcExamplesExpandAsPrinted(String spec, String expected) throws Exception {
        MacroString macro = MacroString.parse(spec, MacroString.Context.DOMAIN_SPEC);

        assertThat(macro.expand(values("192.0.2.3"))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} expands to {1} for 2001:db8::cb01")
    @CsvSource(delimiter = '|', textBlock = """
            %{ir}.%{v}._spf.%{d2} | 1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com
            %{i}                  | 2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1
            %{c} via %{r} at %{t} | 2001:db8::cb01 via relay.example.net at 1700000000
            """)
    void ipv6AddressesExpandToNibblesAndToTheirReadableForm(String spec, String expected) throws Exception {
        MacroString macro = MacroString.parse(spec, MacroString.Context.EXPLANATION);

        assertThat(macro.expand(values("2001:db8::cb01"))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "\"{0}\" is a permerror: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            %                     | a lone percent
            foo%                  | a trailing percent
            %x.example.com        | percent before another letter
            %(ir).example.com     | parentheses instead of braces
            %{ir.example.com      | an unterminated macro
            %{}.example.com       | an empty macro
            %{x}.example.com      | an unknown letter
            %{a}.example.com      | an unknown letter
            %{d0}.example.com     | the transformer zero
            %{d2*}.example.com    | a delimiter outside the set
            %{s@}.example.com     | @ is not a delimiter
            %{dr2}.example.com    | digits after the reversal
            %{c}.example.com      | c outside explanation text
            %{r}.example.com      | r outside explanation text
            %{t}.example.com      | t outside explanation text
            museum                | no dot before the top label
            museum.               | no dot before the top label, with a trailing dot
            abc.123               | an all-numeric top label
            example.-com          | a top label starting with a dash
            example.com-          | a top label ending with a dash
            example.com:8080      | a colon in the top label
            example.com/24        | a slash in the top label
            foo example.com       | a space
            """)
    void malformedDomainSpecsArePermerrors(String spec, String why) {
        assertThatThrownBy(() -> MacroString.parse(spec, MacroString.Context.DOMAIN_SPEC))
                .as(why)
                .isInstanceOfSatisfying(CheckHostError.class, e -> assertThat(e.result()).isEqualTo(SpfResult.PERMERROR));
    }

    @ParameterizedTest(name = "\"{0}\" is a valid domain-spec")
    @CsvSource(delimiter = '|', textBlock = """
            example.com
            example.com.
            foo:bar/baz.example.com
            %{d}
            %{ir}.%{v}._spf.%{d2}
            foo.example.xn--zckzah
            .com
            mail.example...com
            x.%%
            """)
    void wellFormedDomainSpecsParse(String spec) throws Exception {
        assertThat(MacroString.parse(spec, MacroString.Context.DOMAIN_SPEC).source()).isEqualTo(spec);
    }

    @ParameterizedTest(name = "{0} escapes to {1}")
    @CsvSource(delimiter = '|', textBlock = """
            ~jack&jill=up-a_b3.c | ~jack%26jill%3Dup-a_b3.c
            a b                  | a%20b
            100%                 | 100%25
            café                 | caf%C3%A9
            """)
    void upperCaseMacrosAreUrlEscapedOutsideTheUnreservedSet(String raw, String escaped) {
        assertThat(MacroString.urlEscape(raw)).isEqualTo(escaped);
    }
}
