package dev.returnpath.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code delivery.routes}: each entry as it is read, or the error with its line and key. The
 * entries have no Typesafe path, so a key is named by index ({@code routes.0.smarthost.host}) and
 * placed at the value's own line, an absent key at its entry's line.
 */
class DeliveryRoutesTest {
    static final String SMARTHOST = "smarthost { host = \"smtp.example.net\" }";

    /** The routes as {@code name:domains:mode:endpoint:user}, joined by spaces. */
    static String routes(String setting) {
        return SectionParsersTest.run("returnpath.delivery.routes = " + setting, r -> DeliverySection.parse(r).routes()
                .stream().map(rt -> rt.name() + ":" + String.join(",", rt.senderDomains()) + ":" + rt.mode() + ":"
                        + rt.smarthost().flatMap(RelayConfig.Smarthost::endpoint).map(Endpoint::toString).orElse("-") + ":"
                        + rt.smarthost().flatMap(RelayConfig.Smarthost::username).orElse("-")
                        + rt.destinationConcurrency().stream().mapToObj(n -> ":" + n).collect(Collectors.joining()))
                .collect(Collectors.joining(" ")));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', textBlock = """
            # delivery.routes = ...                                                                  => routes, or the error
            []                                                                                        => ``
            [{ name = shop, sender-domains = ["Shop.Example.ORG."], smarthost { host = "smtp.example.net" } }] => shop:shop.example.org:SMARTHOST:smtp.example.net:587:-
            [{ name = shop, sender-domains = ["shop.example.org"], smarthost { host = "smtp.example.net", port = 2525, username = "u", password = "p" } }] => shop:shop.example.org:SMARTHOST:smtp.example.net:2525:u
            [{ name = news, sender-domains = ["news.example.com", "bücher.example"], mode = direct, destination-concurrency = 3 }] => news:news.example.com,xn--bcher-kva.example:DIRECT:-:-:3
            [{ name = a, sender-domains = ["shop.example.com"], mode = direct }, { name = b, sender-domains = ["example.com"], mode = direct }] => a:shop.example.com:DIRECT:-:- b:example.com:DIRECT:-:-
            [{ name = a, sender-domains = ["x.example"], mode = smarthost, smarthost { host = "smtp.example.net" } }] => a:x.example:SMARTHOST:smtp.example.net:587:-
            { name = a }                                                                              => error: line 1: returnpath.delivery.routes: must be a list such as [ { name = "shop", sender-domains = ["shop.example.org"], smarthost { host = "smtp.example.net" } } ]
            ["shop"]                                                                                  => error: line 1: returnpath.delivery.routes.0: must be an object such as { name = "shop", sender-domains = ["shop.example.org"], smarthost { host = "smtp.example.net" } }
            [{ sender-domains = ["x.example"], mode = direct }]                                      => error: line 1: returnpath.delivery.routes.0.name: every route needs a name (it is written in the log as route=NAME)
            [{ name = "my route", sender-domains = ["x.example"], mode = direct }]                   => error: line 1: returnpath.delivery.routes.0.name: "my route" is not a route name (letters, digits, '.', '_' and '-', at most 64)
            [{ name = Default, sender-domains = ["x.example"], mode = direct }]                      => error: line 1: returnpath.delivery.routes.0.name: "default" is the route of delivery.mode (mail no route takes): choose another name
            [{ name = a, sender-domains = ["x.example"], mode = direct }, { name = A, sender-domains = ["y.example"], mode = direct }] => error: line 1: returnpath.delivery.routes.1.name: "A" is the name of an earlier route
            [{ name = a, mode = direct }]                                                            => error: line 1: returnpath.delivery.routes.0.sender-domains: route "a" needs sender-domains = ["example.com", ...]
            [{ name = a, sender-domains = [], mode = direct }]                                       => error: line 1: returnpath.delivery.routes.0.sender-domains: an empty list matches no sender: give the domains this route sends for
            [{ name = a, sender-domains = "x.example", mode = direct }]                               => error: line 1: returnpath.delivery.routes.0.sender-domains: must be a list of strings such as ["a", "b"]
            [{ name = a, sender-domains = ["not a domain"], mode = direct }]                         => error: line 1: returnpath.delivery.routes.0.sender-domains: "not a domain" is not a domain name
            [{ name = a, sender-domains = ["example.com", "shop.example.com"], mode = direct }]       => error: line 1: returnpath.delivery.routes.0.sender-domains: "shop.example.com" is under "example.com", listed earlier in this route, which wins: this entry would never be used
            [{ name = a, sender-domains = ["example.com"], mode = direct }, { name = b, sender-domains = ["shop.example.com"], mode = direct }] => error: line 1: returnpath.delivery.routes.1.sender-domains: "shop.example.com" is under "example.com", listed by the earlier route "a", which wins: this entry would never be used (put the more specific route first)
            [{ name = a, sender-domains = ["example.com"], mode = direct }, { name = b, sender-domains = ["EXAMPLE.com"], mode = direct }] => error: line 1: returnpath.delivery.routes.1.sender-domains: "example.com" is listed by the earlier route "a", which wins: this entry would never be used (put the more specific route first)
            [{ name = a, sender-domains = ["x.example"] }]                                           => error: line 1: returnpath.delivery.routes.0: route "a" needs a smarthost { host = ... } block or mode = direct
            [{ name = a, sender-domains = ["x.example"], mode = direct, smarthost { host = "smtp.example.net" } }] => error: line 1: returnpath.delivery.routes.0.mode: route "a" has a smarthost block and mode = direct: keep one
            [{ name = a, sender-domains = ["x.example"], mode = smarthost }]                         => error: line 1: returnpath.delivery.routes.0.mode: route "a" has mode = smarthost but no smarthost { host = ... } block
            [{ name = a, sender-domains = ["x.example"], mode = mx }]                                => error: line 1: returnpath.delivery.routes.0.mode: must be one of direct | smarthost, got "mx"
            [{ name = a, sender-domains = ["x.example"], smarthost = "smtp.example.net" }]           => error: line 1: returnpath.delivery.routes.0.smarthost: must be a block such as smarthost { host = "smtp.example.net", port = 587 }
            [{ name = a, sender-domains = ["x.example"], smarthost { port = 25 } }]                  => error: line 1: returnpath.delivery.routes.0.smarthost.host: route "a" needs the smarthost's host
            [{ name = a, sender-domains = ["x.example"], smarthost { host = "smtp.example.net:25" } }] => error: line 1: returnpath.delivery.routes.0.smarthost.host: "smtp.example.net:25" has a port: write host = "smtp.example.net" and delivery.routes.0.smarthost.port = 25
            [{ name = a, sender-domains = ["x.example"], smarthost { host = "smtp.example.net", username = "u" } }] => error: line 1: returnpath.delivery.routes.0.smarthost.username: username and password go together
            [{ name = a, sender-domains = ["x.example"], smarthost { host = "smtp.example.net", tls = none, username = "u", password = "p" } }] => error: line 1: returnpath.delivery.routes.0.smarthost.tls: AUTH would send the password in clear text: use starttls or implicit with a username
            [{ name = a, sender-domains = ["x.example"], smarthost { host = "smtp.example.net", user = "u" } }] => error: line 1: returnpath.delivery.routes.0.smarthost.user: unknown key (a route's smarthost takes the keys of delivery.smarthost)
            [{ name = a, sender-domains = ["x.example"], mode = direct, sender-domain = ["y.example"] }] => error: line 1: returnpath.delivery.routes.0.sender-domain: unknown key (allowed: destination-concurrency, mode, name, sender-domains, smarthost)
            [{ name = a, sender-domains = ["x.example"], mode = direct, destination-concurrency = 0 }] => error: line 1: returnpath.delivery.routes.0.destination-concurrency: must be between 1 and 10000, got 0
            """)
    void routesAreReadOrRefused(String setting, String expected) {
        assertThat(routes(setting)).isEqualTo(expected);
    }

    @Test
    void anErrorInAMultiLineFileNamesTheLineOfTheValueOrOfItsRoute() {
        String file = """
                returnpath.delivery.routes = [
                  { name = "shop", sender-domains = ["shop.example.org"],
                    smarthost {
                      host = "smtp.example.net"
                      port = 70000
                    } }
                  {
                    name = "news"
                    mode = direct
                  }
                ]
                """;
        assertThat(SectionParsersTest.run(file, r -> DeliverySection.parse(r).toString()))
                .isEqualTo("error: line 5: returnpath.delivery.routes.0.smarthost.port: must be between 1 and 65535, got 70000");
        assertThat(SectionParsersTest.run(file.replace("70000", "587"), r -> DeliverySection.parse(r).toString()))
                .isEqualTo("error: line 7: returnpath.delivery.routes.1.sender-domains: route \"news\" needs sender-domains = [\"example.com\", ...]");
    }

    @Test
    void aRouteNeverTakesTheDefaultSmarthostsEnvironmentCredentials() throws Exception {
        // RETURNPATH_SMARTHOST_USERNAME/PASSWORD fill delivery.smarthost, not a route's block
        ConfigReader r = ConfigLoader.reader("returnpath.delivery.routes = [{ name = a, sender-domains = [\"x.example\"], "
                + SMARTHOST + " }]", "test.conf",
                Map.of("RETURNPATH_SMARTHOST_USERNAME", "env-user", "RETURNPATH_SMARTHOST_PASSWORD", "env-pass"));
        RelayConfig.Delivery d = DeliverySection.parse(r);
        assertThat(d.smarthost().username()).contains("env-user");
        RelayConfig.Smarthost route = d.routes().get(0).smarthost().orElseThrow();
        assertThat(route.username()).isEmpty();
        assertThat(route.password()).isEmpty();
        assertThat(route.port()).isEqualTo(587);
        assertThat(route.tls()).isEqualTo(RelayConfig.SmarthostTls.STARTTLS);
    }

    @Test
    void aRoutePasswordFileIsReadAndNeverPrinted(@TempDir Path dir) throws Exception {
        Path secret = dir.resolve("shop.password");
        Files.writeString(secret, "  s3cret-from-file\n");
        String setting = "returnpath.delivery.routes = [{ name = shop, sender-domains = [\"shop.example.org\"], "
                + "smarthost { host = \"smtp.example.net\", username = \"u\", password-file = \"" + secret + "\" } }]";
        RelayConfig.Delivery d = DeliverySection.parse(ConfigLoader.reader(setting, "test.conf", Map.of()));
        assertThat(d.routes().get(0).smarthost().orElseThrow().password()).contains("s3cret-from-file");
        assertThat(d.toString()).doesNotContain("s3cret");

        assertThat(SectionParsersTest.run(setting.replace("password-file", "password = \"x\", password-file"),
                r -> DeliverySection.parse(r).toString()))
                .isEqualTo("error: line 1: returnpath.delivery.routes.0.smarthost.password-file: set password or password-file, not both");
        assertThat(SectionParsersTest.run(setting.replace(secret.toString(), dir.resolve("missing").toString()),
                r -> DeliverySection.parse(r).toString()))
                .isEqualTo("error: line 1: returnpath.delivery.routes.0.smarthost.password-file: cannot read \""
                        + dir.resolve("missing") + "\"");
    }

    @Test
    void aWholeFileWithRoutesLoads() throws Exception {
        RelayConfig cfg = ConfigLoader.parseString("""
                returnpath {
                  domains { "shop.example.org" { return-path = "bounce@shop.example.org" } }
                  delivery {
                    mode = direct
                    routes = [
                      { name = "shop", sender-domains = ["shop.example.org"], smarthost { host = "smtp.example.net" } }
                    ]
                  }
                }
                """, "test.conf");
        assertThat(cfg.delivery().routes()).extracting(RelayConfig.Route::name).containsExactly("shop");
        assertThat(cfg.delivery().deliversDirect()).isTrue();
    }
}
