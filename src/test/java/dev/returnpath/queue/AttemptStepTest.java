package dev.returnpath.queue;

import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.Dsn;
import dev.returnpath.delivery.Reply;
import dev.returnpath.queue.QueueEntry.Recipient;
import dev.returnpath.queue.QueueEntry.State;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The attempt step as a table: an entry as read (sender, age at this attempt, attempts made,
 * warned, recipient states), the replies of this attempt (recipients not named were not tried),
 * whether the DSNs it asks for could be committed; then the states it writes back, the reports
 * it asks for ({@code bounce:X} a failure DSN naming X, {@code drop:X} given up without one for
 * the null sender, {@code (expired)} when X ran out of {@code max-age}, {@code delay:X} a delay
 * warning), the warned flag, and when it is tried again ({@code removed}: never, it is done).
 *
 * <p>Queue settings: first-retry 5m, max-retry-interval 1h, max-age 5d, delay-warning 4h.
 */
class AttemptStepTest {
    static final RelayConfig.Queue QUEUE = new RelayConfig.Queue(RelayConfig.QueueMode.SPOOL, Path.of("spool"),
            Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofDays(5), Duration.ofHours(4), 100, 20);
    static final Instant NOW = Instant.parse("2025-03-10T12:00:00Z");
    static final String RELAY = "mx.example.org[192.0.2.1]:25";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # case                                                | sender             | age        | tried | warned | before                | replies     | committed | after               | reports           | warned after | next
            first attempt, every recipient sent                   | bounce@example.com | PT0S       | 0     | no     | a=pending b=pending   | a=250 b=250 | yes       | a=sent b=sent       | -                 | no           | removed
            one deferred: retried after first-retry               | bounce@example.com | PT0S       | 0     | no     | a=pending b=pending   | a=250 b=451 | yes       | a=sent b=deferred   | -                 | no           | PT5M
            permanent failure: a DSN, then the message is done    | bounce@example.com | PT0S       | 0     | no     | a=pending b=pending   | a=250 b=550 | yes       | a=sent b=bounced    | bounce:b          | no           | removed
            permanent failure beside a deferred one               | bounce@example.com | PT0S       | 0     | no     | a=pending b=pending   | a=550 b=451 | yes       | a=bounced b=deferred | bounce:a         | no           | PT5M
            only the unfinished recipient is tried again          | bounce@example.com | PT5M       | 1     | no     | a=sent b=deferred     | b=250       | yes       | a=sent b=sent       | -                 | no           | removed
            deferred past max-age: expired, and a DSN             | bounce@example.com | P5D        | 20    | yes    | a=deferred            | a=451       | yes       | a=bounced           | bounce:a(expired) | yes          | removed
            sent at max-age is sent, not expired                  | bounce@example.com | P5D        | 20    | yes    | a=deferred b=deferred | a=250 b=451 | yes       | a=sent b=bounced    | bounce:b(expired) | yes          | removed
            next attempt never after expiry: the last is at max-age | bounce@example.com | PT119H50M | 20    | yes    | a=deferred            | a=451       | yes       | a=deferred          | -                 | yes          | PT10M
            backoff doubles with each attempt                     | bounce@example.com | PT1H       | 2     | no     | a=deferred            | a=451       | yes       | a=deferred          | -                 | no           | PT20M
            backoff is capped at max-retry-interval               | bounce@example.com | PT3H       | 10    | no     | a=deferred            | a=451       | yes       | a=deferred          | -                 | no           | PT1H
            no delay warning before delay-warning                 | bounce@example.com | PT3H59M    | 3     | no     | a=deferred            | a=451       | yes       | a=deferred          | -                 | no           | PT40M
            delay warning once delay-warning has passed           | bounce@example.com | PT4H       | 3     | no     | a=deferred b=sent     | a=451       | yes       | a=deferred b=sent   | delay:a           | yes          | PT40M
            delay warning once only                               | bounce@example.com | PT6H       | 4     | yes    | a=deferred            | a=451       | yes       | a=deferred          | -                 | yes          | PT1H
            no delay warning when nothing is deferred any more    | bounce@example.com | PT6H       | 4     | no     | a=deferred b=deferred | a=250 b=550 | yes       | a=sent b=bounced    | bounce:b          | no           | removed
            null sender: a failure is dropped, not bounced        | <>                 | PT0S       | 0     | no     | a=pending b=pending   | a=550 b=250 | no        | a=bounced b=sent    | drop:a            | no           | removed
            null sender: an expired recipient is dropped          | <>                 | P5D        | 9     | no     | a=deferred            | a=451       | no        | a=bounced           | drop:a(expired)   | no           | removed
            null sender: no delay warning, counted as given       | <>                 | PT5H       | 2     | no     | a=deferred            | a=451       | no        | a=deferred          | -                 | yes          | PT20M
            DSN that could not be committed keeps it deferred     | bounce@example.com | PT0S       | 0     | no     | a=pending b=pending   | a=250 b=550 | no        | a=sent b=deferred   | bounce:b          | no           | PT5M
            expired, DSN not committed: tried again at first-retry | bounce@example.com | P5DT1H    | 30    | yes    | a=deferred            | a=451       | no        | a=deferred          | bounce:a(expired) | yes          | PT5M
            delay warning not committed: asked again next time    | bounce@example.com | PT4H       | 3     | no     | a=deferred            | a=451       | no        | a=deferred          | delay:a           | no           | PT40M
            """)
    void oneAttemptGivesTheNextState(String name, String sender, Duration age, int tried, String warned, String before,
                                     String replies, String committed, String after, String reports,
                                     String warnedAfter, String next) {
        QueueEntry entry = entry(sender, age, tried, warned.equals("yes"), before);

        AttemptStep.Plan plan = AttemptStep.plan(entry, outcomes(entry, replies), NOW, QUEUE);
        AttemptStep.Next n = plan.settle(committed.equals("yes"), committed.equals("yes"));

        assertThat(states(n.entry())).as("states").isEqualTo(after);
        assertThat(reports(plan)).as("reports").isEqualTo(reports);
        if (next.equals("removed")) {
            assertThat(n.removed()).as("removed").isTrue();
            assertThat(n.nextAttempt()).isEmpty();
        } else {
            assertThat(n.removed()).as("removed").isFalse();
            assertThat(n.nextAttempt()).as("next attempt").contains(NOW.plus(Duration.parse(next)));
            assertThat(n.entry().nextAttempt()).isEqualTo(NOW.plus(Duration.parse(next)));
            assertThat(n.entry().attempts()).as("attempts").isEqualTo(tried + 1);
            assertThat(n.entry().warned()).as("warned").isEqualTo(warnedAfter.equals("yes"));
            if (NOW.isBefore(plan.expiresAt())) {
                assertThat(n.nextAttempt().get()).as("never after expiry").isBeforeOrEqualTo(plan.expiresAt());
            }
        }
    }

    @Test
    void recipientsKeepTheReplyAndTheRelayOnlyWhenAServerSaidIt() {
        QueueEntry entry = entry("bounce@example.com", Duration.ZERO, 0, false, "a=pending b=pending");
        Reply refused = Reply.of(451, "4.4.1", "connect to mx.example.org: connection refused");
        Map<Integer, RecipientOutcome> outcomes = Map.of(
                0, new RecipientOutcome("a@example.org", DeliveryOutcome.Status.DEFERRED,
                        Reply.parse(451, "451 4.7.1 greylisted"), true, RELAY),
                1, new RecipientOutcome("b@example.org", DeliveryOutcome.Status.DEFERRED, refused, false, "none"));

        List<Recipient> written = AttemptStep.plan(entry, outcomes, NOW, QUEUE).settle(true, true).entry().recipients();

        assertThat(written).containsExactly(
                new Recipient("a@example.org", State.DEFERRED, RELAY, "451 4.7.1 greylisted"),
                new Recipient("b@example.org", State.DEFERRED, "", "451 4.4.1 connect to mx.example.org: connection refused"));
    }

    @Test
    void theFailureReportNamesTheLastReplyAndWhyAnExpiredRecipientWasGivenUp() {
        QueueEntry entry = entry("bounce@example.com", Duration.ofDays(5), 20, true, "a=pending b=deferred");
        AttemptStep.Plan plan = AttemptStep.plan(entry, outcomes(entry, "a=550 b=451"), NOW, QUEUE);

        assertThat(plan.failureReports()).containsExactly(
                new Dsn.Report("a@example.org", Reply.parse(550, "550 5.1.1 no such user"), RELAY, ""),
                new Dsn.Report("b@example.org", Reply.parse(451, "451 4.7.1 greylisted"), RELAY,
                        "message expired after 5d in the queue"));
        assertThat(plan.expiresAt()).isEqualTo(entry.arrival().plus(Duration.ofDays(5)));
    }

    @Test
    void theDelayWarningNamesTheDeferredRecipientsWithTheirTemporaryReply() {
        QueueEntry entry = entry("bounce@example.com", Duration.ofHours(5), 3, false, "a=deferred b=deferred c=sent");
        AttemptStep.Plan plan = AttemptStep.plan(entry, outcomes(entry, "a=451 b=451"), NOW, QUEUE);

        assertThat(plan.delayReports()).extracting(Dsn.Report::recipient).containsExactly("a@example.org", "b@example.org");
        assertThat(plan.delayReports()).extracting(r -> r.reply().toString()).containsOnly("451 4.7.1 greylisted");
    }

    // ---------------------------------------------------------------- the table's notation

    /** {@code a=pending b=deferred}: recipients a@example.org, b@example.org in those states. */
    static QueueEntry entry(String sender, Duration age, int tried, boolean warned, String states) {
        List<Recipient> rcpts = new ArrayList<>();
        for (String s : states.trim().split("\\s+")) {
            String[] kv = s.split("=");
            State state = State.valueOf(kv[1].toUpperCase(Locale.ROOT));
            String reply = switch (state) {
                case PENDING -> "";
                case DEFERRED -> "451 4.7.1 greylisted";
                case SENT -> "250 2.0.0 Ok";
                case BOUNCED -> "550 5.1.1 no such user";
            };
            rcpts.add(new Recipient(kv[0] + "@example.org", state, reply.isEmpty() ? "" : RELAY, reply));
        }
        Instant arrival = NOW.minus(age);
        return new QueueEntry("3F2A9C1B00001", arrival, "127.0.0.1", "web01.internal", "apache@web01.internal",
                sender.equals("<>") ? "" : sender, 1834, tried, NOW, warned, rcpts);
    }

    /** {@code a=250 b=451}: what the upstream said to each recipient tried. */
    static Map<Integer, RecipientOutcome> outcomes(QueueEntry entry, String replies) {
        Map<Integer, RecipientOutcome> out = new LinkedHashMap<>();
        for (String s : replies.trim().split("\\s+")) {
            String[] kv = s.split("=");
            String address = kv[0] + "@example.org";
            int i = entry.recipients().stream().map(Recipient::address).toList().indexOf(address);
            Reply reply = switch (kv[1]) {
                case "250" -> Reply.parse(250, "250 2.0.0 Ok");
                case "451" -> Reply.parse(451, "451 4.7.1 greylisted");
                case "550" -> Reply.parse(550, "550 5.1.1 no such user");
                default -> throw new IllegalArgumentException(kv[1]);
            };
            DeliveryOutcome.Status status = reply.isPositive() ? DeliveryOutcome.Status.SENT
                    : reply.isTransient() ? DeliveryOutcome.Status.DEFERRED : DeliveryOutcome.Status.BOUNCED;
            out.put(i, new RecipientOutcome(address, status, reply, true, RELAY));
        }
        return out;
    }

    static String states(QueueEntry e) {
        StringBuilder b = new StringBuilder();
        for (Recipient r : e.recipients()) {
            b.append(b.isEmpty() ? "" : " ").append(r.address(), 0, r.address().indexOf('@')).append('=')
                    .append(r.state().name().toLowerCase(Locale.ROOT));
        }
        return b.toString();
    }

    static String reports(AttemptStep.Plan plan) {
        List<String> out = new ArrayList<>();
        for (int i : plan.failed()) {
            String who = plan.recipients().get(i).address().substring(0, 1);
            out.add((plan.nullSender() ? "drop:" : "bounce:") + who + (plan.expired().contains(i) ? "(expired)" : ""));
        }
        if (!plan.nullSender()) {
            for (int i : plan.delayed()) {
                out.add("delay:" + plan.recipients().get(i).address().substring(0, 1));
            }
        }
        return out.isEmpty() ? "-" : String.join(" ", out);
    }
}
