package dev.returnpath.bounce;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class ReportParserTest {

    static byte[] sample(String name) throws IOException {
        try (InputStream in = ReportParserTest.class.getResourceAsStream("/bounces/" + name)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    .replace("\r\n", "\n").replace("\n", "\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void postfixDsnWithHeadersOnly() throws IOException {
        List<Report> rs = ReportParser.parse(sample("postfix-dsn.eml"));
        assertThat(rs).hasSize(1);
        Report r = rs.get(0);
        assertThat(r.kind()).isEqualTo("dsn");
        assertThat(r.action()).isEqualTo("failed");
        assertThat(r.status()).isEqualTo("5.1.1");
        assertThat(r.recipient()).isEqualTo("nobody@example.net");
        assertThat(r.reportingMta()).isEqualTo("mx.example.net");
        assertThat(r.diagnostic()).startsWith("550 5.1.1 <nobody@example.net>: Recipient address rejected");
        assertThat(r.originalFrom()).contains("bounce@example.com");
        assertThat(r.bounceTo()).contains("bounce@example.com");
        assertThat(r.returnedHeaders()).contains("(returnpath) with ESMTP id 18C2F3A4B5C6D");
        assertThat(BounceClass.of(r).bounceClass()).isEqualTo(BounceClass.MAILBOX);
    }

    @Test
    void gmailUnauthenticatedKeepsNoBody() throws IOException {
        Report r = ReportParser.parse(sample("gmail-5.7.26.eml")).get(0);
        assertThat(r.status()).isEqualTo("5.7.26");
        assertThat(r.recipient()).isEqualTo("x@gmail.com");
        assertThat(r.reportingMta()).isEqualTo("googlemail.com");
        assertThat(r.diagnostic()).contains("sender is unauthenticated");
        assertThat(r.bounceTo()).contains("bounce+k3qz7d2m-apache=web01.internal@example.com");
        assertThat(r.returnedHeaders()).contains("Message-ID: <abc124@web01.internal>").doesNotContain("a visitor wrote");
        BounceClass.Verdict v = BounceClass.of(r);
        assertThat(v.bounceClass()).isEqualTo(BounceClass.AUTH);
        assertThat(v.cause()).isEqualTo("unauthenticated");
    }

    @Test
    void microsoftWithEnvelopeId() throws IOException {
        Report r = ReportParser.parse(sample("microsoft-5.7.515.eml")).get(0);
        assertThat(r.status()).isEqualTo("5.7.515");
        assertThat(r.recipient()).isEqualTo("someone@outlook.com");
        assertThat(r.envelopeId()).contains("18C2F3A4B5C70");
        assertThat(r.reportingMta()).isEqualTo("BN8NAM11HT123.mail.protection.outlook.com");
        assertThat(BounceClass.of(r).cause()).isEqualTo("outlook-auth");
    }

    @Test
    void arfComplaint() throws IOException {
        Report r = ReportParser.parse(sample("arf-rfc5965.eml")).get(0);
        assertThat(r.kind()).isEqualTo("arf");
        assertThat(r.action()).isEqualTo("complaint");
        assertThat(r.feedbackType()).contains("abuse");
        assertThat(r.recipient()).isEqualTo("user@example.org");
        assertThat(r.originalFrom()).contains("bounce@example.com");
        assertThat(r.reportingMta()).isEqualTo("mail.example.org");
        assertThat(r.returnedHeaders()).doesNotContain("Spam Spam");
        assertThat(BounceClass.of(r).bounceClass()).isEqualTo(BounceClass.SPAM);
    }

    @Test
    void oldEximPlainText() throws IOException {
        List<Report> rs = ReportParser.parse(sample("exim-old.eml"));
        assertThat(rs).hasSize(1);
        Report r = rs.get(0);
        assertThat(r.kind()).isEqualTo("text");
        assertThat(r.action()).isEqualTo("failed");
        assertThat(r.status()).isEqualTo("5.2.1");
        assertThat(r.recipient()).isEqualTo("gone@oldhost.example");
        assertThat(r.reportingMta()).isEqualTo("mx.oldhost.example");
        assertThat(r.diagnostic()).contains("550 5.2.1 mailbox disabled");
        assertThat(r.returnedHeaders()).contains("id 18C2F3A4B5C72").doesNotContain("Hello.");
        assertThat(BounceClass.of(r).bounceClass()).isEqualTo(BounceClass.MAILBOX);
    }

    @Test
    void nonReportsAreNotReports() throws IOException {
        assertThat(ReportParser.parse(sample("not-a-report.eml"))).isEmpty();
        assertThat(ReportParser.parse("garbage\r\n\r\n".getBytes())).isEmpty();
        assertThat(ReportParser.parse(new byte[0])).isEmpty();
        String mp = "From: a@example.org\r\nSubject: hi\r\nContent-Type: multipart/report; report-type=delivery-status;"
                + " boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nno status part\r\n--b--\r\n";
        assertThat(ReportParser.parse(mp.getBytes())).isEmpty();
    }

    @Test
    void classes() {
        assertThat(BounceClass.of(report("5.7.1", "550 5.7.1 rejected by policy")).bounceClass()).isEqualTo(BounceClass.POLICY);
        assertThat(BounceClass.of(report("5.7.1", "550 5.7.1 message looks like spam")).bounceClass()).isEqualTo(BounceClass.SPAM);
        assertThat(BounceClass.of(report("5.4.4", "no route")).bounceClass()).isEqualTo(BounceClass.OTHER);
        assertThat(BounceClass.of(report("5.7.27", "spf")).bounceClass()).isEqualTo(BounceClass.AUTH);
    }

    static Report report(String status, String diagnostic) {
        return new Report("dsn", "failed", status, "r@example.net", "mx.example.net", diagnostic, Optional.empty(),
                Optional.empty(), "", Optional.empty(), Optional.empty());
    }
}
