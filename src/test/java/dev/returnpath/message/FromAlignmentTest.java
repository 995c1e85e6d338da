package dev.returnpath.message;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code from-header = align} at the byte level: the From fields as the app wrote them, and the
 * From and Reply-To that go out. Every other field keeps its bytes and its place. In the table,
 * {@code \n} stands for CRLF and NONE for "no such field".
 */
class FromAlignmentTest {

    static final String BEFORE = "Received: from app by localhost\r\nX-Raw: caf\u00e9 \r\n";
    static final String AFTER = "Subject: a folded\r\n  subject   \r\nTo: info@example.com\r\n";

    static String crlf(String s) {
        return s.replace("\\n", "\r\n");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            # From field(s) as written                                | new From                                              | Reply-To added
            From: Visitor <visitor@gmail.test>\\n                     | From: Visitor <noreply@example.com>\\n                | Reply-To: Visitor <visitor@gmail.test>\\n
            From: "Doe, Jane" <jane@gmail.test>\\n                    | From: "Doe, Jane" <noreply@example.com>\\n            | Reply-To: "Doe, Jane" <jane@gmail.test>\\n
            From: "a <b@c.test>" <c@gmail.test>\\n                    | From: "a <b@c.test>" <noreply@example.com>\\n         | Reply-To: "a <b@c.test>" <c@gmail.test>\\n
            From: =?UTF-8?Q?Caf=C3=A9?= <cafe@gmail.test>\\n          | From: =?UTF-8?Q?Caf=C3=A9?= <noreply@example.com>\\n  | Reply-To: =?UTF-8?Q?Caf=C3=A9?= <cafe@gmail.test>\\n
            From: Zoë Müller <zoe@gmail.test>\\n                      | From: Zoë Müller <noreply@example.com>\\n             | Reply-To: Zoë Müller <zoe@gmail.test>\\n
            From: "Zoë (the boss)" (sales) <zoe@gmail.test>\\n        | From: "Zoë (the boss)" (sales) <noreply@example.com>\\n | Reply-To: "Zoë (the boss)" (sales) <zoe@gmail.test>\\n
            From: visitor@gmail.test\\n                               | From: noreply@example.com\\n                          | Reply-To: visitor@gmail.test\\n
            From: <visitor@gmail.test>\\n                             | From: noreply@example.com\\n                          | Reply-To: <visitor@gmail.test>\\n
            From: visitor@gmail.test (Visitor)\\n                     | From: noreply@example.com\\n                          | Reply-To: visitor@gmail.test (Visitor)\\n
            From:visitor@gmail.test\\n                                | From: noreply@example.com\\n                          | Reply-To: visitor@gmail.test\\n
            From: Visitor\\n  <visitor@gmail.test>\\n                 | From: Visitor <noreply@example.com>\\n                | Reply-To: Visitor\\n  <visitor@gmail.test>\\n
            From: a@gmail.test, b@yahoo.test\\n                       | From: noreply@example.com\\n                          | Reply-To: a@gmail.test, b@yahoo.test\\n
            From: Team: a@gmail.test, b@gmail.test;\\n                | From: noreply@example.com\\n                          | Reply-To: Team: a@gmail.test, b@gmail.test;\\n
            From: undisclosed-recipients:;\\n                         | From: noreply@example.com\\n                          | NONE
            From: not an address\\n                                   | From: noreply@example.com\\n                          | NONE
            From: a@gmail.test\\nFrom: b@gmail.test\\n                | From: noreply@example.com\\n                          | Reply-To: a@gmail.test,\\n b@gmail.test\\n
            NONE                                                      | From: noreply@example.com\\n                          | NONE
            From: "unterminated <zoe@gmail.com>\\n                  | From: noreply@example.com\\n                          | Reply-To: zoe@gmail.com\\n
            From: Visitor <visitor@gmail.test\\n                     | From: noreply@example.com\\n                          | NONE
            From: "Jo (x" <jo@gmail.test>)\\n                      | From: noreply@example.com\\n                          | Reply-To: jo@gmail.test\\n
            From: "A display name long enough to need folding, really" <x@gmail.test>\\n | From: "A display name long enough to need folding, really"\\n <noreply@example.com>\\n | Reply-To: "A display name long enough to need folding, really" <x@gmail.test>\\n
            """)
    void fromIsAlignedAndTheAuthorMovesToReplyTo(String from, String newFrom, String replyTo) {
        String oldFrom = from.equals("NONE") ? "" : crlf(from);
        HeaderBlock h = HeaderBlock.parse((BEFORE + oldFrom + AFTER).getBytes(StandardCharsets.UTF_8));

        FromAlignment.Result r = FromAlignment.align(h, "noreply@example.com");

        String added = replyTo.equals("NONE") ? "" : crlf(replyTo);
        String expected = from.equals("NONE")
                ? BEFORE + AFTER + crlf(newFrom)        // a missing From is added at the end
                : BEFORE + crlf(newFrom) + added + AFTER;
        assertThat(new String(r.headers().toBytes(), StandardCharsets.UTF_8)).isEqualTo(expected);
        assertThat(r.replyTo().isPresent()).isEqualTo(!added.isEmpty());
        assertThat(FromHeader.of(r.headers()).addresses()).containsExactly("noreply@example.com");
    }

    @Test
    void anExistingReplyToIsLeftAlone() {
        String in = "From: Visitor <visitor@gmail.test>\r\nreply-to: desk@example.com\r\nSubject: x\r\n";
        FromAlignment.Result r = FromAlignment.align(HeaderBlock.parse(in.getBytes(StandardCharsets.UTF_8)), "noreply@example.com");
        assertThat(new String(r.headers().toBytes(), StandardCharsets.UTF_8))
                .isEqualTo("From: Visitor <noreply@example.com>\r\nreply-to: desk@example.com\r\nSubject: x\r\n");
        assertThat(r.replyTo()).isEmpty();
        assertThat(r.replyToKept()).isTrue();
    }

    @Test
    void invalidUtf8InADisplayNameIsCopiedByteForByte() {
        byte[] in = {'F', 'r', 'o', 'm', ':', ' ', 'C', 'a', 'f', (byte) 0xe9, ' ', '<', 'a', '@', 'g', '.', 't', 'e', 's', 't', '>', '\r', '\n'};
        FromAlignment.Result r = FromAlignment.align(HeaderBlock.parse(in), "noreply@example.com");
        byte[] out = r.headers().toBytes();
        byte[] expectedFrom = {'F', 'r', 'o', 'm', ':', ' ', 'C', 'a', 'f', (byte) 0xe9, ' ', '<'};
        assertThat(java.util.Arrays.copyOf(out, expectedFrom.length)).isEqualTo(expectedFrom);
        assertThat(new String(out, StandardCharsets.ISO_8859_1)).contains("<noreply@example.com>\r\nReply-To: Caf\u00e9 <a@g.test>\r\n");
    }
}
