package dev.returnpath.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BouncesSectionTest {
    static final String BASE = "returnpath.bounces.imap { host = \"imap.example.com\", username = \"bounce\", password = \"pw-s3cret\" }, ";

    static String render(String setting) {
        return SectionParsersTest.run(setting, r -> BouncesSection.parse(r).map(i -> i.endpoint() + " " + i.tls() + " "
                + i.folder() + " " + i.after() + " " + i.moveTo() + " " + i.interval().toSeconds() + "s").orElse("off"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            returnpath.bounces.imap.port = 993                               => off
            `BASE`                                                           => imap.example.com:993 IMPLICIT INBOX MOVE returnpath-processed 60s
            `BASE returnpath.bounces.imap.tls = starttls`                    => imap.example.com:143 STARTTLS INBOX MOVE returnpath-processed 60s
            `BASE returnpath.bounces.imap { port = 10993, after = seen, interval = 30s }` => imap.example.com:10993 IMPLICIT INBOX SEEN returnpath-processed 30s
            `BASE returnpath.bounces.imap.tls = none`                        => error: line 1: returnpath.bounces.imap.tls: must be one of implicit | starttls, got "none"
            `BASE returnpath.bounces.imap.move-to = INBOX`                   => error: line 1: returnpath.bounces.imap.move-to: must name a folder other than bounces.imap.folder when after = move
            `BASE returnpath.bounces.imap.ca-file = "/nonexistent/ca.pem"`   => error: line 1: returnpath.bounces.imap.ca-file: cannot read "/nonexistent/ca.pem"
            `returnpath.bounces.imap { host = "imap.example.com", username = "bounce" }` => error: returnpath.bounces.imap.password: required with bounces.imap.host (or password-file)
            `BASE returnpath.bounces.imap.password-file = "/x"`              => error: line 1: returnpath.bounces.imap.password-file: set password or password-file, not both
            """)
    void parses(String setting, String expected) {
        assertThat(render(setting.replace("BASE", BASE))).isEqualTo(expected);
    }

    @Test
    void passwordFileAndNoSecretInToString(@TempDir Path dir) throws Exception {
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "from-file-s3cret\n");
        String setting = "returnpath.bounces.imap { host = \"imap.example.com\", username = \"bounce\", password-file = \""
                + pw + "\" }";
        assertThat(SectionParsersTest.run(setting, r -> BouncesSection.parse(r).orElseThrow().password())).isEqualTo("from-file-s3cret");
        assertThat(SectionParsersTest.run(setting, r -> BouncesSection.parse(r).orElseThrow().toString())).doesNotContain("s3cret");
        assertThat(render("returnpath.bounces.imap { host = \"imap.example.com\", username = \"bounce\", password-file = \""
                + dir.resolve("missing") + "\" }")).startsWith("error: line 1: returnpath.bounces.imap.password-file: cannot read");
    }

    @Test
    void usernameAndPasswordComeFromTheEnvironment(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, "returnpath.bounces.imap.host = \"imap.example.com\"\n");
        BouncesSection.Imap imap = ConfigLoader.load(conf, Map.of("RETURNPATH_BOUNCES_IMAP_USERNAME", "bounce@example.com",
                "RETURNPATH_BOUNCES_IMAP_PASSWORD", "env-s3cret")).bouncesImap().orElseThrow();
        assertThat(imap.username()).isEqualTo("bounce@example.com");
        assertThat(imap.password()).isEqualTo("env-s3cret");
        // a key in the operator's file wins over the variable, as for the smarthost
        Files.writeString(conf, "returnpath.bounces.imap { host = \"imap.example.com\", username = \"other\" }\n");
        assertThat(ConfigLoader.load(conf, Map.of("RETURNPATH_BOUNCES_IMAP_USERNAME", "bounce@example.com",
                "RETURNPATH_BOUNCES_IMAP_PASSWORD", "env-s3cret")).bouncesImap().orElseThrow().username()).isEqualTo("other");
    }

    @Test
    void withoutTheVariablesTheMissingLoginIsAConfigError(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, "returnpath.bounces.imap.host = \"imap.example.com\"\n");
        assertThatThrownBy(() -> ConfigLoader.load(conf, Map.of()))
                .isInstanceOfSatisfying(ConfigException.class,
                        e -> assertThat(e.key()).isEqualTo("returnpath.bounces.imap.username"));
        assertThatThrownBy(() -> ConfigLoader.load(conf, Map.of("RETURNPATH_BOUNCES_IMAP_USERNAME", "bounce")))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo("returnpath.bounces.imap.password");
                    assertThat(e.problem()).isEqualTo("required with bounces.imap.host (or password-file)");
                });
    }

    @Test
    void thePasswordFileGoesThroughSecretsAndTheFullLoader(@TempDir Path dir) throws Exception {
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "  file-s3cret\n");
        Path conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, "returnpath.bounces.imap { host = \"imap.example.com\", password-file = \"" + pw + "\" }\n");
        assertThat(ConfigLoader.load(conf, Map.of("RETURNPATH_BOUNCES_IMAP_USERNAME", "bounce")).bouncesImap().orElseThrow()
                .password()).isEqualTo("file-s3cret");
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "\n");
        Files.writeString(conf, "returnpath.bounces.imap { host = \"imap.example.com\", username = \"u\", password-file = \""
                + empty + "\" }\n");
        assertThatThrownBy(() -> ConfigLoader.load(conf, Map.of()))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo("returnpath.bounces.imap.password-file");
                    assertThat(e.problem()).isEqualTo("\"" + empty + "\" is empty");
                });
    }
}
