package dev.returnpath.queue;

import dev.returnpath.config.ConfigLoader;
import dev.returnpath.config.RelayConfig;
import dev.returnpath.delivery.DeliveryOutcome;
import dev.returnpath.delivery.DeliveryOutcome.RecipientOutcome;
import dev.returnpath.delivery.NextHop;
import dev.returnpath.delivery.Reply;
import dev.returnpath.delivery.Router;
import dev.returnpath.ops.MailEvent;
import dev.returnpath.ops.MailLog;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The recipient line both modes write ({@code MailEvent.Recipient.of}): one outcome, the relay it
 * came from, the delay and the route, to the text line, with the hint only for a reply a server
 * said.
 */
class RecipientLineTest {
    static final RelayConfig.Direct DIRECT = new RelayConfig.Direct(25, RelayConfig.DirectTls.OPPORTUNISTIC);

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # case                                  | status   | reply                                             | said  | relay                           | route   | delay | cause           | line
            # (route: the hop's; "default" without delivery.routes is not named, with it it is)
            sent                                    | SENT     | 250 2.0.0 Ok: queued as 42                        | true  | mx.example.org[192.0.2.1]:25    | default | 0.042 |                 | to=<u@example.org> relay=mx.example.org[192.0.2.1]:25 delay=0.04 dsn=2.0.0 status=sent (250 2.0.0 Ok: queued as 42)
            deferred by the server                  | DEFERRED | 451 4.7.1 greylisted, try again later             | true  | mx.example.org[192.0.2.1]:25    | default | 300.12 |                | to=<u@example.org> relay=mx.example.org[192.0.2.1]:25 delay=300.12 dsn=4.7.1 status=deferred (451 4.7.1 greylisted, try again later)
            refused connection: the relay's reply   | DEFERRED | 451 4.4.1 connect to mx.example.org: refused      | false | ''                              | default | 1     | connection      | to=<u@example.org> relay=none delay=1.00 dsn=4.4.1 status=deferred (451 4.4.1 connect to mx.example.org: refused)
            Gmail's 5.7.26 gets a cause and a fix   | BOUNCED  | 550 5.7.26 This mail is unauthenticated           | true  | gmail-smtp-in.l.google.com[142.250.1.26]:25 | default | 0.5 | unauthenticated | to=<u@example.org> relay=gmail-smtp-in.l.google.com[142.250.1.26]:25 delay=0.50 dsn=5.7.26 status=bounced (550 5.7.26 This mail is unauthenticated) cause=unauthenticated fix="the message passed neither SPF nor DKIM: publish the outbound IP in the SPF record of the Return-Path domain (returnpath doctor shows the mechanism), and sign with DKIM"
            the relay's 5.7.26 is not the server's  | BOUNCED  | 550 5.7.26 written by the relay                   | false | ''                              | default | 0.5   | connection      | to=<u@example.org> relay=none delay=0.50 dsn=5.7.26 status=bounced (550 5.7.26 written by the relay)
            a route other than the default is named | SENT     | 250 2.0.0 Ok                                      | true  | smtp.mailgun.org[198.51.100.9]:587 | shop | 0.3   |                 | to=<u@example.org> route=shop relay=smtp.mailgun.org[198.51.100.9]:587 delay=0.30 dsn=2.0.0 status=sent (250 2.0.0 Ok)
            with routes, the default is named too   | SENT     | 250 2.0.0 Ok                                      | true  | mx.example.org[192.0.2.1]:25    | default+ | 0.3  |                 | to=<u@example.org> route=default relay=mx.example.org[192.0.2.1]:25 delay=0.30 dsn=2.0.0 status=sent (250 2.0.0 Ok)
            """)
    void anOutcomeBecomesTheSameLineInBothModes(String name, DeliveryOutcome.Status status, String reply, boolean said,
                                                String relay, String route, double delay, String cause, String line)
            throws Exception {
        RecipientOutcome o = new RecipientOutcome("u@example.org", status, Reply.parse(0, reply), said, relay);
        // "default" alone: no delivery.routes; any other route (or "default+") comes with some
        boolean routes = !route.equals("default");
        RelayConfig.Delivery delivery = ConfigLoader.parseString(routes
                ? "returnpath.delivery.routes = [ { name = shop, sender-domains = [shop.example], mode = direct } ]"
                : "returnpath { }", "test.conf").delivery();
        NextHop hop = new NextHop.Mx(route.replace("+", ""), "example.org", DIRECT);

        MailEvent.Recipient event = MailEvent.Recipient.of("3F2A9C1B00001", Router.logName(delivery, hop), o, relay, delay);

        assertThat(MailLog.text(event)).isEqualTo(line);
        assertThat(event.warning()).isEqualTo(status != DeliveryOutcome.Status.SENT);
        assertThat(MailEvent.Recipient.metricCause(o, event)).isEqualTo(cause == null ? "" : cause);
    }
}
