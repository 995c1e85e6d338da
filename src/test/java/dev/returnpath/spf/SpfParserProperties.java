package dev.returnpath.spf;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SPF record and macro parsers (RFC 7208 §4.6, §7) as properties: a record of the grammar's
 * terms parses to one directive per mechanism; any text either parses or is a permerror, never
 * another exception; a parsed macro expands or fails with a permerror.
 */
class SpfParserProperties {

    @Provide
    Arbitrary<String> mechanisms() {
        return Arbitraries.of("a", "mx", "ptr", "all", "a:example.com", "mx:example.com/24", "a//64", "ip4:192.0.2.0/24",
                "ip4:192.0.2.1", "ip6:2001:db8::/32", "ip6:::1", "include:_spf.example.com", "exists:%{i}.x.example",
                "a:%{d2}", "mx:%{l1r-}.example.com")
                .flatMap(m -> Arbitraries.of("", "+", "-", "~", "?").map(q -> q + m));
    }

    @Property
    void aRecordOfValidTermsParsesToOneDirectivePerMechanism(@ForAll("mechanismLists") List<String> terms) throws Exception {
        SpfRecord r = SpfRecord.parse("v=spf1 " + String.join(" ", terms));
        assertThat(r.directives()).hasSize(terms.size());
    }

    @Provide
    Arbitrary<List<String>> mechanismLists() {
        return mechanisms().list().ofMaxSize(12);
    }

    @Provide
    Arbitrary<String> noise() {
        Arbitrary<String> piece = Arbitraries.of("v=spf1", " ", "  ", "a", ":", "/", "//", "%", "%{", "}", "{", "ip4:",
                "ip6:", "1.2.3.4", "::", "redirect=", "exp=", "=", "include:", "-all", "?", "x", "%{ir}", "%{d999r}",
                ".", "..", "\u00e9", "\t", "999999999999");
        return piece.list().ofMaxSize(20).map(l -> String.join("", l));
    }

    @Property
    void anyTextParsesOrIsAPermerror(@ForAll("noise") String text) {
        try {
            SpfRecord.parse(text);
        } catch (CheckHostError e) {
            assertThat(e.result()).isEqualTo(SpfResult.PERMERROR);
        }
    }

    static final MacroString.Values VALUES = letter -> switch (letter) {
        case 's' -> "strong-bad@email.example.com";
        case 'l' -> "strong-bad";
        case 'o', 'd' -> "email.example.com";
        case 'i' -> "192.0.2.3";
        case 'p' -> "unknown";
        case 'v' -> "in-addr";
        case 'h' -> "mx.example.org";
        case 'c' -> "192.0.2.3";
        case 'r' -> "relay.example.net";
        case 't' -> "1700000000";
        default -> throw new IllegalStateException("not a macro letter: " + letter);
    };

    @Property
    void anyMacroTextParsesAndExpandsOrIsAPermerror(@ForAll("noise") String text, @ForAll MacroString.Context context) {
        try {
            MacroString m = MacroString.parse(text, context);
            assertThat(m.source()).isEqualTo(text);
            m.expand(VALUES);
        } catch (CheckHostError e) {
            assertThat(e.result()).isEqualTo(SpfResult.PERMERROR);
        }
    }
}
