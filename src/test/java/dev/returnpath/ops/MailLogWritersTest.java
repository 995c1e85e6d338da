package dev.returnpath.ops;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.returnpath.ops.MailEvent.Arrival;
import dev.returnpath.ops.MailEvent.Notification;
import dev.returnpath.ops.MailEvent.Rewritten;
import dev.returnpath.ops.MailEvent.Spf;
import dev.returnpath.ops.MailEvent.Status;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Every kind of mail log line, as an event, through both writers: the exact text line (the
 * README's transcripts where it has one) and the exact JSON object.
 */
class MailLogWritersTest {
    /** Rejects a repeated key, so that a forged key cannot hide among the real ones. */
    static final ObjectMapper STRICT = JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();

    static final String ID = "3F2A9C1B00001";

    static final Arrival ARRIVAL = Arrival.of(ID, "127.0.0.1", "web01", "apache@web01.internal", Optional.empty())
            .withRewrite(new Rewritten(Optional.of("bounce@example.com"), "noreply@example.com", "domain:example.com",
                    Optional.empty(), false, Map.of()))
            .withSpf(new Spf("pass", Optional.of("203.0.113.5"))).withSize(1834).withNrcpt(1);

    static Map<String, Long> stripped() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("X-PHP-Originating-Script", 1L);
        m.put("Received", 2L);
        return m;
    }

    static Stream<Arguments> events() {
        return Stream.of(
                arguments(ARRIVAL,
                        "client=127.0.0.1 helo=web01 from=<apache@web01.internal> return-path=<bounce@example.com> "
                                + "header-from=<noreply@example.com> rule=domain:example.com spf=pass ip=203.0.113.5 size=1834 nrcpt=1",
                        "'id':'3F2A9C1B00001','client':'127.0.0.1','helo':'web01','from':'<apache@web01.internal>',"
                                + "'return-path':'<bounce@example.com>','header-from':'<noreply@example.com>',"
                                + "'rule':'domain:example.com','spf':'pass','ip':'203.0.113.5','size':'1834','nrcpt':'1'"),
                arguments(Arrival.of("1A21F8ADE4D00", "127.0.0.1", "web01.internal", "www-data@web01.internal", Optional.empty())
                                .withRewrite(new Rewritten(Optional.of("bounce@example.com"), "zoe@gmail.com",
                                        "rule:contact-form+domain:example.com", Optional.of("noreply@example.com"), true, stripped()))
                                .withSpf(Spf.OFF).withSize(727).withNrcpt(1),
                        "client=127.0.0.1 helo=web01.internal from=<www-data@web01.internal> return-path=<bounce@example.com> "
                                + "header-from=<zoe@gmail.com> rule=rule:contact-form+domain:example.com "
                                + "new-header-from=<noreply@example.com> reply-to=added "
                                + "stripped=X-PHP-Originating-Script:1,Received:2 spf=off size=727 nrcpt=1",
                        "'id':'1A21F8ADE4D00','client':'127.0.0.1','helo':'web01.internal','from':'<www-data@web01.internal>',"
                                + "'return-path':'<bounce@example.com>','header-from':'<zoe@gmail.com>',"
                                + "'rule':'rule:contact-form+domain:example.com','new-header-from':'<noreply@example.com>',"
                                + "'reply-to':'added','stripped':'X-PHP-Originating-Script:1,Received:2','spf':'off',"
                                + "'size':'727','nrcpt':'1'"),
                arguments(Arrival.of(ID, "192.0.2.7", "[192.0.2.7]", "", Optional.of("app1"))
                                .withRewrite(new Rewritten(Optional.empty(), "noreply@example.com", "domain:example.com",
                                        Optional.empty(), false, Map.of()))
                                .withSpf(new Spf("pass", Optional.of("203.0.113.5"))).withDkim("rp2026.example.com,ed2026.example.com")
                                .withSize(10).withNrcpt(2),
                        "client=192.0.2.7 helo=[192.0.2.7] user=app1 from=<> header-from=<noreply@example.com> "
                                + "rule=domain:example.com spf=pass ip=203.0.113.5 dkim=rp2026.example.com,ed2026.example.com size=10 nrcpt=2",
                        "'id':'3F2A9C1B00001','client':'192.0.2.7','helo':'[192.0.2.7]','user':'app1','from':'<>',"
                                + "'header-from':'<noreply@example.com>','rule':'domain:example.com','spf':'pass',"
                                + "'ip':'203.0.113.5','dkim':'rp2026.example.com,ed2026.example.com','size':'10','nrcpt':'2'"),
                arguments(new MailEvent.Rejected(Arrival.of(ID, "127.0.0.1", "web01", "apache@web01.internal", Optional.empty())
                                .withRewrite(Rewritten.rejectedBy("zoe@unknown.example", "unknown-domain:reject")),
                                550, "5.7.1", "sender domain unknown.example is not configured"),
                        "client=127.0.0.1 helo=web01 from=<apache@web01.internal> header-from=<zoe@unknown.example> "
                                + "rule=unknown-domain:reject status=rejected (550 5.7.1 sender domain unknown.example is not configured)",
                        "'id':'3F2A9C1B00001','client':'127.0.0.1','helo':'web01','from':'<apache@web01.internal>',"
                                + "'header-from':'<zoe@unknown.example>','rule':'unknown-domain:reject','status':'rejected',"
                                + "'reply':'550 5.7.1 sender domain unknown.example is not configured'"),
                arguments(new MailEvent.StorageError(ID, Optional.of("127.0.0.1"), "cannot write the spool file: No space left on device"),
                        "client=127.0.0.1 status=deferred (cannot write the spool file: No space left on device)",
                        "'id':'3F2A9C1B00001','client':'127.0.0.1','status':'deferred',"
                                + "'reply':'cannot write the spool file: No space left on device'"),
                arguments(new MailEvent.Recipient(ID, "user@gmail.com", Optional.empty(), "smtp.example.net[198.51.100.7]:587", 0.42,
                                "2.0.0", Status.SENT, "250 2.0.0 OK", Optional.empty()),
                        "to=<user@gmail.com> relay=smtp.example.net[198.51.100.7]:587 delay=0.42 dsn=2.0.0 status=sent (250 2.0.0 OK)",
                        "'id':'3F2A9C1B00001','to':'<user@gmail.com>','relay':'smtp.example.net[198.51.100.7]:587',"
                                + "'delay':'0.42','dsn':'2.0.0','status':'sent','reply':'250 2.0.0 OK'"),
                arguments(new MailEvent.Recipient(ID, "x@gmail.com", Optional.of("shop"), "smtp.mailgun.org[192.0.2.9]:587", 1.5,
                                "5.7.26", Status.BOUNCED, "550-5.7.26 This mail is unauthenticated (SPF) 550 5.7.26 gsmtp",
                                Optional.of(new RejectionHints.Hint("unauthenticated", "publish SPF for example.com"))),
                        "to=<x@gmail.com> route=shop relay=smtp.mailgun.org[192.0.2.9]:587 delay=1.50 dsn=5.7.26 status=bounced "
                                + "(550-5.7.26 This mail is unauthenticated (SPF) 550 5.7.26 gsmtp) cause=unauthenticated "
                                + "fix=\"publish SPF for example.com\"",
                        "'id':'3F2A9C1B00001','to':'<x@gmail.com>','route':'shop','relay':'smtp.mailgun.org[192.0.2.9]:587',"
                                + "'delay':'1.50','dsn':'5.7.26','status':'bounced',"
                                + "'reply':'550-5.7.26 This mail is unauthenticated (SPF) 550 5.7.26 gsmtp',"
                                + "'cause':'unauthenticated','fix':'publish SPF for example.com'"),
                arguments(new MailEvent.Recipient("1A21F85C0EC00", "two@example.net", Optional.empty(), "mx.example.net[192.0.2.20]:25",
                                0.31, "4.7.1", Status.DEFERRED, "451 4.7.1 greylisted, try again later", Optional.empty()),
                        "to=<two@example.net> relay=mx.example.net[192.0.2.20]:25 delay=0.31 dsn=4.7.1 status=deferred "
                                + "(451 4.7.1 greylisted, try again later)",
                        "'id':'1A21F85C0EC00','to':'<two@example.net>','relay':'mx.example.net[192.0.2.20]:25','delay':'0.31',"
                                + "'dsn':'4.7.1','status':'deferred','reply':'451 4.7.1 greylisted, try again later'"),
                arguments(new MailEvent.Recipient(ID, "a@example.net", Optional.empty(), "none", 30, "4.4.1", Status.DEFERRED,
                                "451 4.4.1 cannot connect to mx.example.net: Connection refused", Optional.empty()),
                        "to=<a@example.net> relay=none delay=30.00 dsn=4.4.1 status=deferred "
                                + "(451 4.4.1 cannot connect to mx.example.net: Connection refused)",
                        "'id':'3F2A9C1B00001','to':'<a@example.net>','relay':'none','delay':'30.00','dsn':'4.4.1',"
                                + "'status':'deferred','reply':'451 4.4.1 cannot connect to mx.example.net: Connection refused'"),
                arguments(new MailEvent.Expired(ID, "two@example.net", 432000.25, "4.4.7", "gave up after 5d: 451 4.7.1 greylisted"),
                        "to=<two@example.net> delay=432000.25 dsn=4.4.7 status=expired (gave up after 5d: 451 4.7.1 greylisted)",
                        "'id':'3F2A9C1B00001','to':'<two@example.net>','delay':'432000.25','dsn':'4.4.7','status':'expired',"
                                + "'reply':'gave up after 5d: 451 4.7.1 greylisted'"),
                arguments(new MailEvent.Dropped(ID, "x@example.net", "undeliverable bounce: 550 5.1.1 no such user"),
                        "to=<x@example.net> status=dropped (undeliverable bounce: 550 5.1.1 no such user)",
                        "'id':'3F2A9C1B00001','to':'<x@example.net>','status':'dropped',"
                                + "'reply':'undeliverable bounce: 550 5.1.1 no such user'"),
                arguments(new MailEvent.Queued("1A21F85C0EC00", 1),
                        "status=queued nrcpt=1",
                        "'id':'1A21F85C0EC00','status':'queued','nrcpt':'1'"),
                arguments(new MailEvent.Removed("1A21F85C0EC00"),
                        "removed",
                        "'id':'1A21F85C0EC00','event':'removed'"),
                arguments(new MailEvent.DsnSent(ID, Notification.NON_DELIVERY, "3F2A9C1B00002"),
                        "sender non-delivery notification: 3F2A9C1B00002",
                        "'id':'3F2A9C1B00001','notification':'sender non-delivery notification','dsn-id':'3F2A9C1B00002'"),
                arguments(new MailEvent.DsnSent(ID, Notification.DELAY, "3F2A9C1B00003"),
                        "sender delay notification: 3F2A9C1B00003",
                        "'id':'3F2A9C1B00001','notification':'sender delay notification','dsn-id':'3F2A9C1B00003'"),
                arguments(new MailEvent.DsnArrival("3F2A9C1B00002", Notification.NON_DELIVERY, ID, 2048),
                        "client=local from=<> return-path=<> size=2048 nrcpt=1 (sender non-delivery notification for 3F2A9C1B00001)",
                        "'id':'3F2A9C1B00002','client':'local','from':'<>','return-path':'<>','size':'2048','nrcpt':'1',"
                                + "'note':'sender non-delivery notification for 3F2A9C1B00001'"),
                arguments(new MailEvent.NoDsn(ID, 2),
                        "dsn=none failed=2 (no DSN for the null sender)",
                        "'id':'3F2A9C1B00001','dsn':'none','failed':'2','note':'no DSN for the null sender'"),
                arguments(new MailEvent.TemplateFallback("1A21F8ADDFA00", "bounce@traced.example",
                                "bounce+veognk3t-a-very-long-local-part-of-forty-chars-xx=web01.internal@traced.example",
                                "has a local part of 71 octets, over 64"),
                        "template-fallback=<bounce@traced.example> "
                                + "template-result=<bounce+veognk3t-a-very-long-local-part-of-forty-chars-xx=web01.internal@traced.example> "
                                + "(has a local part of 71 octets, over 64)",
                        "'id':'1A21F8ADDFA00','template-fallback':'<bounce@traced.example>',"
                                + "'template-result':'<bounce+veognk3t-a-very-long-local-part-of-forty-chars-xx=web01.internal@traced.example>',"
                                + "'problem':'has a local part of 71 octets, over 64'"),
                arguments(new MailEvent.SpfWarned(ID, "SPF fail for example.com: add ip4:203.0.113.5 to the SPF record of example.com"),
                        "spf-guard=warn (SPF fail for example.com: add ip4:203.0.113.5 to the SPF record of example.com)",
                        "'id':'3F2A9C1B00001','spf-guard':'warn',"
                                + "'advice':'SPF fail for example.com: add ip4:203.0.113.5 to the SPF record of example.com'"),
                arguments(new MailEvent.Bounce("18C2F3A4B5C6D", "apache@web01.internal", "x@gmail.com", "failed", "5.7.26",
                                "googlemail.com", "auth", "unauthenticated", "publish the IP in SPF", "received"),
                        "bounce: id=18C2F3A4B5C6D original-from=<apache@web01.internal> to=<x@gmail.com> action=failed "
                                + "status=5.7.26 reporting-mta=googlemail.com class=auth cause=unauthenticated "
                                + "fix=\"publish the IP in SPF\" attributed-by=received",
                        "'event':'bounce','id':'18C2F3A4B5C6D','original-from':'<apache@web01.internal>','to':'<x@gmail.com>',"
                                + "'action':'failed','status':'5.7.26','reporting-mta':'googlemail.com','class':'auth',"
                                + "'cause':'unauthenticated','fix':'publish the IP in SPF','attributed-by':'received'"),
                arguments(new MailEvent.Reload("conf/returnpath.conf", "changed: rules", false),
                        "config reloaded from conf/returnpath.conf: changed: rules",
                        "'event':'config reloaded','file':'conf/returnpath.conf','changes':'changed: rules'"),
                arguments(new MailEvent.Reload("conf/returnpath.conf", "changed: domains (~example.com +shop.example.org), "
                                + "rules (2 -> 3 entries); needs a restart to take full effect: listen.port (0 -> 2599)", true),
                        "config reloaded from conf/returnpath.conf: changed: domains (~example.com +shop.example.org), "
                                + "rules (2 -> 3 entries); needs a restart to take full effect: listen.port (0 -> 2599)",
                        "'event':'config reloaded','file':'conf/returnpath.conf','changes':'changed: domains (~example.com "
                                + "+shop.example.org), rules (2 -> 3 entries); needs a restart to take full effect: listen.port (0 -> 2599)'"));
    }

    @ParameterizedTest
    @MethodSource("events")
    void eachEventHasOneTextLine(MailEvent event, String text, String json) {
        assertThat(MailLog.text(event)).isEqualTo(text);
    }

    @ParameterizedTest
    @MethodSource("events")
    void eachEventHasOneJsonObjectWithEachKeyOnce(MailEvent event, String text, String json) throws Exception {
        String logger = event instanceof MailEvent.Reload ? "returnpath.config" : "returnpath.mail";
        String line = JsonLogLayoutTest.layout(event);
        assertThat(line).isEqualTo("{\"time\":\"1970-01-01T00:00:00Z\",\"level\":\"" + (event.warning() ? "WARN" : "INFO")
                + "\",\"logger\":\"" + logger + "\"," + json.replace('\'', '"') + "}\n");
        JsonNode parsed = STRICT.readTree(line);
        assertThat(parsed.isObject()).isTrue();
    }

    /** Every kind of line is in the table above: a new record must come with its rows. */
    @org.junit.jupiter.api.Test
    void theTableCoversEveryKindOfEvent() {
        java.util.Set<Class<?>> covered = events().<Class<?>>map(a -> a.get()[0].getClass())
                .collect(java.util.stream.Collectors.toSet());
        assertThat(covered).containsExactlyInAnyOrder(MailEvent.class.getPermittedSubclasses());
    }

    /** delay= is written as String.format("%.2f") wrote it: half up on the shortest decimal form. */
    @org.junit.jupiter.api.Test
    void delaysAreWrittenAsTheFormatterWroteThem() {
        java.util.Random random = new java.util.Random(12);
        java.util.List<Double> values = new java.util.ArrayList<>(java.util.List.of(0.0, 0.005, 0.015, 0.125, 1.005, 2.675,
                0.994999, 0.995, 9.995, 59.999, 1e7, 123456789.125, 3.0e-9, Double.MIN_VALUE, -0.005, Double.NaN));
        for (int i = 0; i < 20_000; i++) {
            values.add(random.nextDouble() * Math.pow(10, random.nextInt(7) - 3));
            values.add(Math.round(random.nextDouble() * 100_000) / 1000.0 + 0.005);
        }
        for (double v : values) {
            assertThat(MailEvent.seconds(v)).as("%s", v).isEqualTo(String.format(java.util.Locale.ROOT, "%.2f", v));
        }
    }
}
