package dev.returnpath.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.returnpath.config.Endpoint;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** {@link DnsjavaDns} over real UDP on loopback, against {@link UdpZoneServer}: every answer type. */
class DnsjavaDnsUdpTest {
    private static UdpZoneServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = UdpZoneServer.start(List.of(ZoneAnswers.rootZone("/dns/udp.zone")), 0);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static DnsjavaDns dns() {
        return DnsjavaDns.create(List.of(Endpoint.parse(server.address(), 53)), Duration.ofMillis(400));
    }

    @Test
    void recordsArriveWithTheSmallestTtl() {
        DnsAnswer answer = dns().lookup("example.test", Type.A);

        assertThat(answer).isInstanceOf(DnsAnswer.Records.class);
        DnsAnswer.Records records = (DnsAnswer.Records) answer;
        assertThat(records.records()).extracting(r -> ((ARecord) r).getAddress().getHostAddress())
                .containsExactly("192.0.2.1", "192.0.2.2");
        assertThat(records.ttl()).isLessThanOrEqualTo(Duration.ofSeconds(300));
    }

    @Test
    void aMissingNameIsNxDomainAndCountsAsVoid() {
        DnsAnswer answer = dns().lookup("missing.example.test.", Type.A);

        assertThat(answer).isInstanceOf(DnsAnswer.NxDomain.class);
        assertThat(answer.isVoid()).isTrue();
    }

    @Test
    void aMissingTypeIsNoDataOnTheFirstCallAndWhenCached() {
        DnsjavaDns dns = dns();
        DnsAnswer first = dns.lookup("example.test", Type.MX);
        int queriesAfterFirst = server.queryCount();
        DnsAnswer second = dns.lookup("example.test", Type.MX);

        assertThat(first).isInstanceOf(DnsAnswer.NoData.class);
        assertThat(second).isInstanceOf(DnsAnswer.NoData.class);
        assertThat(server.queryCount()).as("the second answer came from the cache").isEqualTo(queriesAfterFirst);
    }

    @Test
    void servfailIsAFailureNamingTheRcode() {
        DnsAnswer answer = dns().lookup("servfail.example.test", Type.TXT);

        assertThat(answer).isInstanceOfSatisfying(DnsAnswer.Failure.class,
                f -> assertThat(f.message()).contains("SERVFAIL"));
    }

    @Test
    void noReplyIsATimeoutFailure() {
        long start = System.nanoTime();
        DnsAnswer answer = dns().lookup("slow.example.test", Type.TXT);

        assertThat(answer).isInstanceOfSatisfying(DnsAnswer.Failure.class,
                f -> assertThat(f.message()).startsWith("timeout"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void aCnameIsFollowedToTheRecordsOfItsTarget() {
        DnsAnswer answer = dns().lookup("alias.example.test", Type.A);

        assertThat(answer).isInstanceOfSatisfying(DnsAnswer.Records.class,
                r -> assertThat(r.records()).allMatch(rec -> rec.getType() == Type.A).hasSize(2));
    }

    @Test
    void txtStringsArriveAsTheyWerePublished() {
        DnsAnswer answer = dns().lookup("example.test", Type.TXT);

        assertThat(answer).isInstanceOfSatisfying(DnsAnswer.Records.class, r -> assertThat(
                ((TXTRecord) r.records().get(0)).getStrings()).containsExactly("v=spf1 ", "ip4:192.0.2.1 -all"));
    }

    @Test
    void namesAreTakenLiterallySoSpacesAndColonsReachTheWire() {
        DnsAnswer answer = dns().lookup("odd name/with:colon.example.test", Type.A);

        assertThat(answer).isInstanceOf(DnsAnswer.Records.class);
    }

    @Test
    void aNameThatCannotBeOnTheWireIsAFailureWithoutAQuery() {
        int before = server.queryCount();
        DnsAnswer answer = dns().lookup("empty..label.example.test", Type.A);

        assertThat(answer).isInstanceOf(DnsAnswer.Failure.class);
        assertThat(server.queryCount()).isEqualTo(before);
    }
}
