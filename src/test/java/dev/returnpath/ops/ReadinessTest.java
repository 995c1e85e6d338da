package dev.returnpath.ops;

import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * /readyz means "it relays": 503 until the first upstream check has run, and green only while the
 * relay's own listener answers an SMTP session (a real one, over loopback) with its own name.
 */
class ReadinessTest {
    @TempDir
    Path spool;

    record Got(int status, String body) {}

    static Got readyz(Management m) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.port() + "/readyz")).build(),
                HttpResponse.BodyHandlers.ofString());
        return new Got(r.statusCode(), r.body());
    }

    @Test
    void readyzIs503UntilTheFirstCheckRanThen200WhenTheListenerAnswers() throws Exception {
        try (Upstream up = new Upstream(); TestRelay relay = new TestRelay(up.port(), spool, "")) {
            Management.Readiness readiness = new Management.Readiness();
            try (Management m = new Management("127.0.0.1", 0, new Metrics(), readiness, () -> true)) {
                Got before = readyz(m);
                assertThat(before.status()).isEqualTo(503);
                assertThat(before.body()).contains("not ready", "config: not loaded", "listener: not probed yet",
                        "upstream: not checked yet").doesNotContain("reachable");

                readiness.configLoaded(true);
                readiness.listener(new ListenerProbe("0.0.0.0", relay.port(), "relay.test", Duration.ofSeconds(2)));
                Got listening = readyz(m);
                assertThat(listening.status()).as(listening.body()).isEqualTo(503);
                assertThat(listening.body()).contains("listener: 127.0.0.1:" + relay.port() + " answered: 220 relay.test",
                        "upstream: not checked yet");

                readiness.upstream(true, "");
                Got ready = readyz(m);
                assertThat(ready.status()).as(ready.body()).isEqualTo(200);
                assertThat(ready.body()).startsWith("ready\n").contains("upstream: reachable");

                readiness.upstream(false, "connect to smtp.example.net:587 failed");
                assertThat(readyz(m).status()).isEqualTo(503);
                assertThat(readyz(m).body()).contains("upstream: unreachable: connect to smtp.example.net:587 failed");
            }
        }
    }

    @Test
    void aListenerThatIsDownMakesItNotReady() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Management.Readiness readiness = new Management.Readiness();
        readiness.configLoaded(true);
        readiness.upstream(true, "");
        readiness.listener(new ListenerProbe("127.0.0.1", port, "relay.test", Duration.ofSeconds(1)));
        try (Management m = new Management("127.0.0.1", 0, new Metrics(), readiness, () -> true)) {
            Got got = readyz(m);
            assertThat(got.status()).isEqualTo(503);
            assertThat(got.body()).contains("listener: no SMTP session: 127.0.0.1:" + port);
        }
    }

    @Test
    void anotherSmtpServerOnThePortIsNotTakenForTheRelay() throws Exception {
        try (Upstream other = new Upstream()) {
            ListenerProbe.Result r = new ListenerProbe("127.0.0.1", other.port(), "relay.test", Duration.ofSeconds(2)).session();
            assertThat(r).isInstanceOf(ListenerProbe.Failed.class);
            assertThat(r.text()).contains("is not this relay", "does not name relay.test");
        }
    }

    @Test
    void aClientOutsideAllowedNetworksStillSeesTheListenerAnswer() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), spool, "returnpath.listen.allowed-networks = [\"192.0.2.0/24\"]")) {
            ListenerProbe.Result r = new ListenerProbe("127.0.0.1", relay.port(), "relay.test", Duration.ofSeconds(2)).session();
            assertThat(r).isInstanceOf(ListenerProbe.Answered.class);
            assertThat(r.text()).contains("refuses this client: 554");
        }
    }

    @Test
    void wildcardListenAddressesAreProbedOnLoopback() {
        assertThat(ListenerProbe.connectHost("0.0.0.0")).isEqualTo("127.0.0.1");
        assertThat(ListenerProbe.connectHost("[::]")).isEqualTo("::1");
        assertThat(ListenerProbe.connectHost("::")).isEqualTo("::1");
        assertThat(ListenerProbe.connectHost("127.0.0.5")).isEqualTo("127.0.0.5");
    }
}
