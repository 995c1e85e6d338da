package dev.returnpath.ops;

import com.fasterxml.jackson.databind.JsonNode;
import dev.returnpath.ops.MailEvent.Arrival;
import dev.returnpath.ops.MailEvent.Rewritten;
import dev.returnpath.ops.MailEvent.Spf;
import dev.returnpath.ops.MailEvent.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client or an upstream chooses cannot make a second key or hide one, in either writer:
 * the audit's probes, then a seeded run of values built from the characters that matter, each
 * line read back by a parser of the documented text grammar and by a JSON parser that rejects
 * duplicate keys.
 */
class MailLogSafetyTest {
    static final String FORGED = "\"a) status=sent relay=forged.example\"@example.org";
    static final String ECHO = "550 5.1.1 <" + FORGED + ">: Recipient address rejected";

    static MailEvent.Recipient forgedRecipient() {
        return new MailEvent.Recipient("3F2A9C1B00001", FORGED, Optional.empty(), "mx.example.org[192.0.2.25]:25", 0.2,
                "5.1.1", Status.BOUNCED, ECHO, Optional.empty());
    }

    @Test
    void anEchoedQuotedRecipientCannotAddAStatusToTheJson() throws Exception {
        JsonNode json = MailLogWritersTest.STRICT.readTree(JsonLogLayoutTest.layout(forgedRecipient()));
        assertThat(json.get("status").asText()).isEqualTo("bounced");
        assertThat(json.get("relay").asText()).isEqualTo("mx.example.org[192.0.2.25]:25");
        assertThat(json.get("to").asText()).isEqualTo("<" + FORGED + ">");
        assertThat(json.get("reply").asText()).isEqualTo(ECHO);
        assertThat(fieldNames(json)).containsExactly("time", "level", "logger", "id", "to", "relay", "delay", "dsn", "status",
                "reply");
    }

    @Test
    void anEchoedQuotedRecipientCannotEndTheCommentOfTheTextLine() {
        String text = MailLog.text(forgedRecipient());
        assertThat(text).isEqualTo("to=<" + FORGED + "> relay=mx.example.org[192.0.2.25]:25 delay=0.20 dsn=5.1.1 "
                + "status=bounced (550 5.1.1 <\"a\\) status=sent relay=forged.example\"@example.org>: Recipient address rejected)");
        assertThat(TextLine.parse(text)).containsExactly(
                Map.entry("to", "<" + FORGED + ">"), Map.entry("relay", "mx.example.org[192.0.2.25]:25"),
                Map.entry("delay", "0.20"), Map.entry("dsn", "5.1.1"), Map.entry("status", "bounced"),
                Map.entry("reply", ECHO));
    }

    @Test
    void aQuoteInEhloDoesNotHideTheFromKey() throws Exception {
        Arrival a = Arrival.of("3F2A9C1B00001", "127.0.0.1", "\"x", "apache@web01.internal", Optional.empty())
                .withSpf(Spf.OFF).withSize(10).withNrcpt(1);
        assertThat(MailLog.text(a)).isEqualTo("client=127.0.0.1 helo=\"\\\"x\" from=<apache@web01.internal> spf=off size=10 nrcpt=1");
        assertThat(TextLine.parse(MailLog.text(a))).containsExactly(Map.entry("client", "127.0.0.1"), Map.entry("helo", "\"x"),
                Map.entry("from", "<apache@web01.internal>"), Map.entry("spf", "off"), Map.entry("size", "10"),
                Map.entry("nrcpt", "1"));
        JsonNode json = MailLogWritersTest.STRICT.readTree(JsonLogLayoutTest.layout(a));
        assertThat(json.get("helo").asText()).isEqualTo("\"x");
        assertThat(json.get("from").asText()).isEqualTo("<apache@web01.internal>");
    }

    @Test
    void aFixThatQuotesARecordKeepsItsQuotesInsideTheValue() throws Exception {
        var hint = RejectionHints.classify(421, "4.7.40", "no DMARC record").orElseThrow();
        var r = new MailEvent.Recipient("3F2A9C1B00001", "x@gmail.com", Optional.empty(), "none", 0, "4.7.40", Status.DEFERRED,
                "421 4.7.40 no DMARC record", Optional.of(hint));
        assertThat(MailLog.text(r)).endsWith(" cause=dmarc fix=\"the From domain has no DMARC record: publish "
                + "_dmarc.<domain> TXT \\\"v=DMARC1; p=none\\\" at least\"");
        assertThat(TextLine.parse(MailLog.text(r))).last().isEqualTo(Map.entry("fix", hint.fix()));
        assertThat(MailLogWritersTest.STRICT.readTree(JsonLogLayoutTest.layout(r)).get("fix").asText()).isEqualTo(hint.fix());
    }

