package dev.returnpath.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    static final String BASE = """
            returnpath {
              hostname = "relay.example.com"
              domains { "example.com" { return-path = "bounce@example.com" } }
              delivery.smarthost.host = "smtp.example.net"
            }
            """;

    Path write(String text) throws Exception {
        Path f = dir.resolve("returnpath.conf");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void shippedExampleConfigLoads() throws Exception {
        RelayConfig c = ConfigLoader.load(Path.of("conf/returnpath.conf"));
        assertThat(c.listen().port()).isEqualTo(2525);
        assertThat(c.listen().host()).isEqualTo("127.0.0.1");
        assertThat(c.domains()).containsKey("example.com");
        assertThat(c.rewrite().unknownDomain()).isEqualTo(RelayConfig.UnknownDomain.REJECT);
        assertThat(c.delivery().smarthost().tls()).isEqualTo(RelayConfig.SmarthostTls.STARTTLS);
    }

    @Test
    void defaultsAreSafe() throws Exception {
        RelayConfig c = ConfigLoader.load(write(BASE));
        assertThat(c.listen().host()).isEqualTo("127.0.0.1");
        assertThat(c.listen().allowedNetworks()).extracting(Cidr::toString).containsExactly("127.0.0.0/8", "::1/128");
        assertThat(c.listen().maxMessageSize()).isEqualTo(25L * 1024 * 1024);
        assertThat(c.listen().bareNewline()).isEqualTo(RelayConfig.BareNewline.REJECT);
        assertThat(c.delivery().connectTimeout()).hasSeconds(30);
        assertThat(c.delivery().commandTimeout()).hasMinutes(5);
        assertThat(c.spf().onFail()).isEqualTo(RelayConfig.OnFail.TEMPFAIL);
    }

    @Test
    void missingFileIsAnErrorNotAnEmptyConfig() {
        assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("nope.conf")))
                .isInstanceOf(ConfigException.class)
                .hasMessageEndingWith("nope.conf: no such file");
    }

    @Test
    void syntaxErrorNamesFileAndLine() throws Exception {
        Path f = write("returnpath {\n  listen {\n    port = \n  }\n");
        assertThatThrownBy(() -> ConfigLoader.load(f))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> {
                    ConfigException ce = (ConfigException) e;
                    assertThat(ce.file()).endsWith("returnpath.conf");
                    assertThat(ce.line()).isPositive();
                });
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', textBlock = """
            listen.port                 | 70000                   | returnpath.listen.port: must be between 0 and 65535, got 70000
            listen.port                 | "twenty"                | returnpath.listen.port: must be a whole number
            listen.max-message-size     | "ten megabytes"         | returnpath.listen.max-message-size: must be a size such as 25 MiB
            listen.allowed-networks     | ["127.0.0.0/33"]        | returnpath.listen.allowed-networks: prefix length 33 is over 32
            listen.allowed-networks     | ["localhost"]           | returnpath.listen.allowed-networks: not an IP network
            listen.bare-newline         | "fix"                   | returnpath.listen.bare-newline: must be one of reject | normalize, got "fix"
            listen.host                 | "not a host!"           | returnpath.listen.host: "not a host!" is neither a host name nor an IP address
            delivery.connect-timeout    | "soon"                  | returnpath.delivery.connect-timeout: must be a duration such as 30s
            delivery.smarthost.tls      | "maybe"                 | returnpath.delivery.smarthost.tls: must be one of starttls | implicit | none
            delivery.smarthost.port     | 0                       | returnpath.delivery.smarthost.port: must be between 1 and 65535, got 0
            dns.servers                 | ["127.0.0.1:99999"]     | returnpath.dns.servers: "127.0.0.1:99999": port must be 1-65535
            spf.outbound-ips            | ["203.0.113"]           | returnpath.spf.outbound-ips: "203.0.113" is not an IP address
            spf.on-fail                 | "ignore"                | returnpath.spf.on-fail: must be one of tempfail | reject | warn | off
            rewrite.unknown-domain      | "default"               | returnpath.rewrite.unknown-domain: "default" needs rewrite.default-domain
            listen.allowed-network      | ["10.0.0.0/8"]          | returnpath.listen.allowed-network: unknown key
            queue.mode                  | "disk"                  | returnpath.queue.mode: must be one of passthrough | spool
            """)
    void invalidValueIsRefusedWithFileLineAndKey(String key, String value, String expected) throws Exception {
        Path f = write(BASE + "\nreturnpath." + key + " = " + value + "\n");
        assertThatThrownBy(() -> ConfigLoader.load(f))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(f + ":")
                .hasMessageContaining(expected);
        ConfigException e = catchConfig(f);
        assertThat(e.line()).as("the line of the offending key").isEqualTo(7);
    }

    @Test
    void returnPathMustBeAnAddress() throws Exception {
        Path f = write("""
                returnpath {
                  delivery.smarthost.host = "smtp.example.net"
                  domains {
                    "example.com" { return-path = "bounce at example.com" }
                  }
                }
                """);
        ConfigException e = catchConfig(f);
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.key()).isEqualTo("returnpath.domains.\"example.com\".return-path");
        assertThat(e.getMessage()).contains("is not a valid address");
    }

    @Test
    void unknownKeyInsideADomainIsRefused() throws Exception {
        Path f = write("""
                returnpath {
                  delivery.smarthost.host = "smtp.example.net"
                  domains {
                    "example.com" { return-path = "bounce@example.com", retrun-path = "x@example.com" }
                  }
                }
                """);
        assertThat(catchConfig(f).getMessage()).contains("retrun-path: unknown key");
    }

    @Test
    void smarthostIsRequiredInSmarthostMode() throws Exception {
        Path f = write("returnpath.delivery.smarthost.host = null\n");
        assertThat(catchConfig(f).getMessage()).isEqualTo(f + ": returnpath.delivery.smarthost.host: required when delivery.mode = smarthost");
    }

    @Test
    void passwordWithoutTlsIsRefused() throws Exception {
        Path f = write(BASE + """
                returnpath.delivery.smarthost { tls = none, username = "u", password = "secret" }
                """);
        ConfigException e = catchConfig(f);
        assertThat(e.getMessage()).contains("delivery.smarthost.tls").doesNotContain("secret");
    }

    @Test
    void passwordIsNeverPrinted() throws Exception {
        RelayConfig c = ConfigLoader.load(write(BASE + """
                returnpath.delivery.smarthost { username = "u", password = "s3cr3t-value" }
                """));
        assertThat(c.toString()).doesNotContain("s3cr3t-value");
        assertThat(c.delivery().smarthost().password()).contains("s3cr3t-value");
    }

    @Test
    void idnDomainKeysAreStoredInALabelForm() throws Exception {
        RelayConfig c = ConfigLoader.load(write(BASE + """
                returnpath.domains { "bücher.example" { return-path = "bounce@xn--bcher-kva.example" } }
                """));
        assertThat(c.domains()).containsKey("xn--bcher-kva.example");
    }

    private static ConfigException catchConfig(Path f) {
        try {
            ConfigLoader.load(f);
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("no ConfigException for " + f);
    }
}
