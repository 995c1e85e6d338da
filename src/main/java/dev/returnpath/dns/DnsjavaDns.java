package dev.returnpath.dns;

import dev.returnpath.config.Endpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.xbill.DNS.Cache;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Type;
import org.xbill.DNS.lookup.LookupFailedException;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;
import org.xbill.DNS.lookup.RedirectOverflowException;
import org.xbill.DNS.lookup.ServerFailedException;

/**
 * {@link Dns} on dnsjava 3.6: a {@link LookupSession} with a TTL {@link Cache}, no hosts file and
 * no search path.
 *
 * <p>{@link #create} talks to the given servers, or to the system's resolvers
 * ({@link ResolverConfig}) when the list is empty. {@link #over} wraps any {@link Resolver}; tests
 * use it with a resolver that answers from zone files.
 *
 * <p>Outcomes are mapped as probes of dnsjava's resolvers found them:
 * {@code NoSuchDomainException} is NXDOMAIN; NODATA arrives as an empty result on the first call
 * and as {@code NoSuchRRSetException} once cached, both are {@link DnsAnswer.NoData};
 * {@code ServerFailedException}, other {@code LookupFailedException}s, I/O errors and timeouts are
 * {@link DnsAnswer.Failure}.
 *
 * <p>Concurrent lookups of the same (name, type) share one query, so a burst of identical SPF
 * checks (the relay's steady state, or {@code check-spf --batch}) costs one round trip.
 */
public final class DnsjavaDns implements Dns {
    private final LookupSession session;
    private final Duration deadline;
    private final Map<Question, CompletableFuture<LookupResult>> inFlight = new ConcurrentHashMap<>();

    private record Question(Name name, int type) {}

    private DnsjavaDns(Resolver resolver, Duration deadline) {
        Executor executor = Executors.newVirtualThreadPerTaskExecutor();
        this.session = LookupSession.builder()
                .resolver(resolver)
                .cache(new Cache(DClass.IN))
                .clearSearchPath()
                .cycleResults(false) // keep the server's order: RFC 7208 §4.6.4 limits "the first 10" PTR names
                .executor(executor)
                .build();
        this.deadline = deadline;
    }

    /**
     * Servers as parsed by {@code config} ({@code dns.servers}, {@code --dns-server}); an empty
     * list means the system's resolvers. A query gets {@code timeout × servers} in all, and is
     * sent again within it when a reply is lost ({@link #retrying}).
     */
    public static DnsjavaDns create(List<Endpoint> servers, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (Endpoint server : servers) {
            addresses.add(new InetSocketAddress(server.host(), server.port()));
        }
        if (addresses.isEmpty()) {
            addresses.addAll(ResolverConfig.getCurrentConfig().servers());
        }
        if (addresses.isEmpty()) {
            addresses.add(new InetSocketAddress("127.0.0.1", 53));
        }
        return retrying(addresses, timeout);
    }

    /** How many times a query is sent to each server within its timeout (libresolv's {@code attempts}). */
    static final int ATTEMPTS = 3;

    /**
     * The servers as libresolv uses them: within the whole budget ({@code timeout × servers}),
     * the query goes to each server in turn, {@link #ATTEMPTS} rounds, a try every third of
     * {@code timeout} while no reply came ({@link RetryingResolver}). One attempt per query made a lost UDP packet a {@code temperror}: about
     * one SPF check in seven, with {@code check-spf --batch} putting 512 queries in flight against
     * a small server. A reply (NXDOMAIN, SERVFAIL included) ends the query; only silence and I/O
     * errors move on to the next try.
     */
    static DnsjavaDns retrying(List<InetSocketAddress> addresses, Duration timeout) {
        Duration total = timeout.multipliedBy(addresses.size());
        return new DnsjavaDns(new RetryingResolver(addresses, ATTEMPTS, total), total);
    }

    /** Lookups through {@code resolver}, each waited for at most {@code timeout}. */
    public static DnsjavaDns over(Resolver resolver, Duration timeout) {
        return new DnsjavaDns(Objects.requireNonNull(resolver, "resolver"), Objects.requireNonNull(timeout, "timeout"));
    }

    @Override
    public DnsAnswer lookup(String name, int type) {
        Name absolute = DomainNames.toName(name).orElse(null);
        if (absolute == null) {
            return new DnsAnswer.Failure("not a valid domain name: " + name);
        }
        Question question = new Question(absolute, type);
        CompletableFuture<LookupResult> shared = inFlight.get(question);
        if (shared == null) {
            // Registered before the query starts: a cache hit completes synchronously, and removing
            // the entry from inside computeIfAbsent would be a recursive update.
            CompletableFuture<LookupResult> mine = new CompletableFuture<>();
            shared = inFlight.putIfAbsent(question, mine);
            if (shared == null) {
                shared = mine;
                session.lookupAsync(absolute, type).whenComplete((result, error) -> {
                    inFlight.remove(question, mine);
                    if (error != null) {
                        mine.completeExceptionally(error);
                    } else {
                        mine.complete(result);
                    }
                });
            }
        }
        try {
            LookupResult result = shared.get(deadline.toMillis() + 250, TimeUnit.MILLISECONDS);
            if (result.getRecords().isEmpty()) {
                return new DnsAnswer.NoData(); // NODATA, first form: not yet cached
            }
            return DnsAnswer.Records.of(result.getRecords());
        } catch (ExecutionException e) {
            return failureOf(e.getCause(), absolute, type);
        } catch (TimeoutException e) {
            return new DnsAnswer.Failure("timeout: " + Type.string(type) + " " + absolute);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new DnsAnswer.Failure("interrupted: " + Type.string(type) + " " + absolute);
        }
    }

    private static DnsAnswer failureOf(Throwable cause, Name name, int type) {
        Throwable t = cause;
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        String question = Type.string(type) + " " + name;
        return switch (t) {
            case NoSuchDomainException e -> new DnsAnswer.NxDomain();
            case NoSuchRRSetException e -> new DnsAnswer.NoData(); // NODATA, second form: from the cache
            case ServerFailedException e -> new DnsAnswer.Failure(Rcode.string(Rcode.SERVFAIL) + ": " + question);
            case RedirectOverflowException e -> new DnsAnswer.Failure("too many CNAME redirects: " + question);
            case LookupFailedException e -> new DnsAnswer.Failure("lookup failed" + why(e) + ": " + question);
            case java.net.SocketTimeoutException e -> new DnsAnswer.Failure("timeout: " + question);
            case IOException e -> new DnsAnswer.Failure("network error" + why(e) + ": " + question);
            default -> new DnsAnswer.Failure(t.getClass().getSimpleName() + why(t) + ": " + question);
        };
    }

    /** " (message)", or " (ExceptionClass)" when the exception has no message: never "(null)". */
    private static String why(Throwable t) {
        String m = t.getMessage();
        return " (" + (m == null || m.isBlank() ? t.getClass().getSimpleName() : m) + ")";
    }
}
