package dev.returnpath.delivery;

import dev.returnpath.testkit.SmtpClient;
import dev.returnpath.testkit.TestRelay;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Upstream TLS and AUTH against a real SubEtha upstream with test certificates. */
class SmarthostTlsTest {
    @TempDir
    Path spool;

    static String pem(String name) throws Exception {
        return Path.of(SmarthostTlsTest.class.getResource("/tls/" + name).toURI()).toString();
    }

    static String send(TestRelay relay) throws Exception {
        try (SmtpClient c = relay.client()) {
            return c.send("apache@web01.internal", List.of("user@gmail.test"),
                    "From: noreply@example.com\r\nSubject: tls\r\n\r\nhello\r\n".getBytes());
        }
    }

    static String smarthost(String host, String tls, String caFile) {
        return "returnpath.delivery.smarthost { host = \"" + host + "\", tls = " + tls
                + (caFile == null ? "" : ", ca-file = \"" + caFile + "\"") + " }";
    }

    @Test
    void starttlsWithAPrivateCaDelivers() throws Exception {
        try (Upstream up = new Upstream("/tls/localhost.p12", true, null, null);
             TestRelay relay = new TestRelay(up.port(), spool, smarthost("localhost", "starttls", pem("localhost.pem")))) {
            assertThat(send(relay)).startsWith("250 2.0.0");
            assertThat(up.received).hasSize(1);
        }
    }

    @Test
    void starttlsRequiredNeverFallsBackToPlaintext() throws Exception {
        try (Upstream up = new Upstream();
             TestRelay relay = new TestRelay(up.port(), spool, smarthost("localhost", "starttls", pem("localhost.pem")))) {
            assertThat(send(relay)).startsWith("451 4.7.5 ").containsIgnoringCase("starttls");
            assertThat(up.received).isEmpty();
        }
    }

    @Test
    void certificateForAnotherHostIsRefused() throws Exception {
        try (Upstream up = new Upstream("/tls/other.p12", true, null, null);
             TestRelay relay = new TestRelay(up.port(), spool, smarthost("localhost", "starttls", pem("other.pem")))) {
            assertThat(send(relay)).startsWith("451 4.7.5 TLS with localhost:");
            assertThat(up.received).isEmpty();
        }
    }

    @Test
    void selfSignedCertificateOutsideTheTrustStoreIsRefused() throws Exception {
        try (Upstream up = new Upstream("/tls/localhost.p12", true, null, null);
             TestRelay relay = new TestRelay(up.port(), spool, smarthost("localhost", "starttls", null))) {
            assertThat(send(relay)).startsWith("451 4.7.5 TLS with localhost:");
            assertThat(up.received).isEmpty();
        }
    }

    @Test
    void authWithTheConfiguredCredentialsDelivers() throws Exception {
        try (Upstream up = new Upstream("/tls/localhost.p12", true, "app", "s3cret");
             TestRelay relay = new TestRelay(up.port(), spool, smarthost("localhost", "starttls", pem("localhost.pem"))
                     + "\nreturnpath.delivery.smarthost { username = \"app\", password = \"s3cret\" }")) {
            assertThat(send(relay)).startsWith("250 2.0.0");
            assertThat(up.authenticated).containsExactly("app");
        }
    }

    @Test
    void failedAuthIsATemporaryFailureForTheApp() throws Exception {
        try (Upstream up = new Upstream("/tls/localhost.p12", true, "app", "s3cret");
             TestRelay relay = new TestRelay(up.port(), spool, smarthost("localhost", "starttls", pem("localhost.pem"))
                     + "\nreturnpath.delivery.smarthost { username = \"app\", password = \"wrong\" }")) {
            String r = send(relay);
            assertThat(r).startsWith("451 4.7.8 authentication with localhost:").doesNotContain("wrong");
            assertThat(up.received).isEmpty();
        }
    }
}
