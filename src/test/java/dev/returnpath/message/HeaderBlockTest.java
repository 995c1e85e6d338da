package dev.returnpath.message;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class HeaderBlockTest {
    /** What Field.value did with two regular expressions per call. */
    private static String byPatterns(String raw) {
        int colon = raw.indexOf(':');
        String v = colon < 0 ? "" : raw.substring(colon + 1);
        return v.replaceAll("\r?\n(?=[ \t])", "").replaceAll("[\r\n]+$", "").trim();
    }

    @Test
    void valueUnfoldsExactlyAsTheTwoPatternsDid() {
        char[] alphabet = {'a', 'b', ' ', '\t', '\r', '\n', ':', '\u0085', '\u2028', '\u2029', 'é'};
        Random random = new Random(12);
        for (int n = 0; n < 50_000; n++) {
            StringBuilder b = new StringBuilder("Subject:");
            int len = random.nextInt(14);
            for (int i = 0; i < len; i++) {
                b.append(alphabet[random.nextInt(random.nextBoolean() ? 7 : alphabet.length)]);
            }
            if (random.nextBoolean()) {
                b.append("\r\n");
            }
            String raw = b.toString();
            HeaderBlock.Field f = new HeaderBlock.Field("Subject", raw.getBytes(StandardCharsets.UTF_8));
            assertThat(f.value()).as("%s", raw.replace("\r", "\\r").replace("\n", "\\n")).isEqualTo(byPatterns(raw));
        }
    }

    @Test
    void aCopyWithTheSameFromFieldsHasTheSameFromAndOneWithAnotherFromItsOwn() {
        HeaderBlock received = HeaderBlock.parse(("From: Shop <noreply@example.com>\r\nSubject: x\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        FromHeader first = FromHeader.of(received);
        assertThat(first.domain()).hasValue("example.com");
        HeaderBlock outgoing = received.adding("Received", "Received: from a\r\n".getBytes(StandardCharsets.US_ASCII))
                .without(f -> f.is("Subject"));
        assertThat(FromHeader.of(outgoing)).isSameAs(first);
        HeaderBlock aligned = outgoing.replacing("From", "From: <x@example.org>\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(FromHeader.of(aligned).domain()).hasValue("example.org");
        HeaderBlock twoFroms = received.adding("From", "From: <y@example.net>\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(FromHeader.of(twoFroms).domain()).isEmpty();
        assertThat(FromHeader.of(twoFroms).problem()).isEqualTo("several From headers");
        assertThat(FromHeader.of(received)).isSameAs(first);
    }
}
