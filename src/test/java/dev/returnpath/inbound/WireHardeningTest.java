package dev.returnpath.inbound;

import dev.returnpath.config.ConfigHolder;
import dev.returnpath.config.ConfigLoader;
import dev.returnpath.delivery.Deliveries;
import dev.returnpath.ops.Metrics;
import dev.returnpath.testkit.LogCapture;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Defects an audit found on the wire: MAIL SIZE=, address syntax, BDAT dots, a dripping DATA. */
class WireHardeningTest {
    @TempDir
    Path spool;
    Upstream upstream;
    TestRelay relay;

    @BeforeEach
    void start() throws Exception {
        upstream = new Upstream();
        relay = new TestRelay(upstream.port(), spool, "");
    }

    @AfterEach
    void stop() {
        relay.close();
        upstream.close();
    }

    @ParameterizedTest(name = "SIZE={0}")
    @CsvSource({
            "3000000000",              // over 2^31-1: SubEtha's Integer.parseInt threw, the client got 421
            "99999999999999999999",    // 20 digits, the most RFC 1870 allows: over a long
            "26214401",                // one byte over the default 25 MiB
    })
    void aDeclaredSizeOverTheLimitIs552AndTheSessionGoesOn(String size) throws Exception {
        try (LogCapture log = new LogCapture("org.subethamail"); SmtpClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<apache@web01.internal> SIZE=" + size))
                    .isEqualTo("552 5.3.4 Message size exceeds fixed limit of 26214400 bytes");
            assertThat(c.command("MAIL FROM:<apache@web01.internal> SIZE=" + size + " BODY=8BITMIME"))
                    .startsWith("552 5.3.4");
            assertThat(c.command("MAIL FROM:<apache@web01.internal> SIZE=1000")).startsWith("250");
            assertThat(c.command("NOOP")).startsWith("250");
            assertThat(log.lines()).noneMatch(l -> l.contains("NumberFormatException"));
        }
    }

    @ParameterizedTest(name = "RCPT TO:<{0}>")
    @CsvSource(delimiter = '|', value = {
            "a@[1.2.3.4 x]",
            "a@[1.2.3.4]x",
            "a@[256.1.1.1]",
            "a@[1.2.3]",
            "a@[IPv6:1::2::3]",
            "a@[IPv6:1:2:3:4:5:6:7:8:9]",
            "a@[tag:anything]",
            "a@[]",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@gmail.test",   // 65 octets
    })
    void aBadForwardPathIsRefused(String address) throws Exception {
        try (SmtpClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
            assertThat(c.command("RCPT TO:<" + address + ">")).startsWith("501 5.1.3");
        }
    }

    @ParameterizedTest(name = "RCPT TO:<{0}>")
    @CsvSource({
            "a@[192.0.2.1]",
            "a@[IPv6:2001:db8::1]",
            "a@[IPv6:::ffff:192.0.2.1]",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@gmail.test",    // 64 octets
    })
    void aGoodForwardPathIsTaken(String address) throws Exception {
        try (SmtpClient c = relay.client()) {
            assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
            assertThat(c.command("RCPT TO:<" + address + ">")).startsWith("250");
        }
    }

    @Test
    void bdatMessageWhoseFirstLineStartsWithTwoDotsIsRelayedWithBoth() throws Exception {
        byte[] msg = "..x: y\r\nFrom: noreply@example.com\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        try (SmtpClient c = new SmtpClient(relay.port())) {
            c.greeting();
            c.command("EHLO web01.internal");
            relayDirect(c, msg);
        }
    }

    private void relayDirect(SmtpClient c, byte[] msg) throws Exception {
        assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
        assertThat(c.command("RCPT TO:<user@gmail.test>")).startsWith("250");
        c.send(("BDAT " + msg.length + " LAST\r\n").getBytes(StandardCharsets.US_ASCII));
        c.send(msg);
        assertThat(c.reply()).startsWith("250");
        String text = upstream.received.get(0).text();
        assertThat(text.substring(text.indexOf("\r\n..x: y") + 2)).startsWith("..x: y\r\nFrom: noreply@example.com\r\n");
    }

    @Test
    void aClientThatTricklesItsDataIsCutAtTheDataDeadlineWith421() throws Exception {
        ConfigHolder holder = new ConfigHolder(ConfigLoader.parseString(TestRelay.baseHocon(upstream.port(), spool),
                "test.conf"));
        try (Deliveries deliveries = new Deliveries()) {
            Metrics metrics = new Metrics();
            QueueId ids = new QueueId();
            dev.returnpath.cleanup.Cleanup cleanup = new dev.returnpath.cleanup.Cleanup(
                    dev.returnpath.cleanup.SpfGuards.overDnsjava(Clock.systemUTC()), metrics, Clock.systemUTC());
            dev.returnpath.handoff.Passthrough passthrough = new dev.returnpath.handoff.Passthrough(deliveries, metrics,
                    Clock.systemUTC(), ids);
            Receiver r = new Receiver(m -> passthrough.handOff(cleanup.prepare(m)), metrics, ids);
            Inbound inbound = new Inbound(holder, r, Clock.systemUTC());
            inbound.dataTimeout(Duration.ofSeconds(2));
            inbound.start();
            try (SmtpClient c = new SmtpClient(inbound.port())) {
                c.greeting();
                c.command("EHLO web01.internal");
                assertThat(c.command("MAIL FROM:<apache@web01.internal>")).startsWith("250");
                assertThat(c.command("RCPT TO:<user@gmail.test>")).startsWith("250");
                assertThat(c.command("DATA")).startsWith("354");
                c.send("From: noreply@example.com\r\n\r\n");
                long start = System.nanoTime();
                String reply = null;
                // a byte every 300 ms: never idle for long, never done
                for (int i = 0; i < 40 && reply == null; i++) {
                    try {
                        c.send("x");
                    } catch (java.io.IOException closed) {
                        break;
                    }
                    Thread.sleep(300);
                    if (System.nanoTime() - start > Duration.ofSeconds(2).toNanos()) {
                        c.send("x"); // the read after the deadline
                        reply = c.reply();
                    }
                }
                assertThat(reply).startsWith("421 4.4.2 DATA not complete within PT2S");
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
                assertThat(c.reply()).isNull(); // closed
            } finally {
                inbound.close();
                r.close();
            }
        }
        assertThat(upstream.received).isEmpty();
    }
}
