package dev.returnpath.dns;

import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;
import org.xbill.DNS.Zone;

/**
 * A dnsjava {@link Resolver} that answers from zone files, with no sockets: the DNS answer path of
 * {@code LookupSession} (cache, CNAMEs, negative answers) runs for real, only the network is
 * replaced. It counts and records the questions it receives, so that tests can prove a cache hit
 * made no query. Trouble (timeouts, SERVFAIL) is marked in the zones, see {@link ZoneAnswers}.
 *
 * <p>Usage: {@code DnsjavaDns.over(ZoneResolver.of("/spf/rfc7208-05-all.zone"), Duration.ofSeconds(2))}.
 */
public final class ZoneResolver implements Resolver {
    private final ZoneAnswers answers;
    private final AtomicInteger queries = new AtomicInteger();
    private final List<String> questions = Collections.synchronizedList(new ArrayList<>());
    private Duration timeout = Duration.ofSeconds(5);

    public ZoneResolver(List<Zone> zones) {
        this.answers = new ZoneAnswers(zones);
    }

    /** A resolver over master files on the test classpath, each loaded with origin ".". */
    public static ZoneResolver of(String... resources) {
        List<Zone> zones = new ArrayList<>();
        for (String resource : resources) {
            zones.add(ZoneAnswers.rootZone(resource));
        }
        return new ZoneResolver(zones);
    }

    @Override
    public CompletionStage<Message> sendAsync(Message query, Executor executor) {
        queries.incrementAndGet();
        questions.add(query.getQuestion().getName() + " " + Type.string(query.getQuestion().getType()));
        return switch (answers.answer(query)) {
            case ZoneAnswers.Reply.Answer a -> CompletableFuture.completedFuture(a.message());
            // what dnsjava's SimpleResolver reports when no answer arrives in time
            case ZoneAnswers.Reply.Timeout t -> CompletableFuture.failedFuture(new SocketTimeoutException("Query timed out"));
        };
    }

    /** How many queries reached this resolver. */
    public int queryCount() {
        return queries.get();
    }

    /** The questions received, as "name. TYPE", in order. */
    public List<String> questions() {
        synchronized (questions) {
            return List.copyOf(questions);
        }
    }

    @Override
    public void setPort(int port) {}

    @Override
    public void setTCP(boolean flag) {}

    @Override
    public void setIgnoreTruncation(boolean flag) {}

    @Override
    public void setEDNS(int version, int payloadSize, int flags, List<EDNSOption> options) {}

    @Override
    public void setTSIGKey(TSIG key) {}

    @Override
    public void setTimeout(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public Duration getTimeout() {
        return timeout;
    }
}
