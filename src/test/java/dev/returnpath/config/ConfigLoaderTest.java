package dev.returnpath.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

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
    void theShippedExamplesLoadWhenUncommented() throws Exception {
        String text = Files.readString(Path.of("conf/returnpath.conf"))
                .replace("      # from-address = ", "      from-address = ")
                .replace("    # \"shop.example.com\" {", "    \"shop.example.com\" {")
                .replace("    #   return-path = \"bounce+", "      return-path = \"bounce+")
                .replace("    # }\n  }", "    }\n  }")
                .replace("    # { name = ", "    { name = ")
                .replace("    #   from-address = ", "      from-address = ");
        RelayConfig c = ConfigLoader.load(write(text + "\nreturnpath.rewrite.hash-key = \"0123456789abcdef-test\"\n"));
        assertThat(c.rules()).extracting(Rule::label).containsExactly("rule:cron", "rule:contact-form", "rule:old-app");
        assertThat(c.domains().get("shop.example.com").template().fallback()).isEqualTo("bounce@shop.example.com");
        assertThat(c.domains().get("example.com").fromAddress()).contains("noreply@example.com");
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
                .hasMessage(dir.resolve("nope.conf") + ": no such file (the working directory is "
                        + Path.of("").toAbsolutePath() + "); --config FILE reads another file");
    }

    @Test
    void aMissingRelativeFileIsNamedWithTheWorkingDirectoryAndTheOptionThatPicksAnother() {
        assertThatThrownBy(() -> ConfigLoader.load(Path.of("conf/nope.conf")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("conf/nope.conf: no such file (relative to the working directory "
                        + Path.of("").toAbsolutePath() + "); --config FILE reads another file");
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
        Path f = write("returnpath.delivery.mode = smarthost\nreturnpath.delivery.smarthost.host = null\n");
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

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            # one rule, on line 8 of the file                                        | key                                      | message
            { match { client = "10.0.0.0/33" }, keep = true }                        | returnpath.rules.0.match.client          | prefix length 33 is over 32
            { match { client = "intranet" }, keep = true }                           | returnpath.rules.0.match.client          | not an IP network
            { match { sender = "*@*.internal" }, keep = true }                       | returnpath.rules.0.match.sender          | unknown key (allowed: auth-user, client, envelope-sender, header-from, recipient-domain)
            { match { envelope-sender = [] }, keep = true }                          | returnpath.rules.0.match.envelope-sender | an empty list matches nothing
            { match { envelope-sender = "a b@c" }, keep = true }                     | returnpath.rules.0.match.envelope-sender | a pattern has no spaces
            { match { header-from = { x = 1 } }, keep = true }                       | returnpath.rules.0.match.header-from     | must be a string or a list of strings
            { match = "x", keep = true }                                             | returnpath.rules.0.match                 | must be an object
            { retrun-path = "bounce@example.com" }                                   | returnpath.rules.0.retrun-path           | unknown key
            { match { client = "10.0.0.0/8" } }                                      | returnpath.rules.0                       | does nothing
            { return-path = "bounce@example.com", keep = true }                      | returnpath.rules.0.keep                  | not return-path and keep
            { keep = maybe }                                                         | returnpath.rules.0.keep                  | must be true or false
            { return-path = "bounce at example.com" }                                | returnpath.rules.0.return-path           | is not a valid address
            { return-path = "bounce+{id}@example.com" }                              | returnpath.rules.0.return-path           | unknown placeholder {id} (use {local}, {domain} or {hash})
            { return-path = "bounce@{domain}" }                                      | returnpath.rules.0.return-path           | placeholders are allowed in the local part only
            { return-path = "{local}@example.com" }                                  | returnpath.rules.0.return-path           | starts with a placeholder: set fallback
            { return-path = "{local}@example.com", fallback = "{local}@example.com" } | returnpath.rules.0.fallback             | must be a plain address
            { return-path = "bounce+{hash}@example.com" }                            | returnpath.rules.0.return-path           | uses {hash}, which needs a key: set rewrite.hash-key
            { fallback = "bounce@example.com", keep = true }                         | returnpath.rules.0.fallback              | fallback goes with return-path
            { reject = "" }                                                          | returnpath.rules.0.reject                | needs a text
            { reject = "451 5.7.1 mixed" }                                           | returnpath.rules.0.reject                | disagree
            { from-header = rewrite, keep = true }                                   | returnpath.rules.0.from-header           | must be one of keep | align
            { from-header = align, keep = true }                                     | returnpath.rules.0.from-header           | set from-address in this rule (no domain has a from-address)
            { return-path = "b@elsewhere.test", from-header = align }                | returnpath.rules.0.from-header           | the return-path domain elsewhere.test is not listed
            { return-path = "bounce@example.com", from-header = align }              | returnpath.rules.0.from-header           | set from-address in this rule or in domains."example.com"
            { from-header = align, from-address = "noreply@other.test" }             | returnpath.rules.0.from-address          | is not in a domain listed under returnpath.domains
            { from-address = "noreply@example.com", keep = true }                    | returnpath.rules.0.from-address          | is used only with from-header = align
            { strip-headers = ["From"] }                                             | returnpath.rules.0.strip-headers         | From cannot be stripped
            { strip-headers = ["X Bad"] }                                            | returnpath.rules.0.strip-headers         | is not a header field name
            { name = "1st", keep = true }                                            | returnpath.rules.0.name                  | must start with a letter
            "keep"                                                                   | returnpath.rules.0                       | must be an object
            """)
    void invalidRuleIsRefusedWithFileLineAndKey(String rule, String key, String expected) throws Exception {
        Path f = write(BASE + "\nreturnpath.rules = [\n  " + rule + "\n]\n");
        ConfigException e = catchConfig(f);
        assertThat(e.getMessage()).startsWith(f + ":8: " + key + ": ").contains(expected);
        assertThat(e.key()).isEqualTo(key);
        assertThat(e.line()).isEqualTo(8);
    }

    @Test
    void rulesWrittenAsAnObjectAreToldToBeAList() throws Exception {
        Path f = write(BASE + "returnpath.rules { name = \"x\", keep = true }\n");
        ConfigException e = catchConfig(f);
        assertThat(e.key()).isEqualTo("returnpath.rules");
        assertThat(e.line()).isEqualTo(6);
        assertThat(e.getMessage()).contains("must be a list such as [");
    }

    @Test
    void theSecondRuleIsNamedByItsIndexAndItsOwnLine() throws Exception {
        Path f = write(BASE + """
                returnpath.rules = [
                  { name = "cron", match { envelope-sender = "root@*" }, keep = true }
                  {
                    name = "cron"
                    keep = true
                  }
                ]
                """);
        ConfigException e = catchConfig(f);
        assertThat(e.key()).isEqualTo("returnpath.rules.1.name");
        assertThat(e.line()).isEqualTo(9);
        assertThat(e.getMessage()).contains("\"cron\" is the name of an earlier rule");
    }

    @Test
    void rulesAreParsedInOrderWithTheirMatchAndActions() throws Exception {
        RelayConfig c = ConfigLoader.load(write(BASE + """
                returnpath.domains."example.com".from-address = "noreply@example.com"
                returnpath.rewrite.hash-key = "a-key-of-at-least-16-bytes"
                returnpath.rules = [
                  { name = "cron", match { envelope-sender = "root@*.internal", recipient-domain = ["*.example.org"] }, keep = true }
                  { match { client = ["10.0.0.0/8", "fd00::/8"] }, return-path = "bounce+{hash}-{local}={domain}@example.com",
                    from-header = align, strip-headers = ["X-PHP-Originating-Script"] }
                  { match { header-from = "*@gmail.com" }, reject = "451 4.7.1 not now" }
                ]
                """));
        assertThat(c.rules()).extracting(Rule::label).containsExactly("rule:cron", "rule:1", "rule:2");
        assertThat(c.rules().get(0).action()).isInstanceOf(Rule.Action.Keep.class);
        assertThat(c.rules().get(0).match().recipientDomain()).extracting(Glob::pattern).containsExactly("*.example.org");
        Rule second = c.rules().get(1);
        assertThat(second.alignTo()).contains("noreply@example.com");
        assertThat(((Rule.Action.SetReturnPath) second.action()).returnPath().fallback()).isEqualTo("bounce@example.com");
        assertThat(second.match().client()).hasSize(2);
        assertThat(second.stripHeaders()).containsExactly("X-PHP-Originating-Script");
        assertThat(c.rules().get(2).action()).isEqualTo(new Rule.Action.Reject(451, "4.7.1", "not now"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            return-path = "{local}={domain}@example.com"                                 | returnpath.domains."example.com".return-path  | starts with a placeholder: set fallback
            return-path = "bounce+{hash}@example.com"                                    | returnpath.domains."example.com".return-path  | uses {hash}, which needs a key
            return-path = "bounce@example.com", fallback = "x"                           | returnpath.domains."example.com".fallback     | must be a plain address
            return-path = "bounce@example.com", from-address = "noreply@example.org"     | returnpath.domains."example.com".from-address | is not in example.com or below it
            return-path = "bounce+{local}-with-a-literal-so-long-that-it-cannot-fit-ever-at-all-whatever@example.com" | returnpath.domains."example.com".return-path | over 64 octets
            """)
    void invalidDomainTemplateIsRefusedWithFileLineAndKey(String settings, String key, String expected) throws Exception {
        Path f = write("""
                returnpath {
                  delivery.smarthost.host = "smtp.example.net"
                  domains {
                    "example.com" { %s }
                  }
                }
                """.formatted(settings));
        ConfigException e = catchConfig(f);
        assertThat(e.key()).isEqualTo(key);
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).contains(expected);
    }

    @Test
    void alignTakesTheOnlyFromAddressAndRefusesToGuessBetweenSeveral() throws Exception {
        String rule = "returnpath.rules = [ { match { client = \"10.0.0.0/8\" }, from-header = align } ]\n";
        RelayConfig one = ConfigLoader.load(write(BASE + rule
                + "returnpath.domains.\"example.com\".from-address = \"noreply@example.com\"\n"));
        assertThat(one.rules().get(0).alignTo()).contains("noreply@example.com");

        Path f = write(BASE + rule + """
                returnpath.domains."example.com".from-address = "noreply@example.com"
                returnpath.domains."example.org" { return-path = "bounce@example.org", from-address = "noreply@example.org" }
                """);
        ConfigException e = catchConfig(f);
        assertThat(e.key()).isEqualTo("returnpath.rules.0.from-header");
        assertThat(e.getMessage()).endsWith("set from-address in this rule (several domains have one: "
                + "noreply@example.com, noreply@example.org)");
    }

    @Test
    void hashKeyMustBeLongAndIsNeverPrinted() throws Exception {
        Path f = write(BASE + "returnpath.rewrite.hash-key = \"short-s3cret\"\n");
        ConfigException e = catchConfig(f);
        assertThat(e.key()).isEqualTo("returnpath.rewrite.hash-key");
        assertThat(e.getMessage()).contains("at least 16 bytes").doesNotContain("short-s3cret");

        RelayConfig c = ConfigLoader.load(write(BASE + "returnpath.rewrite.hash-key = \"long-enough-s3cret-value\"\n"));
        assertThat(c.rewrite().hashKey()).isPresent();
        assertThat(c.toString()).doesNotContain("long-enough-s3cret-value");
    }

    @Test
    void templatesAreAcceptedWithTheirFallback() throws Exception {
        RelayConfig c = ConfigLoader.load(write("""
                returnpath {
                  delivery.smarthost.host = "smtp.example.net"
                  rewrite.hash-key = "a-key-of-at-least-16-bytes"
                  domains {
                    "example.com" { return-path = "bounce+{hash}-{local}={domain}@example.com", from-address = "noreply@mail.example.com" }
                    "example.org" { return-path = "{local}={domain}@bounces.example.org", fallback = "bounces@example.org" }
                  }
                }
                """));
        assertThat(c.domains().get("example.com").template().fallback()).isEqualTo("bounce@example.com");
        assertThat(c.domains().get("example.com").template().usesHash()).isTrue();
        assertThat(c.domains().get("example.com").fromAddress()).contains("noreply@mail.example.com");
        assertThat(c.domains().get("example.org").template().fallback()).isEqualTo("bounces@example.org");
    }

    @Test
    void aFragmentPastedAfterTheBlockIsRefusedNotIgnored() throws Exception {
        Path f = write(BASE + """
                delivery {
                  mode = smarthost
                }
                """);
        ConfigException e = catchConfig(f);
        assertThat(e.file()).isEqualTo(f.toString());
        assertThat(e.line()).isEqualTo(6);
        assertThat(e.key()).isEqualTo("delivery");
        assertThat(e.getMessage()).isEqualTo(f + ":6: delivery: unknown top-level key: every setting goes inside "
                + "returnpath { } (write returnpath.delivery, or move it into the block)");
    }

    @Test
    void serveStopsWithExit78OnAKeyOutsideTheBlock() throws Exception {
        Path f = write(BASE + "delivery.mode = smarthost\n");
        assertThat(dev.returnpath.cli.Main.execute("serve", "--config", f.toString()))
                .isEqualTo(dev.returnpath.cli.Main.EXIT_CONFIG).isEqualTo(78);
    }

    @Test
    void aTopLevelKeyThatIsNoSectionIsRefusedToo() throws Exception {
        Path f = write("relayhost = \"[127.0.0.1]:2525\"\n" + BASE);
        ConfigException e = catchConfig(f);
        assertThat(e.line()).isEqualTo(1);
        assertThat(e.getMessage()).isEqualTo(f + ":1: relayhost: unknown top-level key: every setting goes inside returnpath { }");
    }

    @Test
    void whatTypesafeMergesItselfIsNotAnUnknownKey() throws Exception {
        // system properties (java.*, user.*, os.*) are layered over the file, and ${?VAR} reads
        // the environment: neither is a key the operator wrote
        assertThat(System.getProperties()).containsKey("java.home");
        RelayConfig c = ConfigLoader.load(write(BASE + "returnpath.hostname = ${?RETURNPATH_TEST_UNSET_VARIABLE}\n"),
                Map.of("HOME", "/root"));
        assertThat(c.hostname()).isEqualTo("relay.example.com");
    }

    @Test
    void aSystemPropertyUnderReturnpathIsNotAKeyOfTheFile() throws Exception {
        // Main sets -Dreturnpath.log.target for every command; Typesafe layers system properties
        // over the file, so the tree has it, and a load must not call it an unknown key
        String before = System.getProperty("returnpath.log.target");
        System.setProperty("returnpath.log.target", "System.err");
        com.typesafe.config.ConfigFactory.invalidateCaches();
        try {
            RelayConfig c = ConfigLoader.load(write(BASE), Map.of());
            assertThat(c.hostname()).isEqualTo("relay.example.com");
        } finally {
            if (before == null) {
                System.clearProperty("returnpath.log.target");
            } else {
                System.setProperty("returnpath.log.target", before);
            }
            com.typesafe.config.ConfigFactory.invalidateCaches();
        }
    }

    @Test
    void theDottedFormOfAKeyIsInsideTheBlock() throws Exception {
        RelayConfig c = ConfigLoader.load(write(BASE + "returnpath.delivery.mode = smarthost\n"));
        assertThat(c.delivery().mode()).isEqualTo(RelayConfig.DeliveryMode.SMARTHOST);
    }

    @Test
    void aDurationOutOfRangeIsWrittenAsTheFileWritesIt() throws Exception {
        Path f = write(BASE + "returnpath.listen.idle-timeout = 5ms\n");
        assertThat(catchConfig(f).getMessage())
                .isEqualTo(f + ":6: returnpath.listen.idle-timeout: must be between 1s and 1h, got 5ms");
    }

    /** Every RETURNPATH_* variable the documentation names, the value a test gives it, and where it lands. */
    static final Map<String, Map.Entry<String, Function<RelayConfig, Object>>> VARIABLES = Map.of(
            "RETURNPATH_HOSTNAME", Map.entry("relay.example.org", RelayConfig::hostname),
            "RETURNPATH_LISTEN_HOST", Map.entry("0.0.0.0", c -> c.listen().host()),
            "RETURNPATH_MANAGEMENT_HOST", Map.entry("0.0.0.0", c -> c.management().host()),
            "RETURNPATH_QUEUE_DIR", Map.entry("/var/spool/returnpath", c -> c.queue().dir().toString()),
            "RETURNPATH_HASH_KEY", Map.entry("0123456789abcdef-from-env",
                    c -> c.rewrite().hashKey().map(k -> new String(k.bytes(), StandardCharsets.UTF_8)).orElse("")),
            "RETURNPATH_SMARTHOST_USERNAME", Map.entry("relay@example.com", c -> c.delivery().smarthost().username().orElse("")),
            "RETURNPATH_SMARTHOST_PASSWORD", Map.entry("env-s3cret", c -> c.delivery().smarthost().password().orElse("")),
            "RETURNPATH_BOUNCES_IMAP_USERNAME", Map.entry("bounce@example.com",
                    c -> c.bouncesImap().map(BouncesSection.Imap::username).orElse("")),
            "RETURNPATH_BOUNCES_IMAP_PASSWORD", Map.entry("imap-env-s3cret",
                    c -> c.bouncesImap().map(BouncesSection.Imap::password).orElse("")));

    @Test
    void everyDocumentedVariableTakesEffectWithTheShippedFile() throws Exception {
        Map<String, String> env = new java.util.HashMap<>();
        VARIABLES.forEach((name, v) -> env.put(name, v.getKey()));
        // the shipped file leaves bounces.imap off; the operator turns it on with a host
        Path f = write(Files.readString(Path.of("conf/returnpath.conf")) + "\nreturnpath.bounces.imap.host = \"imap.example.com\"\n");
        RelayConfig c = ConfigLoader.load(f, env);
        VARIABLES.forEach((name, v) -> assertThat(v.getValue().apply(c)).as(name).isEqualTo(v.getKey()));
    }

    @Test
    void withoutTheVariablesTheShippedFileKeepsTheLoopbackDefaults() throws Exception {
        RelayConfig c = ConfigLoader.load(Path.of("conf/returnpath.conf"), Map.of());
        assertThat(c.listen().host()).isEqualTo("127.0.0.1");
        assertThat(c.management().host()).isEqualTo("127.0.0.1");
        assertThat(c.queue().dir()).isEqualTo(Path.of("spool"));
        assertThat(c.rewrite().hashKey()).isEmpty();
        assertThat(c.delivery().smarthost().username()).isEmpty();
    }

    @Test
    void theVariableTableCoversEveryVariableTheDocumentationNames() throws Exception {
        Set<String> documented = new TreeSet<>();
        Pattern name = Pattern.compile("RETURNPATH_[A-Z0-9]+(?:_[A-Z0-9]+)*");
        try (Stream<Path> docs = Files.isDirectory(Path.of("docs")) ? Files.walk(Path.of("docs")) : Stream.empty()) {
            Stream.concat(Stream.of(Path.of("README.md"), Path.of("Dockerfile"), Path.of("conf/returnpath.conf"),
                            Path.of("src/main/resources/reference.conf")), docs)
                    .filter(Files::isRegularFile)
                    .forEach(p -> {
                        try {
                            Matcher m = name.matcher(Files.readString(p));
                            while (m.find()) {
                                documented.add(m.group());
                            }
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
        }
        assertThat(documented).as("RETURNPATH_* names in README.md, docs/, the Dockerfile and the confs").isNotEmpty();
        assertThat(VARIABLES.keySet()).as("the variables this test sets").containsAll(documented);
        String reference = Files.readString(Path.of("src/main/resources/reference.conf"));
        VARIABLES.keySet().forEach(v -> assertThat(reference).as("reference.conf reads " + v).contains("${?" + v + "}"));
    }

    @Test
    void aBadValueFromTheEnvironmentNamesTheVariable() throws Exception {
        Path f = write(BASE);
        assertThatThrownBy(() -> ConfigLoader.load(f, Map.of("RETURNPATH_MANAGEMENT_HOST", "not a host!")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("environment variable RETURNPATH_MANAGEMENT_HOST: returnpath.management.host: "
                        + "\"not a host!\" is neither a host name nor an IP address");
    }

    @Test
    void aKeyInTheFileWinsOverItsVariable() throws Exception {
        RelayConfig c = ConfigLoader.load(write(BASE + "returnpath.management.host = \"::1\"\n"),
                Map.of("RETURNPATH_MANAGEMENT_HOST", "0.0.0.0"));
        assertThat(c.management().host()).isEqualTo("::1");
        assertThat(c.management().endpoint()).hasToString("[::1]:8025");
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
