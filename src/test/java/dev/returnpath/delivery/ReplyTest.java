package dev.returnpath.delivery;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class ReplyTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            550 5.1.1 no such user                                       | 550 | 5.1.1  | no such user
            451 4.7.0 try later                                          | 451 | 4.7.0  | try later
            250 Ok                                                       | 250 |        | Ok
            550-5.7.26 This mail is unauthenticated\\n550 5.7.26 see help | 550 | 5.7.26 | This mail is unauthenticated see help
            421 4.7.0 [203.0.113.5 15] Our system has detected           | 421 | 4.7.0  | [203.0.113.5 15] Our system has detected
            452-4.2.2 full\\r\\n452-\\r\\n\\r\\n452 4.2.2 try later\\r\\n            | 452 | 4.2.2  | full try later
            554 5.7.1 one\\r\\r\\n554 two\\n                               | 554 | 5.7.1  | one two
            \\n\\n250 Ok\\n                                               | 250 |        | Ok
            """)
    void upstreamRepliesAreParsedIntoCodeEnhancedAndOneLine(String raw, int code, String enhanced, String text) {
        Reply r = Reply.parse(0, raw.replace("\\r", "\r").replace("\\n", "\n"));
        assertThat(r.code()).isEqualTo(code);
        assertThat(r.enhanced()).isEqualTo(enhanced == null ? "" : enhanced);
        assertThat(r.text()).isEqualTo(text);
    }
}
