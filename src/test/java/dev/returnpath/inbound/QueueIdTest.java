package dev.returnpath.inbound;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class QueueIdTest {
    @Test
    void idsAreThirteenUpperCaseHexDigitsIncreasingAsTheFormatterWroteThem() {
        QueueId ids = new QueueId();
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            seen.add(ids.next());
        }
        for (int i = 0; i < seen.size(); i++) {
            String id = seen.get(i);
            assertThat(id).matches("[0-9A-F]{13}");
            assertThat(id).isEqualTo(String.format("%013X", Long.parseLong(id, 16)));
            if (i > 0) {
                assertThat(Long.parseLong(id, 16)).isGreaterThan(Long.parseLong(seen.get(i - 1), 16));
            }
        }
    }
}
