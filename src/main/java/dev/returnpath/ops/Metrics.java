package dev.returnpath.ops;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.DoubleSupplier;

/**
 * The relay's Prometheus metrics, with names that stay fixed so that dashboards can rely on
 * them. One instance per relay (its own registry, no static state), so that tests can run two
 * relays in one JVM.
 */
public final class Metrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter messages;
    private final Counter rewrites;
    private final Counter spfResults;
    private final Counter upstreamReplies;
    private final Counter dkimSignatures;
    private final Counter bounces;
    private final Histogram upstreamSeconds;
    private final Counter spoolRecordsLost;
    private volatile java.util.function.Supplier<int[]> spoolCorrupt = () -> new int[2];
    private final Map<String, Integer> doctor = new ConcurrentHashMap<>();
    private volatile DoubleSupplier spoolMessages = () -> 0;
    private volatile DoubleSupplier spoolOldestSeconds = () -> 0;

    public Metrics() {
        messages = Counter.builder().name("returnpath_messages_total")
                .help("Messages by outcome (relayed, queued, deferred, bounced, rejected) and reason")
                .labelNames("outcome", "reason").register(registry);
        rewrites = Counter.builder().name("returnpath_rewrites_total")
                .help("Rewrite decisions by the rule that made them").labelNames("rule").register(registry);
        spfResults = Counter.builder().name("returnpath_spf_results_total")
                .help("SPF guard results").labelNames("result").register(registry);
        upstreamReplies = Counter.builder().name("returnpath_upstream_replies_total")
                .help("Upstream replies per recipient by class (2xx, 4xx, 5xx, none) and cause")
                .labelNames("class", "cause").register(registry);
        dkimSignatures = Counter.builder().name("returnpath_dkim_signatures_total")
                .help("DKIM signatures made, by d= domain and selector").labelNames("domain", "selector").register(registry);
        bounces = Counter.builder().name("returnpath_bounces_total")
                .help("Reports read from the Return-Path mailbox, by the original sender's domain and class "
                        + "(auth, policy, mailbox, spam, other)").labelNames("domain", "class").register(registry);
        upstreamSeconds = Histogram.builder().name("returnpath_upstream_seconds")
                .help("Time to deliver one message upstream")
                .classicOnly()
                .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
                .register(registry);
        GaugeWithCallback.builder().name("returnpath_spool_messages").help("Messages in the spool")
                .callback(cb -> cb.call(spoolMessages.getAsDouble())).register(registry);
        GaugeWithCallback.builder().name("returnpath_spool_oldest_seconds").help("Age of the oldest spooled message")
                .callback(cb -> cb.call(spoolOldestSeconds.getAsDouble())).register(registry);
        GaugeWithCallback.builder().name("returnpath_spool_corrupt_files")
                .help("What queue.dir/corrupt/ holds: damaged journal segments (kind journal-segment) and messages "
                        + "whose envelope could not be read (kind envelope); non-zero until the operator removes them")
                .labelNames("kind")
                .callback(cb -> {
                    int[] c = spoolCorrupt.get();
                    cb.call(c[0], "journal-segment");
                    cb.call(c[1], "envelope");
                }).register(registry);
        spoolRecordsLost = Counter.builder().name("returnpath_spool_journal_records_lost_total")
                .help("Journal records found damaged at start and not recovered (each damage counts at least 1)")
                .register(registry);
        GaugeWithCallback.builder().name("returnpath_doctor_check")
                .help("Doctor check states: 0 pass, 1 warn, 2 fail").labelNames("check", "subject")
                .callback(cb -> doctor.forEach((k, v) -> {
                    int sep = k.indexOf('\u0000');
                    cb.call(v, k.substring(0, sep), k.substring(sep + 1));
                })).register(registry);
    }

    public void message(String outcome, String reason) {
        messages.labelValues(outcome, reason).inc();
    }

    public void rewrite(String rule) {
        rewrites.labelValues(rule).inc();
    }

    public void spf(String result) {
        spfResults.labelValues(result).inc();
    }

    public void upstreamReply(int code, String cause) {
        String cls = code >= 200 && code < 600 ? (code / 100) + "xx" : "none";
        upstreamReplies.labelValues(cls, cause).inc();
    }

    public void dkimSignature(String domain, String selector) {
        dkimSignatures.labelValues(domain, selector).inc();
    }

    public void bounce(String domain, String bounceClass) {
        bounces.labelValues(domain, bounceClass).inc();
    }

    public void upstreamSeconds(double seconds) {
        upstreamSeconds.observe(seconds);
    }

    public void spool(DoubleSupplier messages, DoubleSupplier oldestSeconds) {
        this.spoolMessages = messages;
        this.spoolOldestSeconds = oldestSeconds;
    }

    /**
     * The spool's damage: {@code corrupt} gives (journal segments, envelopes) kept in
     * {@code queue.dir/corrupt/} at each scrape; {@code recordsLost} is what this start's
     * recovery could not read.
     */
    public void spoolDamage(java.util.function.Supplier<int[]> corrupt, long recordsLost) {
        this.spoolCorrupt = corrupt;
        spoolRecordsLost.inc(recordsLost);
    }

    /** Replaces every doctor state with {@code states} (check, subject) to 0, 1 or 2. */
    public void doctor(Map<Map.Entry<String, String>, Integer> states) {
        doctor.clear();
        states.forEach((k, v) -> doctor.put(k.getKey() + '\u0000' + k.getValue(), v));
    }

    public void writeTo(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
    }
}
