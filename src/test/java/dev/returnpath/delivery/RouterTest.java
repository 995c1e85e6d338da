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
}
