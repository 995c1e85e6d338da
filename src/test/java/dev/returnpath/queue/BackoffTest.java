package dev.returnpath.queue;

import dev.returnpath.config.RelayConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class BackoffTest {
    static final RelayConfig.Queue DEFAULTS = new RelayConfig.Queue(RelayConfig.QueueMode.SPOOL, Path.of("spool"),
            Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofDays(5), Duration.ZERO, 100, 20);

    @ParameterizedTest(name = "after attempt {0}: wait {1}")
    @CsvSource(textBlock = """
            1,  PT5M
            2,  PT10M
            3,  PT20M
            4,  PT40M
            5,  PT1H
            6,  PT1H
            40, PT1H
            """)
    void retriesStartAtFirstRetryAndDoubleUpToTheMaximum(int attempts, Duration wait) {
        assertThat(AttemptStep.backoff(DEFAULTS, attempts)).isEqualTo(wait);
    }
}
