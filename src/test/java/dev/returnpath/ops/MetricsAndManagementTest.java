package dev.returnpath.ops;

import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Traffic through a relay, then a scrape of /metrics over HTTP, and the health endpoints. */
class MetricsAndManagementTest {
    @TempDir
    Path spool;

    static String mail(String from) {
        return "From: " + from + "\r\nSubject: x\r\n\r\nbody\r\n";
    }

    @Test
    void metricsCountWhatHappenedToTheMessages() throws Exception {
        try (Upstream up = new Upstream(); TestRelay relay = new TestRelay(up.port(), spool, "")) {
            up.rcptReply = r -> r.startsWith("auth@") ? "550 5.7.26 This mail is unauthenticated" : null;
            try (SmtpClient c = relay.client()) {
                assertThat(c.send("apache@web01.internal", List.of("a@gmail.test"), mail("n@example.com").getBytes())).startsWith("250");
                assertThat(c.send("apache@web01.internal", List.of("b@gmail.test"), mail("n@example.com").getBytes())).startsWith("250");
                assertThat(c.send("apache@web01.internal", List.of("c@gmail.test"), mail("n@other.test").getBytes())).startsWith("550 5.7.1");
                assertThat(c.send("apache@web01.internal", List.of("auth@gmail.test"), mail("n@example.com").getBytes())).startsWith("550 5.7.26");
            }
            Management.Readiness readiness = new Management.Readiness();
            readiness.configLoaded(true);
            readiness.listener(new ListenerProbe("127.0.0.1", relay.port(), "relay.test", Duration.ofSeconds(2)));
            readiness.upstream(true, "");
            readiness.doctorFails(List.of("spf.pass example.com: softfail for 203.0.113.5"));
            relay.metrics.doctor(Map.of(Map.entry("spf.pass", "example.com"), 2));
            try (Management m = new Management("127.0.0.1", 0, relay.metrics, readiness, () -> true)) {
                HttpClient http = HttpClient.newHttpClient();
                String metrics = get(http, m.port(), "/metrics").body();
                assertThat(metrics)
                        .contains("returnpath_messages_total{outcome=\"relayed\",reason=\"sent\"} 2.0")
                        .contains("returnpath_messages_total{outcome=\"rejected\",reason=\"unknown-domain:reject\"} 1.0")
                        .contains("returnpath_messages_total{outcome=\"bounced\",reason=\"upstream\"} 1.0")
                        .contains("returnpath_rewrites_total{rule=\"domain:example.com\"} 3.0")
                        .contains("returnpath_upstream_replies_total{cause=\"\",class=\"2xx\"} 2.0")
                        .contains("returnpath_upstream_replies_total{cause=\"unauthenticated\",class=\"5xx\"} 1.0")
                        .contains("returnpath_upstream_seconds_count 3")
                        .contains("returnpath_doctor_check{check=\"spf.pass\",subject=\"example.com\"} 2.0");
                HttpResponse<String> ready = get(http, m.port(), "/readyz");
                assertThat(ready.statusCode()).isEqualTo(200);
                assertThat(ready.body()).contains("doctor FAIL: spf.pass example.com");
                assertThat(get(http, m.port(), "/healthz").statusCode()).isEqualTo(200);
                readiness.upstream(false, "connect to smtp.example.net:587 failed");
                assertThat(get(http, m.port(), "/readyz").statusCode()).isEqualTo(503);
            }
        }
    }

    private static HttpResponse<String> get(HttpClient http, int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