    /** A table's cell: {@code {XXXX}} is the character U+XXXX. */
    static String cell(String s) {
        return java.util.regex.Pattern.compile("\\{([0-9a-f]{4})}").matcher(s)
                .replaceAll(m -> java.util.regex.Matcher.quoteReplacement(Character.toString(Integer.parseInt(m.group(1), 16))));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # what                        | value               | text
            a space                       | 'web 01'            | helo="web 01"
            an equals sign                | a=b                 | helo="a=b"
            a key of its own              | 'x status=sent'     | helo="x status=sent"
            angle brackets                | <x>                 | helo="<x>"
            parentheses                   | (x)                 | helo="(x)"
            a backslash inside quotes     | 'a b\\'             | helo="a b\\\\"
            a backslash alone stays       | a\\b                | helo=a\\b
            a no-break space              | 'a{00a0}b'          | helo="a{00a0}b"
            an ideographic space          | 'a{3000}b'          | helo="a{3000}b"
            an address literal stays      | [192.0.2.7]         | helo=[192.0.2.7]
            an IPv6 literal stays         | [IPv6:2001:db8::1]  | helo=[IPv6:2001:db8::1]
            """)
    void aValueThatCouldEndEarlyIsQuoted(String what, String value, String text) {
        Arrival a = Arrival.of("3F2A9C1B00001", "127.0.0.1", cell(value), "", Optional.empty());
        assertThat(MailLog.text(a)).isEqualTo("client=127.0.0.1 " + cell(text) + " from=<>");
        assertThat(TextLine.parse(MailLog.text(a)).get(1).getValue()).isEqualTo(cell(value));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # what                           | address                 | text
            an ordinary address              | a@example.org           | to=<a@example.org>
            a quoted local part with a space | '"a b"@example.org'     | to=<"a b"@example.org>
            a closing bracket                | '"a>b"@example.org'     | to=<"a\\>b"@example.org>
            an opening bracket               | '"a<b"@example.org'     | to=<"a\\<b"@example.org>
            a backslash                      | '"a\\\\"@example.org'   | to=<"a\\\\\\\\"@example.org>
            """)
    void anAddressEndsAtItsOwnBracket(String what, String address, String text) {
        MailEvent.Dropped d = new MailEvent.Dropped("3F2A9C1B00001", address, "x");
        assertThat(MailLog.text(d)).isEqualTo(text + " status=dropped (x)");
        assertThat(TextLine.parse(MailLog.text(d)).get(0).getValue()).isEqualTo("<" + address + ">");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # what                               | reply                   | comment
            nested parentheses that balance stay | 550 5.7.1 (really) no   | (550 5.7.1 (really) no)
            a lone closing one is escaped        | 550 <"a) x=y"@b>        | (550 <"a\\) x=y"@b>)
            a lone opening one escapes them all  | 550 <"a( x"@b> (see)    | (550 <"a\\( x"@b> \\(see\\))
            a backslash is escaped               | 550 C:\\x               | (550 C:\\\\x)
            """)
    void aCommentIsAnRfc5322Comment(String what, String reply, String comment) {
        MailEvent.Dropped d = new MailEvent.Dropped("3F2A9C1B00001", "a@b", reply);
        assertThat(MailLog.text(d)).isEqualTo("to=<a@b> status=dropped " + comment);
        assertThat(TextLine.parse(MailLog.text(d)).get(2).getValue()).isEqualTo(reply);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # what                          | in                                | out
            tab, CR and LF                  | 'a{0009}b{000d}c{000a}d'          | a?b?c?d
            DEL                             | 'a{007f}b'                        | a?b
            NEL (U+0085) and another C1     | 'a{0085}b{009b}c'                 | a?b?c
            line and paragraph separators   | 'a{2028}b{2029}c'                 | a?b?c
            bidi overrides and isolates     | 'a{202e}b{2066}c{200f}d'          | a?b?c?d
            the Arabic letter mark          | 'a{061c}b'                        | a?b
            other scripts are kept          | 'Zoë Müller 日本'                  | 'Zoë Müller 日本'
            a zero-width joiner is kept     | 'a{200d}b'                        | 'a{200d}b'
            """)
    void printableReplacesWhatBreaksOrReordersALine(String what, String in, String out) {
        assertThat(MailLog.printable(cell(in))).isEqualTo(cell(out));
    }

    @Test
    void aSurrogatePairIsKeptAndALoneSurrogateIsNot() {
        assertThat(MailLog.printable("a\uD83D\uDE00b")).isEqualTo("a\uD83D\uDE00b");
        assertThat(MailLog.printable("a\uD83Db")).isEqualTo("a?b");
        assertThat(MailLog.printable("a\uDE00")).isEqualTo("a?");
    }

    @Test
    void aNelOrALineSeparatorFromEhloReachesNeitherWriter() throws Exception {
        Arrival a = Arrival.of("3F2A9C1B00001", "127.0.0.1", "web01\u0085x=1\u2028y", "", Optional.empty());
        assertThat(MailLog.text(a)).isEqualTo("client=127.0.0.1 helo=\"web01?x=1?y\" from=<>");
        assertThat(JsonLogLayoutTest.layout(a)).contains("\"helo\":\"web01?x=1?y\"").doesNotContain("\\u0085", "\\u2028");
    }

