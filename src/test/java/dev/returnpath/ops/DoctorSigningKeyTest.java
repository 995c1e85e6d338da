package dev.returnpath.ops;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.UpstreamProbe;
import dev.returnpath.dkim.DkimKey;
import dev.returnpath.dns.DnsjavaDns;
import dev.returnpath.dns.ZoneResolver;
import dev.returnpath.ops.Doctor.Check;
import dev.returnpath.ops.Doctor.Status;
import dev.returnpath.testkit.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Name;
import org.xbill.DNS.Zone;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.returnpath.ops.DoctorTest.find;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The doctor's check of the keys returnpath signs with: the selector's published record must be
 * the public half of the configured private key. Keys are made in the test, the zone is the
 * doctor's zone file plus the records the test publishes, answered by dnsjava.
 */
class DoctorSigningKeyTest {
    @TempDir
    Path dir;
    Upstream plain;

    @BeforeEach
    void start() {
        plain = new Upstream();
    }

    @AfterEach
    void stop() {
        plain.close();
    }

    Path key(String name, DkimKey.Algorithm a, int bits) throws Exception {
        KeyPair p = DkimKey.generate(a, bits);
        Path f = dir.resolve(name + ".pem");
        Files.writeString(f, DkimKey.pem(p.getPrivate()));
        return f;
    }

    List<Check> doctor(String dkim, String... records) throws Exception {
        RelayConfig cfg = ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.good.example"
                  domains { "good.example" { return-path = "bounce@good.example", dkim = [%s] } }
                  spf.outbound-ips = ["203.0.113.5"]
                  delivery { mode = smarthost, smarthost { host = "127.0.0.1", port = %d, tls = none } }
                }
                """.formatted(dkim, plain.port()), "doctor.conf");
        String zone;
        try (InputStream in = getClass().getResourceAsStream("/doctor/doctor.zone")) {
            zone = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
        Path file = dir.resolve("doctor.zone");
        Files.writeString(file, zone + "\n" + String.join("\n", records) + "\n");
        ZoneResolver resolver = new ZoneResolver(new ArrayList<>(List.of(new Zone(Name.root, file.toString()))));
        return new Doctor(cfg, DnsjavaDns.over(resolver, Duration.ofSeconds(2)), UpstreamProbe::probe).run();
    }

    static String txt(String name, String record) {
        StringBuilder b = new StringBuilder(name).append(". TXT (");
        for (int i = 0; i < record.length(); i += 255) {
            b.append(" \"").append(record, i, Math.min(record.length(), i + 255)).append('"');
        }
        return b.append(" )").toString();
    }

    @Test
    void thePublishedPublicHalfOfEachKeyPasses() throws Exception {
        Path rsa = key("rsa", DkimKey.Algorithm.RSA_SHA256, 2048);
        Path ed = key("ed", DkimKey.Algorithm.ED25519_SHA256, 0);
        DkimKey r = DkimKey.load("good.example", "rp", rsa);
        DkimKey e = DkimKey.load("good.example", "ed", ed);
        List<Check> checks = doctor("{ selector = rp, key-file = \"" + rsa + "\" }, { selector = ed, key-file = \"" + ed + "\" }",
                txt("rp._domainkey.good.example", r.record()), txt("ed._domainkey.good.example", e.record()));
        Check cr = find(checks, "dkim.key", "rp._domainkey.good.example");
        assertThat(cr.status()).isEqualTo(Status.PASS);
        assertThat(cr.found()).contains("k=rsa").contains("public half of " + rsa);
        Check ce = find(checks, "dkim.key", "ed._domainkey.good.example");
        assertThat(ce.status()).isEqualTo(Status.PASS);
        assertThat(ce.found()).contains("k=ed25519");
        assertThat(checks).noneMatch(c -> c.check().equals("dkim.key-size"));
    }

    @Test
    void aRecordOfAnotherKeyFailsWithTheRecordToPublish() throws Exception {
        Path mine = key("mine", DkimKey.Algorithm.RSA_SHA256, 2048);
        Path other = key("other", DkimKey.Algorithm.RSA_SHA256, 2048);
        DkimKey m = DkimKey.load("good.example", "rp", mine);
        DkimKey o = DkimKey.load("good.example", "rp", other);
        Check c = find(doctor("{ selector = rp, key-file = \"" + mine + "\" }", txt("rp._domainkey.good.example", o.record())),
                "dkim.key", "rp._domainkey.good.example");
        assertThat(c.status()).isEqualTo(Status.FAIL);
        assertThat(c.found()).contains("not the public half of " + mine);
        assertThat(c.fix()).contains(m.record());
    }

    @Test
    void aMissingRecordFails() throws Exception {
        Path ed = key("ed", DkimKey.Algorithm.ED25519_SHA256, 0);
        DkimKey e = DkimKey.load("good.example", "ed", ed);
        Check c = find(doctor("{ selector = ed, key-file = \"" + ed + "\" }"), "dkim.key", "ed._domainkey.good.example");
        assertThat(c.status()).isEqualTo(Status.FAIL);
        assertThat(c.found()).contains("no DKIM record at ed._domainkey.good.example");
        assertThat(c.fix()).isEqualTo("publish TXT at ed._domainkey.good.example: \"" + e.record() + "\"");
        assertThat(Doctor.worst(List.of(c))).isEqualTo(Status.FAIL);
    }

    @Test
    void anEd25519RecordPublishedAsRsaFails() throws Exception {
        Path ed = key("ed", DkimKey.Algorithm.ED25519_SHA256, 0);
        DkimKey e = DkimKey.load("good.example", "ed", ed);
        Check c = find(doctor("{ selector = ed, key-file = \"" + ed + "\" }",
                        txt("ed._domainkey.good.example", "v=DKIM1; p=" + e.publicKeyBase64())),
                "dkim.key", "ed._domainkey.good.example");
        assertThat(c.status()).isEqualTo(Status.FAIL);
        assertThat(c.found()).contains("k=rsa key");
    }

    @Test
    void anRsaKeyUnder2048BitsIsAWarningEvenWhenPublished() throws Exception {
        Path rsa = key("small", DkimKey.Algorithm.RSA_SHA256, 1024);
        DkimKey r = DkimKey.load("good.example", "rp", rsa);
        List<Check> checks = doctor("{ selector = rp, key-file = \"" + rsa + "\" }", txt("rp._domainkey.good.example", r.record()));
        assertThat(find(checks, "dkim.key", "rp._domainkey.good.example").status()).isEqualTo(Status.PASS);
        Check size = find(checks, "dkim.key-size", "rp._domainkey.good.example");
        assertThat(size.status()).isEqualTo(Status.WARN);
        assertThat(size.found()).isEqualTo("1024-bit RSA key in " + rsa);
    }
}
