package dev.returnpath.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.returnpath.config.Endpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * The management listener (JDK HTTP server, loopback by default):
 * {@code /healthz} (the process and the SMTP listener are alive), {@code /readyz} (it relays:
 * the config is loaded, the listener answered an SMTP session to itself, and the upstream was
 * reachable at the last check; 503 until the first check has run; the doctor's FAILs are listed
 * in the body but do not make it 503) and {@code /metrics} (Prometheus text format). Nothing
 * secret is served: no configuration values, no addresses of mail.
 */
public final class Management implements AutoCloseable {
    private final HttpServer server;

    /** What {@code /readyz} reports; updated by serve and the doctor. */
    public static final class Readiness {
        /** A listener session is reused for this long, so that probes and scrapes do not flood it. */
        static final long LISTENER_RESULT_NANOS = Duration.ofSeconds(5).toNanos();

        private volatile boolean configLoaded;
        private volatile boolean upstreamChecked;
        private volatile boolean upstreamReachable;
        private volatile String upstreamProblem = "";
        private volatile List<String> doctorFails = List.of();
        private volatile ListenerProbe listener;
        private ListenerProbe.Result lastSession;
        private long lastSessionAt;

        public void configLoaded(boolean loaded) {
            this.configLoaded = loaded;
        }

        /** The result of a check of the upstream (the doctor's upstream.connect); the first one makes it checked. */
        public void upstream(boolean reachable, String problem) {
            this.upstreamReachable = reachable;
            this.upstreamProblem = problem == null ? "" : problem;
            this.upstreamChecked = true;
        }

        public void doctorFails(List<String> fails) {
            this.doctorFails = List.copyOf(fails);
        }

        /** The SMTP listener to open a session with for each answer (at most one every 5 s). */
        public void listener(ListenerProbe probe) {
            this.listener = probe;
            synchronized (this) {
                lastSession = null;
            }
        }

        private synchronized ListenerProbe.Result session(ListenerProbe probe) {
            long now = System.nanoTime();
            if (lastSession == null || now - lastSessionAt > LISTENER_RESULT_NANOS) {
                lastSession = probe.session();
                lastSessionAt = now;
            }
            return lastSession;
        }

        /** One evaluation: the status code and the body that explains it. */
        record Answer(boolean ready, String body) {}

        Answer evaluate() {
            ListenerProbe probe = listener;
            ListenerProbe.Result session = probe == null ? null : session(probe);
            boolean listening = session instanceof ListenerProbe.Answered;
            boolean ready = configLoaded && listening && upstreamChecked && upstreamReachable;
            StringBuilder b = new StringBuilder();
            b.append(ready ? "ready\n" : "not ready\n");
            b.append("config: ").append(configLoaded ? "loaded" : "not loaded").append('\n');
            b.append("listener: ").append(switch (session) {
                case null -> "not probed yet";
                case ListenerProbe.Answered a -> a.text();
                case ListenerProbe.Failed f -> "no SMTP session: " + f.text();
            }).append('\n');
            b.append("upstream: ").append(!upstreamChecked ? "not checked yet"
                    : upstreamReachable ? "reachable" : "unreachable: " + upstreamProblem).append('\n');
            for (String f : doctorFails) {
                b.append("doctor FAIL: ").append(f).append('\n');
            }
            return new Answer(ready, b.toString());
        }

        boolean ready() {
            return evaluate().ready();
        }

        String body() {
            return evaluate().body();
        }
    }

    /** On {@code host} (a name or an address, never bracketed: {@code management.host}) and {@code port}. */
    public Management(String host, int port, Metrics metrics, Readiness readiness, BooleanSupplier listenerAlive)
            throws IOException {
        this(new Endpoint(host, port), metrics, readiness, listenerAlive);
    }

    public Management(Endpoint bind, Metrics metrics, Readiness readiness, BooleanSupplier listenerAlive)
            throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(bind.host()), bind.port()), 64);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/healthz", ex -> {
            boolean alive = listenerAlive.getAsBoolean();
            send(ex, alive ? 200 : 503, "text/plain; charset=utf-8", (alive ? "ok\n" : "SMTP listener is down\n").getBytes(StandardCharsets.UTF_8));
        });
        server.createContext("/readyz", ex -> {
            Readiness.Answer a = readiness.evaluate();
            send(ex, a.ready() ? 200 : 503, "text/plain; charset=utf-8", a.body().getBytes(StandardCharsets.UTF_8));
        });
        server.createContext("/metrics", ex -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
            metrics.writeTo(out);
            send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", out.toByteArray());
        });
        server.createContext("/", ex -> send(ex, 404, "text/plain; charset=utf-8",
                "not found: try /healthz, /readyz or /metrics\n".getBytes(StandardCharsets.UTF_8)));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", type);
            ex.sendResponseHeaders(status, ex.getRequestMethod().equals("HEAD") ? -1 : body.length);
            if (!ex.getRequestMethod().equals("HEAD")) {
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(body);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
