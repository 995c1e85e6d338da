package dev.returnpath.ops;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class RejectionHintsTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            550 | 5.7.26  | This mail is unauthenticated, which poses a security risk | unauthenticated
            421 | 4.7.27  | SPF check did not pass                                     | spf
            550 | 5.7.27  | SPF check did not pass                                     | spf
            421 | 4.7.30  | DKIM did not pass                                          | dkim
            550 | 5.7.30  | DKIM did not pass                                          | dkim
            421 | 4.7.32  | From header not aligned                                    | alignment
            421 | 4.7.40  | no DMARC record                                            | dmarc
            451 | 4.7.23  | The sending IP does not have a PTR record                  | ptr
            550 | 5.7.25  | The IP address sending this message does not have a PTR   | ptr
            550 | 5.7.515 | Access denied, sending domain does not meet the required authentication level | outlook-auth
            550 | 5.1.1   | no such user                                               | NULL
            451 | 4.7.0   | greylisted                                                 | NULL
            """)
    void authenticationRejectionsAreClassified(int code, String enhanced, String text, String cause) {
        var hint = RejectionHints.classify(code, enhanced, text);
        if (cause == null) {
            assertThat(hint).isEmpty();
        } else {
            assertThat(hint).hasValueSatisfying(h -> {
                assertThat(h.cause()).isEqualTo(cause);
                assertThat(h.fix()).isNotBlank();
            });
        }
    }
}
