package dev.returnpath.bounce;

import dev.returnpath.config.HashKey;
import dev.returnpath.config.ReturnPathTemplate;
import dev.returnpath.rewrite.ReturnPaths;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class AttributionTest {
    static final HashKey KEY = new HashKey("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII));
    static final ReturnPathTemplate TEMPLATE =
            ReturnPathTemplate.parse("bounce+{hash}-{local}={domain}@example.com", Optional.empty());
    final Attribution attribution = new Attribution(List.of(TEMPLATE), Optional.of(KEY));

    @Test
    void ourReceivedLine() throws IOException {
        Report r = ReportParser.parse(ReportParserTest.sample("postfix-dsn.eml")).get(0);
        Attribution.Result a = attribution.attribute(r);
        assertThat(a.via()).isEqualTo(Attribution.Via.RECEIVED);
        assertThat(a.queueId()).contains("18C2F3A4B5C6D");
        assertThat(a.originalFrom()).isEmpty();
    }

    @Test
    void originalEnvelopeId() throws IOException {
        Attribution.Result a = attribution.attribute(ReportParser.parse(ReportParserTest.sample("microsoft-5.7.515.eml")).get(0));
        assertThat(a.via()).isEqualTo(Attribution.Via.ENVID);
        assertThat(a.queueId()).contains("18C2F3A4B5C70");
    }

    @Test
    void verifiedHashGivesTheApp() throws IOException {
        String hash = ReturnPaths.expand(TEMPLATE, "apache@web01.internal", Optional.of(KEY)).address();
        assertThat(hash).startsWith("bounce+").endsWith("-apache=web01.internal@example.com");
        byte[] raw = new String(ReportParserTest.sample("gmail-5.7.26.eml"), StandardCharsets.UTF_8)
                .replace("bounce+k3qz7d2m-apache=web01.internal@example.com", hash).getBytes(StandardCharsets.UTF_8);
        Attribution.Result a = attribution.attribute(ReportParser.parse(raw).get(0));
        assertThat(a.via()).isEqualTo(Attribution.Via.HASH);
        assertThat(a.originalFrom()).contains("apache@web01.internal");
        assertThat(a.queueId()).isEmpty();
    }

    @Test
    void forgedHashIsNotAttributed() throws IOException {
        Report r = ReportParser.parse(ReportParserTest.sample("gmail-5.7.26.eml")).get(0);
        Attribution.Result a = attribution.attribute(r);
        assertThat(a.attributed()).isFalse();
        assertThat(a.originalFrom()).isEmpty();
        // the right hash of another sender does not vouch for this one
        String other = ReturnPaths.hash(KEY, "root@web01.internal");
        assertThat(attribution.fromTemplate("bounce+" + other + "-apache=web01.internal@example.com")).isEmpty();
        assertThat(attribution.fromTemplate("bounce+" + other + "-root=web01.internal@example.com")).contains("root@web01.internal");
        // without the key nothing is attributed by address
        assertThat(new Attribution(List.of(TEMPLATE), Optional.empty())
                .fromTemplate("bounce+" + other + "-root=web01.internal@example.com")).isEmpty();
        // another domain than the template's
        assertThat(attribution.fromTemplate("bounce+" + other + "-root=web01.internal@example.org")).isEmpty();
    }

    @Test
    void forgedReceivedLineOfAnotherShapeIsIgnored() {
        Report r = new Report("dsn", "failed", "5.1.1", "x@example.net", "mx", "", Optional.of("not-ours"),
                Optional.empty(), "Received: by relay.example.com with ESMTP id 18C2F3A4B5C6D\n", Optional.empty(),
                Optional.empty());
        assertThat(attribution.attribute(r).attributed()).isFalse();
    }
}
