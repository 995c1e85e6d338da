package dev.returnpath.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecretsTest {
    @TempDir
    Path dir;

    private static RelayConfig.Smarthost parse(String setting) throws ConfigException {
        return DeliverySection.parse(ConfigLoader.reader(setting, "test.conf", Map.of())).smarthost();
    }

    @Test
    void passwordFileContentIsTrimmedAndRereadOnEachParse() throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "  s3cret\n");
        String setting = "returnpath.delivery.smarthost { host = \"x.example\", username = \"u\", password-file = \"" + f + "\" }";
        assertThat(parse(setting).password()).contains("s3cret");
        Files.writeString(f, "rotated\n");
        assertThat(parse(setting).password()).contains("rotated");
    }

    @Test
    void inlinePasswordStillWorks() throws Exception {
        assertThat(parse("returnpath.delivery.smarthost { host = \"x.example\", username = \"u\", password = \"p\" }").password())
                .contains("p");
    }

    @Test
    void bothSetIsAnErrorNamingFileLineAndKey() throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "fromfile");
        assertThatThrownBy(() -> parse("returnpath.delivery.smarthost {\n host = \"x.example\", username = \"u\"\n password = \"inline\"\n password-file = \"" + f + "\" }"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.file()).isEqualTo("test.conf");
                    assertThat(e.line()).isEqualTo(4);
                    assertThat(e.key()).isEqualTo("returnpath.delivery.smarthost.password-file");
                    assertThat(e.problem()).isEqualTo("set password or password-file, not both");
                    assertThat(e.getMessage()).doesNotContain("inline").doesNotContain("fromfile");
                });
    }

    @Test
    void unreadableOrEmptyFileIsAnErrorWithoutTheContent() throws Exception {
        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> parse("returnpath.delivery.smarthost { host = \"x.example\", username = \"u\", password-file = \"" + missing + "\" }"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo("returnpath.delivery.smarthost.password-file");
                    assertThat(e.problem()).isEqualTo("cannot read \"" + missing + "\"");
                });
        Path empty = dir.resolve("empty");
        Files.writeString(empty, " \n");
        assertThatThrownBy(() -> parse("returnpath.delivery.smarthost { host = \"x.example\", username = \"u\", password-file = \"" + empty + "\" }"))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problem()).isEqualTo("\"" + empty + "\" is empty"));
    }

    @Test
    void passwordFileWithoutUsernameNamesTheFileKey() throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "p");
        assertThatThrownBy(() -> parse("returnpath.delivery.smarthost { host = \"x.example\", password-file = \"" + f + "\" }"))
                .isInstanceOfSatisfying(ConfigException.class,
                        e -> assertThat(e.key()).isEqualTo("returnpath.delivery.smarthost.password-file"));
    }

    @Test
    void theFullLoaderAcceptsPasswordFile() throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "loaded\n");
        Path conf = dir.resolve("returnpath.conf");
        Files.writeString(conf, "returnpath.delivery.smarthost { host = \"x.example\", username = \"u\", password-file = \"" + f + "\" }\n");
        assertThat(ConfigLoader.load(conf, Map.of()).delivery().smarthost().password()).contains("loaded");
    }
}
