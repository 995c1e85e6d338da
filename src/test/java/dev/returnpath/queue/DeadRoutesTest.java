package dev.returnpath.queue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dead-route state as a table: each row is a script of attempts on one clock, and the
 * admissions it must get. Steps, separated by spaces: {@code +S} moves the clock S seconds;
 * {@code d} / {@code p} / {@code f} is an attempt that the state must admit as DELIVER / PROBE /
 * DEFER, followed by its result {@code !} (connect failed), {@code ok} (got past the connect), or
 * {@code ...} (still running; its result comes later as {@code <!} or {@code <ok}, for the oldest
 * one running). first-retry 5s and max-retry-interval 60s, so the first probe waits 5s.
 */
class DeadRoutesTest {
    private static final Instant T0 = Instant.parse("2026-12-02T20:00:00Z");

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a live hop is delivered to                            | d:ok d:ok +60 d:ok
            a connect failure kills it: the next message waits    | d:! f f +4 f
            after the backoff one probe goes, the others wait     | d:! +5 p:... f f <! f
            a failed probe doubles the wait                       | d:! +5 p:! +9 f +1 p:! +19 f +1 p:!
            the wait stops doubling at max-retry-interval         | d:! +5 p:! +10 p:! +20 p:! +40 p:! +60 p:! +60 p:!
            a probe that connects makes the hop alive             | d:! +5 p:ok d:ok d:ok
            attempts that started before it died change nothing   | d:... d:! <! f +5 p:ok d:ok
            a delivery that connects while it is dead revives it  | d:... d:! <ok d:ok
            a lost probe is replaced after fifteen minutes        | d:! +5 p:... +899 f +1 p:ok d:ok
            """)
    void admissionsFollowTheScript(String name, String script) {
        DeadRoutes<String> routes = new DeadRoutes<>();
        Instant now = T0;
        List<DeadRoutes.Admit> inFlight = new ArrayList<>();
        for (String step : script.trim().split("\\s+")) {
            if (step.startsWith("+")) {
                now = now.plusSeconds(Long.parseLong(step.substring(1)));
                continue;
            }
            if (step.startsWith("<")) {
                assertThat(inFlight).as(name + ": " + step + " with nothing running").isNotEmpty();
                DeadRoutes.Admit how = inFlight.remove(0);
                routes.result("smarthost", how, step.equals("<!"), "connect failed", now, Duration.ofSeconds(5),
                        Duration.ofSeconds(60));
                continue;
            }
            String[] parts = step.split(":");
            DeadRoutes.Admit expected = switch (parts[0]) {
                case "d" -> DeadRoutes.Admit.DELIVER;
                case "p" -> DeadRoutes.Admit.PROBE;
                case "f" -> DeadRoutes.Admit.DEFER;
                default -> throw new IllegalArgumentException(step);
            };
            DeadRoutes.Admit got = routes.admit("smarthost", now);
            assertThat(got).as(name + ": step " + step + " at +" + Duration.between(T0, now).toSeconds() + "s")
                    .isEqualTo(expected);
            String result = parts.length > 1 ? parts[1] : "";
            switch (result) {
                case "!", "ok" -> routes.result("smarthost", got, result.equals("!"), "connect failed", now,
                        Duration.ofSeconds(5), Duration.ofSeconds(60));
                case "..." -> inFlight.add(got);
                default -> {
                    // a deferral has no result
                }
            }
        }
        // one hop's state is not another's
        assertThat(routes.admit("other", now)).isEqualTo(DeadRoutes.Admit.DELIVER);
    }

    @ParameterizedTest(name = "wait after {0} failed probe(s) is {1}s")
    @CsvSource({"0, 5", "1, 10", "2, 20", "3, 40", "4, 60", "5, 60"})
    void theProbeWaitDoublesFromFirstRetryUpToMaxRetryInterval(int failedProbes, long waitSeconds) {
        DeadRoutes<String> routes = new DeadRoutes<>();
        Instant now = T0;
        Duration first = Duration.ofSeconds(5);
        Duration max = Duration.ofSeconds(60);
        routes.result("h", routes.admit("h", now), true, "refused", now, first, max);
        for (int i = 0; i < failedProbes; i++) {
            now = routes.state("h").orElseThrow().probeAt();
            assertThat(routes.admit("h", now)).isEqualTo(DeadRoutes.Admit.PROBE);
            routes.result("h", DeadRoutes.Admit.PROBE, true, "refused", now, first, max);
        }
        DeadRoutes.Dead d = routes.state("h").orElseThrow();
        assertThat(Duration.between(now, d.probeAt())).isEqualTo(Duration.ofSeconds(waitSeconds));
        assertThat(routes.admit("h", d.probeAt().minusMillis(1))).isEqualTo(DeadRoutes.Admit.DEFER);
        assertThat(routes.admit("h", d.probeAt())).isEqualTo(DeadRoutes.Admit.PROBE);
    }
}
