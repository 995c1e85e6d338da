package dev.returnpath.config;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** A reload's one line names the keys as the file writes them, the smarthost's host and port included. */
class ConfigDiffTest {
    static final String BASE = """
            returnpath {
              hostname = "relay.example.com"
              domains { "example.com" { return-path = "bounce@example.com" } }
              delivery.smarthost.host = "smtp.example.net"
            }
            """;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # the change                                              => the summary
            returnpath.delivery.smarthost.port = 2525                 => changed: delivery.smarthost.port (587 -> 2525)
            returnpath.delivery.smarthost.host = "smtp2.example.net"  => changed: delivery.smarthost.host
            returnpath.delivery.smarthost.host = null                 => changed: delivery.smarthost.host
            returnpath.delivery.smarthost { host = "[::1]", port = 25 } => changed: delivery.smarthost.host, delivery.smarthost.port (587 -> 25)
            returnpath.listen.host = "::1"                            => needs a restart to take full effect: listen.host
            returnpath.management.port = 9025                         => needs a restart to take full effect: management.port (8025 -> 9025)
            returnpath.dns.servers = ["127.0.0.1:5353"]               => changed: dns.servers (0 -> 1 entries)
            returnpath.queue.first-retry = 90s                        => changed: queue.first-retry (5m -> 90s)
            returnpath.listen.idle-timeout = 1h                       => needs a restart to take full effect: listen.idle-timeout (5m -> 1h)
            returnpath.delivery.smarthost.auth = login                => changed: delivery.smarthost.auth (auto -> login)
            """)
    void aReloadNamesWhatChangedByItsKey(String change, String summary) throws Exception {
        RelayConfig before = ConfigLoader.parseString(BASE, "test.conf");
        RelayConfig after = ConfigLoader.parseString(BASE + change + "\n", "test.conf");
        assertThat(ConfigDiff.between(before, after).summary()).isEqualTo(summary);
    }

    @org.junit.jupiter.api.Test
    void aRotatedClientSecretIsAChangeOfTheOAuthBlockAndTheLineNeverShowsIt() throws Exception {
        String m365 = BASE + """
                returnpath.delivery.smarthost { username = "relay@example.com", auth = xoauth2,
                  oauth { provider = microsoft, tenant = "contoso.onmicrosoft.com", client-id = "app", client-secret = "%s" } }
                """;
        RelayConfig before = ConfigLoader.parseString(m365.formatted("old-SECRET-1"), "test.conf");
        RelayConfig after = ConfigLoader.parseString(m365.formatted("new-SECRET-2"), "test.conf");
        assertThat(ConfigDiff.between(before, after).summary()).isEqualTo("changed: delivery.smarthost.oauth");
        assertThat(ConfigDiff.between(before, ConfigLoader.parseString(m365.formatted("old-SECRET-1"), "test.conf")).isEmpty()).isTrue();
    }

    static String routes(String shopSmarthost, String more) {
        return "returnpath.delivery.routes = [ { name = shop, sender-domains = [shop.example.org], smarthost { "
                + shopSmarthost + " } }" + more + " ]\n";
    }

    static final String SHOP = "host = \"smtp.mailgun.org\", username = \"u\", password = \"old-s3cret\"";
    static final String NEWS = ", { name = news, sender-domains = [news.example.com], mode = direct }";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # routes after (before: shop and news)                                        => the summary
            `SHOP, port = 2525|NEWS`                                                          => changed: delivery.routes (~shop)
            `host = "smtp.mailgun.org", username = "u", password = "new-s3cret"|NEWS`        => changed: delivery.routes (~shop)
            `SHOP|, { name = corp, sender-domains = [example.com], mode = direct }`          => changed: delivery.routes (-news +corp)
            `SHOP|`                                                                           => changed: delivery.routes (-news)
            `SHOP|NEWS, { name = corp, sender-domains = [example.com], mode = direct }`      => changed: delivery.routes (+corp)
            none                                                                              => changed: delivery.routes (-news -shop)
            """)
    void aReloadNamesTheRoutesAddedRemovedOrChangedNeverASecret(String after, String summary) throws Exception {
        RelayConfig before = ConfigLoader.parseString(BASE + routes(SHOP, NEWS), "test.conf");
        String next = after.equals("none") ? "" : routes(after.split("\\|", -1)[0].replace("SHOP", SHOP),
                after.split("\\|", -1)[1].replace("NEWS", NEWS));
        String line = ConfigDiff.between(before, ConfigLoader.parseString(BASE + next, "test.conf")).summary();
        assertThat(line).isEqualTo(summary).doesNotContain("s3cret");
    }
}
