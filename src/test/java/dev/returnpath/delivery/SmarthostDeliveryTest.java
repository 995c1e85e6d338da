package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Smarthost delivery under repeated use: what one message leaves behind for the next. */
class SmarthostDeliveryTest {
    @TempDir
    Path dir;

    @Test
    void writeTimeoutsOfFinishedWritesAreNotKeptQueued() throws Exception {
        try (Upstream upstream = new Upstream();
             SmarthostDelivery delivery = new SmarthostDelivery(
                     ConfigLoader.parseString(TestRelay.baseHocon(upstream.port(), dir), "test.conf"))) {
            OutboundMessage m = OutboundMessage.inMemory(
                    "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < 50; i++) {
                DeliveryOutcome o = delivery.deliver(new Envelope("ID" + i, "bounce@example.com", List.of("u@gmail.test")), m);
                assertThat(o.allSent()).isTrue();
            }
            // each of the 200-odd writes scheduled a timeout; none may wait out command-timeout
            assertThat(delivery.pendingWriteTimeouts()).isZero();
            assertThat(upstream.received).hasSize(50);
        }
    }
}
