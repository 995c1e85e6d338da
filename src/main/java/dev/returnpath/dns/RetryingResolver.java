package dev.returnpath.dns;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.Message;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;

/**
 * A query sent again while no reply came, as libresolv does it ({@code options attempts}, one
 * server after the other): try {@code k} goes to server {@code k mod n} after {@code k} retry
 * intervals, the first reply wins and stops the tries not yet sent; all of them end within the
 * whole budget. A reply of any rcode is a reply; only silence and I/O errors lead to the next
 * try.
 *
 * <p>Not dnsjava's {@code ExtendedResolver}: it moves on only once a try has failed, and
 * dnsjava's UDP client notices a timeout on a one-second tick, so retry intervals under a second
 * (a 2 s budget in three tries) never happened before the budget was spent.
 */
final class RetryingResolver implements Resolver {
    private final List<SimpleResolver> tries = new ArrayList<>();
    private final long intervalMillis;

    /**
     * @param servers  in the order to try them
     * @param attempts rounds over the servers
     * @param budget   the time the whole query may take
     */
    RetryingResolver(List<InetSocketAddress> servers, int attempts, Duration budget) {
        int n = servers.size() * attempts;
        this.intervalMillis = Math.max(1, budget.toMillis() / n);
        for (int k = 0; k < n; k++) {
            SimpleResolver r = new SimpleResolver(servers.get(k % servers.size()));
            // try k starts k intervals in: it may wait for what is left of the budget
            r.setTimeout(Duration.ofMillis(Math.max(intervalMillis, budget.toMillis() - k * intervalMillis)));
            tries.add(r);
        }
    }

    @Override
    public CompletionStage<Message> sendAsync(Message query, Executor executor) {
        CompletableFuture<Message> reply = new CompletableFuture<>();
        AtomicInteger failed = new AtomicInteger();
        for (int k = 0; k < tries.size(); k++) {
            SimpleResolver r = tries.get(k);
            Runnable send = () -> {
                if (reply.isDone()) {
                    return; // answered: this try is not sent
                }
                r.sendAsync(query.clone(), executor).whenComplete((m, error) -> {
                    if (error == null) {
                        reply.complete(m);
                    } else if (failed.incrementAndGet() == tries.size()) {
                        reply.completeExceptionally(error);
                    }
                });
            };
            if (k == 0) {
                send.run();
            } else {
                CompletableFuture.delayedExecutor(k * intervalMillis, TimeUnit.MILLISECONDS, executor).execute(send);
            }
        }
        return reply;
    }

    @Override
    public void setPort(int port) {
        tries.forEach(r -> r.setPort(port));
    }

    @Override
    public void setTCP(boolean flag) {
        tries.forEach(r -> r.setTCP(flag));
    }

    @Override
    public void setIgnoreTruncation(boolean flag) {
        tries.forEach(r -> r.setIgnoreTruncation(flag));
    }

    @Override
    public void setEDNS(int version, int payloadSize, int flags, List<org.xbill.DNS.EDNSOption> options) {
        tries.forEach(r -> r.setEDNS(version, payloadSize, flags, options));
    }

    @Override
    public void setTSIGKey(TSIG key) {
        tries.forEach(r -> r.setTSIGKey(key));
    }

    @Override
    public void setTimeout(Duration timeout) {
        // the budget is fixed at construction
    }
}
