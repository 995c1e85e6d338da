package dev.returnpath.ops;

import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.cleanup.SpfGuards;
import dev.returnpath.testkit.Await;
import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Grafana dashboard and the Prometheus alert rules under conf/monitoring use only metrics
 * and labels that a running relay exports: a relay in spool mode carries mail that is relayed,
 * deferred, bounced and rejected, with the SPF guard on, and the names in both files are looked
 * up in a scrape of its /metrics over loopback.
 */
class MonitoringRulesTest {
    static final Path DASHBOARD = Path.of("conf/monitoring/returnpath-dashboard.json");
    static final Path ALERTS = Path.of("conf/monitoring/returnpath-alerts.yaml");
    /** Labels Prometheus itself adds to every series, and the buckets' bound. */
    static final Set<String> SCRAPE_LABELS = Set.of("instance", "job", "le");

    static final Pattern METRIC = Pattern.compile("\\breturnpath_[a-z_]+\\b");
    static final Pattern BY = Pattern.compile("\\b(?:by|without)\\s*\\(([^)]*)\\)");
    static final Pattern MATCHER = Pattern.compile("[{,]\\s*([a-z_]+)\\s*(?:=~|!~|!=|=)\\s*\\\\?\"");
    static final Pattern SAMPLE = Pattern.compile("^(returnpath_[a-z_]+)(?:\\{([^}]*)})? ", Pattern.MULTILINE);
    static final Pattern LABEL = Pattern.compile("([a-z_]+)=\"");

    @TempDir
    Path spool;

    @Test
    void everyMetricAndLabelTheDashboardAndTheAlertsUseIsExported() throws Exception {
        Map<String, Set<String>> exported = scrapeOfABusyRelay();
        for (Path file : List.of(DASHBOARD, ALERTS)) {
            String text = Files.readString(file);
            Set<String> used = matches(METRIC, text);
            assertThat(used).as("metrics used by %s", file).isNotEmpty();
            assertThat(exported.keySet()).as("metrics exported, for %s", file).containsAll(used);

            Set<String> labels = new TreeSet<>();
            Matcher by = BY.matcher(text);
            while (by.find()) {
                for (String l : by.group(1).split(",")) {
                    labels.add(l.strip());
                }
            }
            labels.addAll(matches(MATCHER, text, 1));
            labels.removeAll(SCRAPE_LABELS);
            Set<String> exportedLabels = new TreeSet<>();
            used.forEach(m -> exportedLabels.addAll(exported.get(m)));
            assertThat(exportedLabels).as("labels of the metrics %s uses", file).containsAll(labels);
        }
    }

    @Test
    void theDashboardAndTheAlertsCoverWhatAnOperatorWatches() throws Exception {
        String dashboard = Files.readString(DASHBOARD);
        String alerts = Files.readString(ALERTS);
        assertThat(matches(METRIC, dashboard)).contains("returnpath_messages_total", "returnpath_upstream_replies_total",
                "returnpath_spf_results_total", "returnpath_spool_messages", "returnpath_spool_oldest_seconds",
                "returnpath_doctor_check");
        assertThat(dashboard).contains("sum by (outcome)", "sum by (class, cause)", "sum by (result)");
        assertThat(alerts)
                .contains("alert: ReturnpathSpoolMessageOld", "alert: ReturnpathDeferralRate", "alert: ReturnpathDoctorFail")
                .contains("returnpath_messages_total{outcome=\"deferred\"}", "returnpath_doctor_check) == 2");
    }

    /** Metric family (and its _bucket/_sum/_count samples) to the label names it was seen with. */
    Map<String, Set<String>> scrapeOfABusyRelay() throws Exception {
        ZoneResolver zones = ZoneResolver.of("/relay/guard.zone");
        SpfGuards guards = new SpfGuards(d -> DnsjavaDns.over(zones, Duration.ofSeconds(2)), Clock.systemUTC());
        String hocon = """
                returnpath.domains { "soft.example" { return-path = "bounce@soft.example" } }
                returnpath.spf { outbound-ips = ["203.0.113.5"], on-fail = warn }
                returnpath.queue { mode = spool, first-retry = 1h }
                """;
        try (Upstream up = new Upstream(); TestRelay relay = new TestRelay(up.port(), spool, hocon, guards)) {
            up.rcptReply = r -> r.startsWith("auth@") ? "550 5.7.26 This mail is unauthenticated"
                    : r.startsWith("later@") ? "451 4.7.1 greylisted, try again later" : null;
            try (SmtpClient c = relay.client()) {
                for (String[] m : new String[][] {
                        {"a@gmail.test", "n@example.com"}, {"auth@gmail.test", "n@example.com"},
                        {"later@gmail.test", "n@soft.example"}, {"b@gmail.test", "n@other.test"}}) {
                    String reply = c.send("apache@web01.internal", List.of(m[0]), MetricsAndManagementTest.mail(m[1]).getBytes());
                    assertThat(reply).startsWith(m[1].endsWith("other.test") ? "550 5.7.1" : "250");
                }
            }
            Await.until(Duration.ofSeconds(20), "three delivery attempts", () -> up.rcptAttempts.size() >= 3);
            relay.metrics.doctor(Map.of(Map.entry("spf.pass", "soft.example"), 2, Map.entry("ptr.fcrdns", "203.0.113.5"), 0));
            Management.Readiness readiness = new Management.Readiness();
            try (Management m = new Management("127.0.0.1", 0, relay.metrics, readiness, () -> true)) {
                Map<String, Set<String>> seen = new TreeMap<>();
                Await.until(Duration.ofSeconds(10), "the deferral counted", () -> {
                    String body = get(m.port());
                    seen.clear();
                    Matcher s = SAMPLE.matcher(body);
                    while (s.find()) {
                        Set<String> labels = seen.computeIfAbsent(s.group(1), k -> new TreeSet<>());
                        if (s.group(2) != null) {
                            labels.addAll(matches(LABEL, s.group(2), 1));
                        }
                    }
                    return body.contains("returnpath_messages_total{outcome=\"deferred\"")
                            && body.contains("returnpath_spool_messages 1.0");
                });
                // every event of the relay is in the scrape, not only the families' names
                String body = get(m.port());
                assertThat(body).contains("outcome=\"queued\"", "outcome=\"relayed\"", "outcome=\"bounced\"",
                        "outcome=\"rejected\"", "returnpath_spf_results_total{result=\"pass\"}",
                        "returnpath_spf_results_total{result=\"softfail\"}", "class=\"4xx\"", "class=\"5xx\"",
                        "returnpath_doctor_check{check=\"spf.pass\",subject=\"soft.example\"} 2.0");
                Map<String, Set<String>> families = new HashMap<>(seen);
                return families;
            }
        }
    }

    static String get(int port) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            return r.body();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Set<String> matches(Pattern p, String text) {
        return matches(p, text, 0);
    }

    static Set<String> matches(Pattern p, String text, int group) {
        Set<String> out = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            out.add(m.group(group));
        }
        return out;
    }
}
