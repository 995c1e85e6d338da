package dev.returnpath.dns;

import dev.returnpath.config.Endpoint;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Type;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** A lost UDP packet costs a retry within the timeout, not a temperror (real UDP on loopback). */
class DnsRetryTest {

    @Test
    void aQueryWhoseFirstPacketIsLostIsAnsweredByTheRetry() throws Exception {
        try (UdpZoneServer server = UdpZoneServer.start(List.of(ZoneAnswers.rootZone("/dns/udp.zone")), 0)) {
            server.dropEvery(1_000_000); // exactly the next packet
            long start = System.nanoTime();
            DnsAnswer answer = DnsjavaDns.create(List.of(Endpoint.parse(server.address(), 53)), Duration.ofMillis(900))
                    .lookup("example.test", Type.TXT);
            assertThat(answer).as("queries %d after %d ms", server.queryCount(), (System.nanoTime() - start) / 1_000_000).isInstanceOf(DnsAnswer.Records.class);
            assertThat(server.queryCount()).isEqualTo(2);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(900));
        }
    }

    @Test
    void aSilentFirstServerHandsTheQueryToTheSecond() throws Exception {
        try (UdpZoneServer dead = UdpZoneServer.start(List.of(ZoneAnswers.rootZone("/dns/udp.zone")), 0);
             UdpZoneServer alive = UdpZoneServer.start(List.of(ZoneAnswers.rootZone("/dns/udp.zone")), 0)) {
            dead.dropEvery(1);
            DnsAnswer answer = DnsjavaDns.create(List.of(Endpoint.parse(dead.address(), 53), Endpoint.parse(alive.address(), 53)), Duration.ofMillis(600))
                    .lookup("example.test", Type.A);
            assertThat(answer).isInstanceOf(DnsAnswer.Records.class);
            assertThat(dead.queryCount()).isGreaterThanOrEqualTo(1);
            assertThat(alive.queryCount()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void fiveHundredTwelveQueriesInFlightAgainstALossyServerAllGetTheirAnswer() throws Exception {
        try (UdpZoneServer server = UdpZoneServer.start(List.of(ZoneAnswers.rootZone("/dns/udp.zone")), 0)) {
            server.dropEvery(7); // one packet in seven lost: what a small server under a burst did
            DnsjavaDns dns = DnsjavaDns.create(List.of(Endpoint.parse(server.address(), 53)), Duration.ofSeconds(3));
            ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
            List<Future<DnsAnswer>> answers = new ArrayList<>();
            for (int i = 0; i < 512; i++) {
                // distinct names: no sharing of one query, no cache; the zone's wildcard-free
                // answer for a missing name is NXDOMAIN, which is an answer too
                String name = i % 2 == 0 ? "example.test" : "q" + i + ".missing.example.test";
                int type = i % 2 == 0 ? (i % 4 == 0 ? Type.A : Type.TXT) : Type.A;
                answers.add(pool.submit(() -> dns.lookup(name, type)));
            }
            int failures = 0;
            for (Future<DnsAnswer> f : answers) {
                if (f.get() instanceof DnsAnswer.Failure) {
                    failures++;
                }
            }
            pool.shutdown();
            assertThat(failures).isZero();
            assertThat(server.queryCount()).isGreaterThan(256); // the misses went to the server, some twice
        }
    }
}
