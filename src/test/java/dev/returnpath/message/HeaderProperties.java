package dev.returnpath.message;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The header block, the From parser and From alignment as properties. From values are drawn
 * from the characters that give address syntax its structure (quotes, angle brackets,
 * parentheses, commas, colons, backslashes, folding), so unbalanced and hostile values are
 * common, not rare.
 */
class HeaderProperties {

    @Provide
    Arbitrary<byte[]> headerBlocks() {
        Arbitrary<String> piece = Arbitraries.of("From: a@b.test\r\n", "X: y\r\n", " folded\r\n", "\tmore\r\n",
                "no colon\r\n", ":\r\n", "\r\n", "\n", "\r", "Subject: caf\u00e9", "\u00ff\u00fe:", "a");
        return piece.list().ofMaxSize(40).map(l -> String.join("", l).getBytes(StandardCharsets.ISO_8859_1));
    }

    @Property
    void aHeaderBlockGivesBackExactlyItsBytes(@ForAll("headerBlocks") byte[] raw) throws Exception {
        HeaderBlock h = HeaderBlock.parse(raw);
        assertThat(h.toBytes()).isEqualTo(raw);
        assertThat(h.length()).isEqualTo(raw.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        h.writeTo(out);
        assertThat(out.toByteArray()).isEqualTo(raw);
        assertThat(h.without(f -> f.is("X")).fields()).noneMatch(f -> f.is("X"));
    }

    @Provide
    Arbitrary<String> fromValues() {
        Arbitrary<String> piece = Arbitraries.of("\"", "<", ">", "(", ")", ",", ":", ";", "\\", " ", "\r\n ", "@",
                "zoe", "gmail.com", "Zo\u00eb", "=?UTF-8?Q?x?=", "a@b.test", "<c@d.test>", "\"q\"", ".");
        return piece.list().ofMinSize(1).ofMaxSize(14).map(l -> String.join("", l));
    }

    static HeaderBlock withFrom(String value) {
        return HeaderBlock.parse(("Subject: s\r\nFrom: " + value + "\r\nTo: t@e.test\r\n").getBytes(StandardCharsets.UTF_8));
    }

    @Property
    void theFromParserNeverThrowsAndFindsADomainOnlyInAValidMailbox(@ForAll("fromValues") String value) {
        FromHeader f = FromHeader.of(withFrom(value));
        f.domain().ifPresent(d -> assertThat(f.addresses()).isNotEmpty()
                .allMatch(Addresses::isValidMailbox)
                .allMatch(a -> Addresses.domainOf(a).orElseThrow().equals(d)));
        assertThat(f.domain().isPresent()).isEqualTo(f.problem().isEmpty());
    }

    @Property
    void alignmentGivesOneFromOfOurAddressAndAReplyToThatIsWellFormed(@ForAll("fromValues") String value) {
        HeaderBlock before = withFrom(value);
        FromAlignment.Result r = FromAlignment.align(before, "noreply@example.com");

        List<HeaderBlock.Field> from = r.headers().all("From");
        assertThat(from).hasSize(1);
        assertThat(FromHeader.of(r.headers()).addresses()).containsExactly("noreply@example.com");
        assertThat(FromAlignment.wellFormed(from.get(0).rawValue())).as(new String(from.get(0).raw(), StandardCharsets.UTF_8))
                .isTrue();
        r.replyTo().ifPresent(rt -> {
            HeaderBlock.Field f = r.headers().first("Reply-To").orElseThrow();
            assertThat(FromAlignment.wellFormed(f.rawValue())).as(new String(f.raw(), StandardCharsets.UTF_8)).isTrue();
            assertThat(FromHeader.addressesOf(f.value())).hasValueSatisfying(list ->
                    assertThat(list).isNotEmpty().allMatch(Addresses::isValidMailbox));
        });
        // every other field keeps its bytes and its order
        assertThat(r.headers().without(f -> f.is("From") || f.is("Reply-To")).toBytes())
                .isEqualTo(before.without(f -> f.is("From")).toBytes());
    }
}
