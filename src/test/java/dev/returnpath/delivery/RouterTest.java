package dev.returnpath.delivery;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The router's table: the default route ({@code delivery.mode}) and the recipients, to legs. */
class RouterTest {

    static RelayConfig.Delivery delivery(String mode) throws Exception {
        return ConfigLoader.parseString("""
                returnpath.delivery {
                  mode = %s
                  smarthost { host = "smtp.example.net", port = 587, tls = starttls }
                  direct { port = 25, tls = opportunistic }
                }
                """.formatted(mode), "router.conf").delivery();
    }

    /** A leg as {@code relay:HOST[rcpt,...]} or {@code mx:DOMAIN[rcpt,...]}, legs joined by spaces. */
    static String render(List<Router.Leg> legs) {
        return legs.stream().map(l -> switch (l.hop()) {
            case NextHop.Relay r -> "relay:" + r.smarthost().host().orElse("?");
            case NextHop.Mx m -> "mx:" + m.domain();
        } + "[" + String.join(",", l.forwardPaths()) + "]").collect(Collectors.joining(" "));
    }

    @ParameterizedTest(name = "{0}: {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            # mode    | recipients                                   | legs
            smarthost | a@gmail.test                                 | relay:smtp.example.net[a@gmail.test]
            smarthost | a@gmail.test b@other.test c@gmail.test       | relay:smtp.example.net[a@gmail.test,b@other.test,c@gmail.test]
            direct    | a@gmail.test                                 | mx:gmail.test[a@gmail.test]
            direct    | a@gmail.test b@other.test c@gmail.test       | mx:gmail.test[a@gmail.test,c@gmail.test] mx:other.test[b@other.test]
            direct    | x@Gmail.TEST y@gmail.test                    | mx:gmail.test[x@Gmail.TEST,y@gmail.test]
            direct    | p@[127.0.0.3] q@[127.0.0.3] r@b.test         | mx:[127.0.0.3][p@[127.0.0.3],q@[127.0.0.3]] mx:b.test[r@b.test]
            direct    | jürgen@bücher.test a@bücher.test              | mx:bücher.test[jürgen@bücher.test,a@bücher.test]
            """)
    void recipientsGoToTheirNextHops(String mode, String recipients, String legs) throws Exception {
        List<String> rcpts = Arrays.asList(recipients.split(" "));
        List<Router.Leg> route = Router.route(delivery(mode), "bounce@example.com", rcpts);
        assertThat(render(route)).isEqualTo(legs);
        assertThat(route).allSatisfy(l -> assertThat(l.hop().route()).isEqualTo(Router.DEFAULT_ROUTE));
        // every recipient is in exactly one leg
        assertThat(route.stream().flatMap(l -> l.forwardPaths().stream())).containsExactlyInAnyOrderElementsOf(rcpts);
    }

    @ParameterizedTest
    @CsvSource({"smarthost", "direct"})
    void noRecipientsMeansNoLegs(String mode) throws Exception {
        assertThat(Router.route(delivery(mode), "", List.of())).isEmpty();
    }

    @ParameterizedTest
    @CsvSource({"smarthost", "direct"})
    void legsOfTheSameDestinationAreEqualSoThatTheyShareAPool(String mode) throws Exception {
        NextHop one = Router.route(delivery(mode), "a@example.com", List.of("u@gmail.test")).get(0).hop();
        NextHop two = Router.route(delivery(mode), "", List.of("v@GMAIL.test")).get(0).hop();
        assertThat(one).isEqualTo(two).hasSameHashCodeAs(two);
    }

    static RelayConfig.Delivery withRoutes(String mode) throws Exception {
        return ConfigLoader.parseString("""
                returnpath.delivery {
                  mode = %s
                  smarthost { host = "smtp.example.net", port = 587, tls = starttls }
                  routes = [
                    { name = "shop", sender-domains = ["shop.example.org"], smarthost { host = "smtp.mailgun.test" } }
                    { name = "corp", sender-domains = ["example.com", "bücher.test"], smarthost { host = "smtp.office365.test" } }
                    { name = "news", sender-domains = ["news.example.net"], mode = direct }
                  ]
                }
                """.formatted(mode), "router.conf").delivery();
    }

    @ParameterizedTest(name = "{0} from <{1}>: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            # default   | envelope sender               | route   | legs of a@gmail.test b@other.test
            direct      | bounce@shop.example.org       | shop    | relay:smtp.mailgun.test[a@gmail.test,b@other.test]
            direct      | bounce@SHOP.Example.ORG       | shop    | relay:smtp.mailgun.test[a@gmail.test,b@other.test]
            direct      | bounce@example.com            | corp    | relay:smtp.office365.test[a@gmail.test,b@other.test]
            direct      | bounce@mail.corp.example.com  | corp    | relay:smtp.office365.test[a@gmail.test,b@other.test]
            direct      | bounce@bücher.test            | corp    | relay:smtp.office365.test[a@gmail.test,b@other.test]
            direct      | bounce@xn--bcher-kva.test     | corp    | relay:smtp.office365.test[a@gmail.test,b@other.test]
            smarthost   | bounce@news.example.net       | news    | mx:gmail.test[a@gmail.test] mx:other.test[b@other.test]
            smarthost   | bounce@example.org            | default | relay:smtp.example.net[a@gmail.test,b@other.test]
            direct      | bounce@example.org            | default | mx:gmail.test[a@gmail.test] mx:other.test[b@other.test]
            direct      | bounce@notexample.com         | default | mx:gmail.test[a@gmail.test] mx:other.test[b@other.test]
            smarthost   | bounce@example.com.evil.test  | default | relay:smtp.example.net[a@gmail.test,b@other.test]
            smarthost   | ''                            | default | relay:smtp.example.net[a@gmail.test,b@other.test]
            """)
    void theFirstRouteHoldingTheSendersDomainOrAParentWins(String mode, String sender, String route, String legs)
            throws Exception {
        RelayConfig.Delivery d = withRoutes(mode);
        List<Router.Leg> out = Router.route(d, sender, List.of("a@gmail.test", "b@other.test"));
        assertThat(render(out)).isEqualTo(legs);
        assertThat(out).allSatisfy(l -> assertThat(l.hop().route()).isEqualTo(route));
        assertThat(Router.routeName(d, sender)).isEqualTo(route);
    }

    @ParameterizedTest
    @CsvSource({"smarthost", "direct"})
    void routesAreOtherHopsThanTheDefaultEvenToTheSameServer(String mode) throws Exception {
        RelayConfig.Delivery d = ConfigLoader.parseString("""
                returnpath.delivery {
                  mode = %s
                  smarthost { host = "smtp.example.net" }
                  routes = [ { name = "same", sender-domains = ["shop.example.org"], %s } ]
                }
                """.formatted(mode, mode.equals("direct") ? "mode = direct" : "smarthost { host = \"smtp.example.net\" }"),
                "router.conf").delivery();
        NextHop viaRoute = Router.route(d, "a@shop.example.org", List.of("u@gmail.test")).get(0).hop();
        NextHop viaDefault = Router.route(d, "a@example.org", List.of("u@gmail.test")).get(0).hop();
        assertThat(render(List.of(new Router.Leg(viaRoute, List.of())))).isEqualTo(render(List.of(new Router.Leg(viaDefault, List.of()))));
        assertThat(viaRoute).as("its own pool and limits").isNotEqualTo(viaDefault);
        assertThat(Router.logName(d, viaDefault)).contains("default");
        assertThat(Router.logName(delivery(mode), viaDefault)).as("no routes: lines as before").isEmpty();
    }
}
