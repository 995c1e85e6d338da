package dev.returnpath.config;

import dev.returnpath.dkim.DkimKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code domains."D".dkim}: keys read at load, and every way a key can be wrong, named. */
class DkimSectionTest {
    @TempDir
    Path dir;

    Path conf(String dkim) throws Exception {
        Path f = dir.resolve("returnpath.conf");
        Files.writeString(f, """
                returnpath {
                  hostname = "relay.example.com"
                  domains { "example.com" { return-path = "bounce@example.com"
                    dkim = %s } }
                  delivery.smarthost.host = "smtp.example.net"
                }
                """.formatted(dkim));
        return f;
    }

    Path key(String name, DkimKey.Algorithm a, int bits) throws Exception {
        KeyPair kp = DkimKey.generate(a, bits);
        Path p = dir.resolve(name);
        Files.writeString(p, DkimKey.pem(kp.getPrivate()));
        return p;
    }

    @Test
    void twoKeysLoadInOrderWithTheirAlgorithms() throws Exception {
        Path rsa = key("rsa.pem", DkimKey.Algorithm.RSA_SHA256, 2048);
        Path ed = key("ed.pem", DkimKey.Algorithm.ED25519_SHA256, 0);
        RelayConfig c = ConfigLoader.load(conf("[{ selector = \"rp2026\", key-file = \"" + rsa + "\" },"
                + " { selector = \"ed2026\", key-file = \"" + ed + "\" }]"));
        var keys = c.domains().get("example.com").dkim();
        assertThat(keys).extracting(DkimKey::label).containsExactly("rp2026.example.com", "ed2026.example.com");
        assertThat(keys).extracting(DkimKey::algorithm)
                .containsExactly(DkimKey.Algorithm.RSA_SHA256, DkimKey.Algorithm.ED25519_SHA256);
        assertThat(keys.get(0).bits()).isEqualTo(2048);
    }

    @Test
    void aMissingKeyFileIsAConfigErrorNamingTheKey() throws Exception {
        Path f = conf("[{ selector = \"rp2026\", key-file = \"" + dir.resolve("absent.pem") + "\" }]");
        assertThatThrownBy(() -> ConfigLoader.load(f)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("dkim[0].key-file").hasMessageContaining("absent.pem");
    }

    @Test
    void anRsaKeyUnder1024BitsIsRefused() throws Exception {
        Path weak = key("weak.pem", DkimKey.Algorithm.RSA_SHA256, 512);
        assertThatThrownBy(() -> ConfigLoader.load(conf("[{ selector = \"old\", key-file = \"" + weak + "\" }]")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("1024");
    }

    @Test
    void aKeyFileThatIsNotAKeyIsRefusedWithoutPrintingIt() throws Exception {
        Path junk = dir.resolve("junk.pem");
        Files.writeString(junk, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n-----END PRIVATE KEY-----\n");
        assertThatThrownBy(() -> ConfigLoader.load(conf("[{ selector = \"s\", key-file = \"" + junk + "\" }]")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("dkim[0].key-file")
                .hasMessageNotContaining("c2VjcmV0");
    }

    @Test
    void aSelectorListedTwiceAndAnUnknownKeyAreRefused() throws Exception {
        Path rsa = key("rsa.pem", DkimKey.Algorithm.RSA_SHA256, 1024);
        assertThatThrownBy(() -> ConfigLoader.load(conf("[{ selector = \"a\", key-file = \"" + rsa + "\" },"
                + " { selector = \"a\", key-file = \"" + rsa + "\" }]")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("listed twice");
        assertThatThrownBy(() -> ConfigLoader.load(conf("[{ selector = \"a\", keyfile = \"" + rsa + "\" }]")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("unknown key");
    }
}