    /** Characters and words that end, open or fake a value in one format or the other. */
    private static final String[] PIECES = {"a", "b", "0", " ", "=", "<", ">", "\"", "(", ")", "\\", "@", "'", "{", "}", ",",
            ":", "[", "]", "\u0085", "\u2028", "\u00a0", "\t", "\n", "é", "status=sent", " relay=x", "\\\"", ") ", " (",
            "\"@x>", " to=<", "\u202e"};

    private static String any(Random r) {
        StringBuilder b = new StringBuilder();
        for (int n = r.nextInt(8); n > 0; n--) {
            b.append(PIECES[r.nextInt(PIECES.length)]);
        }
        return b.toString();
    }

    @Test
    void anyValuesReadBackAsTheyWereWrittenInBothFormats() throws Exception {
        Random r = new Random(16);
        for (int i = 0; i < 2000; i++) {
            Map<String, Long> stripped = new LinkedHashMap<>();
            stripped.put("X-" + any(r), 1L);
            MailEvent[] events = {
                    Arrival.of("3F2A9C1B00001", any(r), any(r), any(r), Optional.of(any(r)))
                            .withRewrite(new Rewritten(Optional.of(any(r)), any(r), any(r), Optional.of(any(r)), true, stripped))
                            .withSpf(new Spf(any(r), Optional.of(any(r)))).withDkim(any(r)).withSize(1).withNrcpt(1),
                    new MailEvent.Recipient("3F2A9C1B00001", any(r), Optional.of(any(r)), any(r), 0.1, any(r), Status.DEFERRED,
                            any(r), Optional.of(new RejectionHints.Hint(any(r), any(r)))),
                    new MailEvent.Rejected(Arrival.of("3F2A9C1B00001", any(r), any(r), any(r), Optional.empty()), 550, "5.7.1",
                            any(r)),
            };
            for (MailEvent e : events) {
                String text = MailLog.text(e);
                JsonNode json = MailLogWritersTest.STRICT.readTree(JsonLogLayoutTest.layout(e));
                List<Map.Entry<String, String>> fromJson = new ArrayList<>();
                json.properties().forEach(p -> fromJson.add(Map.entry(p.getKey(), p.getValue().asText())));
                assertThat(TextLine.parse(text)).as("%s", text).isEqualTo(fromJson.subList(4, fromJson.size()));
                assertThat(text).doesNotContain("\n", "\r", "\u0085", "\u2028", "\u202e");
            }
        }
    }

    private static List<String> fieldNames(JsonNode json) {
        List<String> names = new ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /**
     * A reader of the text line as {@link MailLog} documents it, written from the documentation:
     * {@code key=bare}, {@code key="quoted"} with backslash escapes, {@code key=<address>} with
     * backslash escapes, and {@code (comment)} as RFC 5322 has it, read as {@code reply}.
     */
    static final class TextLine {
        static List<Map.Entry<String, String>> parse(String line) {
            List<Map.Entry<String, String>> out = new ArrayList<>();
            int i = 0;
            while (i < line.length()) {
                if (line.charAt(i) == '(') {
                    StringBuilder v = new StringBuilder();
                    int depth = 0;
                    for (; ; i++) {
                        char c = line.charAt(i);
                        if (c == '\\') {
                            v.append(line.charAt(++i));
                            continue;
                        }
                        if (c == '(' && depth++ == 0) {
                            continue;
                        }
                        if (c == ')' && --depth == 0) {
                            i++;
                            break;
                        }
                        v.append(c);
                    }
                    out.add(Map.entry("reply", v.toString()));
                } else {
                    int eq = line.indexOf('=', i);
                    String key = line.substring(i, eq);
                    assertThat(key).matches("[a-z][a-z0-9-]*");
                    i = eq + 1;
                    StringBuilder v = new StringBuilder();
                    char open = i < line.length() ? line.charAt(i) : ' ';
                    if (open == '"' || open == '<') {
                        char close = open == '"' ? '"' : '>';
                        if (open == '<') {
                            v.append('<');
                        }
                        for (i++; line.charAt(i) != close; i++) {
                            v.append(line.charAt(i) == '\\' ? line.charAt(++i) : line.charAt(i));
                        }
                        if (open == '<') {
                            v.append('>');
                        }
                        i++;
                    } else {
                        while (i < line.length() && line.charAt(i) != ' ') {
                            v.append(line.charAt(i++));
                        }
                    }
                    out.add(Map.entry(key, v.toString()));
                }
                if (i < line.length()) {
                    assertThat(line.charAt(i)).as("a space after a field in %s", line).isEqualTo(' ');
                    i++;
                }
            }
            return out;
        }
    }
}
