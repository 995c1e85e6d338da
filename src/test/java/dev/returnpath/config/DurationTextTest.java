package dev.returnpath.config;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class DurationTextTest {

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource(delimiter = '|', textBlock = """
            PT0S         | 0s
            PT0.005S     | 5ms
            PT0.0000015S | 1500ns
            PT0.000002S  | 2us
            PT1S         | 1s
            PT1.5S       | 1500ms
            PT90S        | 90s
            PT5M         | 5m
            PT1H         | 1h
            PT25H        | 25h
            PT120H       | 5d
            P60D         | 60d
            PT-5S        | -5s
            """)
    void aDurationIsWrittenAsTheFileWritesIt(String iso, String text) {
        assertThat(DurationText.of(Duration.parse(iso))).isEqualTo(text);
    }
}
