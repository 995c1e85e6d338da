package dev.returnpath.config;

import dev.returnpath.config.RelayConfig.OAuthProvider;
import dev.returnpath.config.RelayConfig.SmarthostAuth;
import dev.returnpath.dkim.DkimKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code delivery.smarthost.auth} and the {@code oauth} block: what loads, and what is an error naming the key. */
class OAuthSectionTest {
    static final String S = "returnpath.delivery.smarthost";

    @TempDir
    Path dir;

    private static RelayConfig.Smarthost parse(String setting) throws ConfigException {
        return DeliverySection.parse(ConfigLoader.reader(setting, "test.conf", Map.of())).smarthost();
    }

    static String m365(String oauthExtra) {
        return S + " { host = \"smtp.office365.com\", username = \"relay@example.com\", auth = xoauth2\n"
                + " oauth { provider = microsoft, tenant = \"contoso.onmicrosoft.com\", client-id = \"app-id\"" + oauthExtra + " } }";
    }

    @Test
    void microsoftResolvesTheTenantsEndpointAndTheExchangeScope() throws Exception {
        RelayConfig.Smarthost sm = parse(m365(", client-secret = \"s3cret-VALUE\""));
        assertThat(sm.auth()).isEqualTo(SmarthostAuth.XOAUTH2);
        RelayConfig.OAuth o = sm.oauth().orElseThrow();
        assertThat(o.provider()).isEqualTo(OAuthProvider.MICROSOFT);
        assertThat(o.tokenUrl()).hasToString("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        assertThat(o.scope()).isEqualTo("https://outlook.office365.com/.default");
        assertThat(o.clientSecret()).contains("s3cret-VALUE");
        assertThat(sm.toString()).contains("clientSecret=***").doesNotContain("s3cret-VALUE");
    }

    @Test
    void theClientSecretMayComeFromAFile() throws Exception {
        Path f = dir.resolve("secret");
        Files.writeString(f, "from-the-file\n");
        assertThat(parse(m365(", client-secret-file = \"" + f + "\"")).oauth().orElseThrow().clientSecret()).contains("from-the-file");
        assertThatThrownBy(() -> parse(m365(", client-secret = \"x\", client-secret-file = \"" + f + "\"")))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo(S + ".oauth.client-secret-file");
                    assertThat(e.getMessage()).doesNotContain("from-the-file");
                });
    }

    @Test
    void tokenUrlOverridesTheEndpointAndMustBeHttps() throws Exception {
        assertThat(parse(m365(", client-secret = \"s\", token-url = \"https://127.0.0.1:8443/token\"")).oauth().orElseThrow().tokenUrl())
                .hasToString("https://127.0.0.1:8443/token");
        assertThatThrownBy(() -> parse(m365(", client-secret = \"s\", token-url = \"http://127.0.0.1/token\"")))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo(S + ".oauth.token-url");
                    assertThat(e.problem()).contains("not an https URL");
                });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // setting | key | problem starts with
            "username = \"u@example.com\", auth = xoauth2 | smarthost.oauth.provider | required with auth = xoauth2",
            "auth = xoauth2, oauth { provider = generic, token-url = \"https://t.example/token\", client-id = c, client-secret = s, scope = x } | smarthost.username | required with auth = xoauth2",
            "username = \"u@example.com\", auth = xoauth2, password = p, oauth { provider = generic, token-url = \"https://t.example/token\", client-id = c, client-secret = s, scope = x } | smarthost.password | auth = xoauth2 takes no password",
            "username = \"u@example.com\", auth = xoauth2, tls = none, oauth { provider = generic, token-url = \"https://t.example/token\", client-id = c, client-secret = s, scope = x } | smarthost.tls | AUTH XOAUTH2 would send the token in clear text",
            "username = \"u@example.com\", auth = xoauth2, oauth { provider = microsoft, client-id = c, client-secret = s } | smarthost.oauth.tenant | required with provider = microsoft",
            "username = \"u@example.com\", auth = xoauth2, oauth { provider = microsoft, tenant = t.example, client-secret = s } | smarthost.oauth.client-id | required with provider = microsoft",
            "username = \"u@example.com\", auth = xoauth2, oauth { provider = microsoft, tenant = t.example, client-id = c } | smarthost.oauth.client-secret | required with provider = microsoft",
            "username = \"u@example.com\", auth = xoauth2, oauth { provider = google } | smarthost.oauth.service-account-file | required with provider = google",
            "username = \"u@example.com\", auth = xoauth2, oauth { provider = generic, client-id = c, client-secret = s, scope = x } | smarthost.oauth.token-url | required with provider = generic",
            "username = \"u@example.com\", auth = xoauth2, oauth { provider = generic, token-url = \"https://t.example/token\", client-id = c, client-secret = s } | smarthost.oauth.scope | required with provider = generic",
            "username = \"u@example.com\", password = p, oauth { provider = generic, token-url = \"https://t.example/token\", client-id = c, client-secret = s, scope = x } | smarthost.oauth.provider | an oauth block needs auth = xoauth2",
            "username = \"u@example.com\", password = p, auth = cram-md5 | smarthost.auth | ",
            "username = \"u@example.com\", auth = xoauth2, oauth { provider = yahoo } | smarthost.oauth.provider | ",
    })
    void invalidSettingsNameTheKey(String setting, String key, String problem) {
        assertThatThrownBy(() -> parse(S + " { host = \"smtp.example\", " + setting + " }"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo("returnpath.delivery." + key);
                    if (problem != null) {
                        assertThat(e.problem()).startsWith(problem);
                    }
                    assertThat(e.getMessage()).doesNotContain("client-secret = s");
                });
    }

    @Test
    void aRoutesSmarthostBlockTakesTheSameKeysAndItsErrorsNameThatBlock() throws Exception {
        String block = "returnpath.x.smarthost { host = \"smtp.office365.com\", port = 587, tls = starttls, username = \"relay@example.com\", auth = xoauth2\n"
                + " oauth { provider = microsoft, client-id = c, client-secret = s } }";
        assertThatThrownBy(() -> DeliverySection.smarthost(ConfigLoader.reader(block, "test.conf", Map.of()), "returnpath.x.smarthost.",
                java.util.Optional.empty(), ""))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo("returnpath.x.smarthost.oauth.tenant"));
        RelayConfig.Smarthost sm = DeliverySection.smarthost(ConfigLoader.reader(block.replace("client-id", "tenant = t.example, client-id"),
                "test.conf", Map.of()), "returnpath.x.smarthost.", java.util.Optional.empty(), "");
        assertThat(sm.oauth().orElseThrow().tokenUrl()).hasToString("https://login.microsoftonline.com/t.example/oauth2/v2.0/token");
    }

    @Test
    void aPasswordFromTheEnvironmentIsRefusedWithXoauth2AndTheErrorSaysWhereItComesFrom() {
        assertThatThrownBy(() -> ConfigLoader.load(writeConf(m365(", client-secret = s")),
                Map.of("RETURNPATH_SMARTHOST_PASSWORD", "old-basic-PASSWORD")))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo(S + ".password");
                    assertThat(e.problem()).contains("RETURNPATH_SMARTHOST_PASSWORD");
                    assertThat(e.getMessage()).doesNotContain("old-basic-PASSWORD");
                });
    }

    Path writeConf(String text) throws Exception {
        Path f = dir.resolve("returnpath.conf");
        Files.writeString(f, "returnpath.hostname = \"relay.example.com\"\n" + text + "\n");
        return f;
    }

    @Test
    void plainAndLoginAreKeptAsSet() throws Exception {
        assertThat(parse(S + " { host = \"h.example\", username = u, password = p, auth = login }").auth()).isEqualTo(SmarthostAuth.LOGIN);
        assertThat(parse(S + " { host = \"h.example\", username = u, password = p }").auth()).isEqualTo(SmarthostAuth.AUTO);
    }

    Path serviceAccount(String json) throws Exception {
        Path f = dir.resolve("sa.json");
        Files.writeString(f, json);
        return f;
    }

    static String keyJson() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return DkimKey.pem(g.generateKeyPair().getPrivate()).replace("\n", "\\n");
    }

    String google(Path file) {
        return S + " { host = \"smtp.gmail.com\", username = \"sender@example.net\", auth = xoauth2\n"
                + " oauth { provider = google, service-account-file = \"" + file + "\" } }";
    }

    @Test
    void googleReadsTheServiceAccountKeyFile() throws Exception {
        Path f = serviceAccount("{\"type\": \"service_account\", \"client_email\": \"relay@p.iam.gserviceaccount.com\",\n"
                + " \"private_key\": \"" + keyJson() + "\", \"token_uri\": \"https://oauth2.googleapis.com/token\"}");
        RelayConfig.OAuth o = parse(google(f)).oauth().orElseThrow();
        assertThat(o.tokenUrl()).hasToString("https://oauth2.googleapis.com/token");
        assertThat(o.scope()).isEqualTo("https://mail.google.com/");
        assertThat(o.serviceAccount().orElseThrow().clientEmail()).isEqualTo("relay@p.iam.gserviceaccount.com");
        assertThat(o.serviceAccount().orElseThrow().privateKey().getAlgorithm()).isEqualTo("RSA");
        assertThat(o.toString()).contains("privateKey=***").doesNotContain("BEGIN");
        // a reload that reads the same file gives an equal record: the delivery (its pool, its token) is kept
        assertThat(parse(google(f))).isEqualTo(parse(google(f)));
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
            "{\"client_email\": \"a@b\", \"token_uri\": \"https://t.example/token\"} | has no private_key",
            "{\"private_key\": \"KEY\", \"token_uri\": \"https://t.example/token\"} | has no client_email",
            "{\"client_email\": \"a@b\", \"private_key\": \"KEY\"} | has no token_uri",
            "{\"client_email\": \"a@b\", \"private_key\": \"not a key\", \"token_uri\": \"https://t.example/token\"} | private_key is not a PKCS#8 PEM key",
            "{\"client_email\": \"a@b\", \"private_key\": \"KEY\", \"token_uri\": \"http://t.example/token\"} | token_uri is not an https URL",
            "{\"client_email\": \"a@b\", | is not JSON",
            "[1, 2] | is not a JSON object",
    })
    void aBadServiceAccountFileIsAnErrorNamingTheFileAndNeverTheKey(String json, String problem) throws Exception {
        String key = keyJson();
        Path f = serviceAccount(json.replace("KEY", key));
        assertThatThrownBy(() -> parse(google(f)))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo(S + ".oauth.service-account-file");
                    assertThat(e.problem()).startsWith("\"" + f + "\"").contains(problem);
                    assertThat(e.getMessage()).doesNotContain("BEGIN PRIVATE KEY").doesNotContain(key.substring(40, 80));
                });
        Path missing = dir.resolve("missing.json");
        assertThatThrownBy(() -> parse(google(missing))).hasMessageContaining("cannot read \"" + missing + "\"");
    }

    @Test
    void theWholeFileLoadsWithTheOAuthKeys() throws Exception {
        RelayConfig c = ConfigLoader.parseString("""
                returnpath {
                  hostname = "relay.example.com"
                  delivery {
                    mode = smarthost
                    smarthost { host = "smtp.office365.com", port = 587, tls = starttls, username = "relay@example.com",
                                auth = xoauth2,
                                oauth { provider = microsoft, tenant = "contoso.onmicrosoft.com", client-id = "app", client-secret = "s" } }
                  }
                }
                """, "full.conf");
        assertThat(c.delivery().smarthost().oauth()).isPresent();
        assertThatThrownBy(() -> ConfigLoader.parseString("returnpath.delivery.smarthost.oauth.secret = x", "full.conf"))
                .hasMessageContaining("unknown key");
    }
}
