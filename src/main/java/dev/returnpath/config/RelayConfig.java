package dev.returnpath.config;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The whole configuration, parsed and validated once. Code outside {@code config} sees only
 * these records, never a Typesafe {@code Config}. A reload builds a new tree and swaps one
 * reference ({@link ConfigHolder}), so a transaction keeps the tree it started with.
 */
public record RelayConfig(
        Path source,
        String hostname,
        Listen listen,
        Map<String, DomainPolicy> domains,
        List<Rule> rules,
        Rewrite rewrite,
        Delivery delivery,
        Queue queue,
        Dns dns,
        Spf spf,
        Management management,
        Duration shutdownGrace,
        Duration doctorInterval,
        Optional<String> doctorToDomain,
        LogFormat logFormat,
        Optional<BouncesSection.Imap> bouncesImap) {

    public RelayConfig(Path source, String hostname, Listen listen, Map<String, DomainPolicy> domains, List<Rule> rules,
                       Rewrite rewrite, Delivery delivery, Queue queue, Dns dns, Spf spf, Management management,
                       Duration shutdownGrace, Duration doctorInterval, Optional<String> doctorToDomain, LogFormat logFormat) {
        this(source, hostname, listen, domains, rules, rewrite, delivery, queue, dns, spf, management, shutdownGrace,
                doctorInterval, doctorToDomain, logFormat, Optional.empty());
    }

    public enum LogFormat { TEXT, JSON }

    /** @param host never bracketed, e.g. {@code ::1}; {@code port} 0 is any free port */
    public record Listen(
            String host,
            int port,
            List<Cidr> allowedNetworks,
            long maxMessageSize,
            int maxRecipients,
            int maxConnections,
            BareNewline bareNewline,
            Duration idleTimeout,
            Optional<ListenTls> tls,
            int implicitTlsPort,
            ListenAuth auth,
            ListenLimits limits) {

        public Listen(String host, int port, List<Cidr> allowedNetworks, long maxMessageSize, int maxRecipients,
                      int maxConnections, BareNewline bareNewline, Duration idleTimeout) {
            this(host, port, allowedNetworks, maxMessageSize, maxRecipients, maxConnections, bareNewline, idleTimeout,
                    Optional.empty(), 0, ListenAuth.NONE, ListenLimits.DEFAULTS);
        }

        /** Let in at connect: from {@code allowed-networks}, or from {@code auth.require-for} (who must AUTH before MAIL). */
        public boolean admits(InetAddress client) {
            return allows(client) || auth.mustAuthenticate(client);
        }

        public boolean allows(InetAddress client) {
            return allowedNetworks.stream().anyMatch(c -> c.contains(client));
        }

        /** What the listener binds. */
        public Endpoint endpoint() {
            return new Endpoint(host, port);
        }
    }

    public enum BareNewline { REJECT, NORMALIZE }

    /**
     * {@code listen.auth}: the users (from {@code users-file}, read with the configuration) and
     * the networks whose clients must authenticate before MAIL ({@code require-for}; they win
     * over {@code allowed-networks}).
     */
    /**
     * {@code listen.limits}: what one client may take. {@code connectionsPerClient} is empty
     * when the operator did not set it: then {@link #DEFAULT_CONNECTIONS_PER_CLIENT} holds for
     * network clients and none for loopback ones (a sidecar's app and a shared host's apps all
     * connect from 127.0.0.1: a count per IP would only refuse the app itself;
     * {@code listen.max-connections} still bounds them). {@code messagesPerMinute} 0 is off;
     * {@code authFailures} counts per client IP per 10 minutes; {@code maxErrors} counts bad
     * commands in one session.
     */
    public record ListenLimits(OptionalInt connectionsPerClient, int messagesPerMinute, int authFailures,
                               Duration sessionTimeout, Duration dataTimeout, int maxErrors) {
        public static final int DEFAULT_CONNECTIONS_PER_CLIENT = 20;
        public static final ListenLimits DEFAULTS = new ListenLimits(OptionalInt.empty(), 0, 5,
                Duration.ofMinutes(10), Duration.ofMinutes(5), 20);

        /** The open sessions {@code client} may have: the key when set, else 20 from the network and no limit on loopback. */
        public int connectionsPerClient(InetAddress client) {
            if (connectionsPerClient.isPresent()) {
                return connectionsPerClient.getAsInt();
            }
            return client.isLoopbackAddress() ? Integer.MAX_VALUE : DEFAULT_CONNECTIONS_PER_CLIENT;
        }
    }

    public record ListenAuth(Optional<dev.returnpath.auth.UsersFile> users, List<Cidr> requireFor) {
        public static final ListenAuth NONE = new ListenAuth(Optional.empty(), List.of());

        public boolean mustAuthenticate(InetAddress client) {
            return requireFor.stream().anyMatch(c -> c.contains(client));
        }
    }

    /**
     * {@code listen.tls}: the certificate chain and key files, read and checked at load (and
     * on each reload); the listener re-reads them when they change on disk.
     */
    public record ListenTls(java.nio.file.Path certFile, java.nio.file.Path keyFile,
                            dev.returnpath.tls.ServerCredentials credentials) {}

    /**
     * A sending domain, keyed by the header From domain (lower case, A-label form).
     *
     * @param template    {@code return-path}, a plain address or a template
     * @param fromAddress {@code from-address}: what the header From becomes when a rule says
     *                    {@code from-header = align}
     */
    /**
     * {@code dkimSelector}: a selector signed with elsewhere, whose key the doctor checks is
     * published; {@code dkim}: the keys returnpath signs this domain's mail with ({@code d=} is
     * {@code domain}), in order, each loaded and checked.
     */
    public record DomainPolicy(String domain, ReturnPathTemplate template, boolean force, Alignment alignment,
                               Optional<String> fromAddress, Optional<String> dkimSelector,
                               List<dev.returnpath.dkim.DkimKey> dkim) {
        public DomainPolicy(String domain, ReturnPathTemplate template, boolean force, Alignment alignment,
                            Optional<String> fromAddress, Optional<String> dkimSelector) {
            this(domain, template, force, alignment, fromAddress, dkimSelector, List.of());
        }

        /** The configured {@code return-path} text (a template may contain placeholders). */
        public String returnPath() {
            return template.text();
        }
    }

    public enum Alignment { RELAXED, STRICT }

    /**
     * The policy of {@code domain} or of its nearest listed parent ({@code mail.example.com}
     * finds {@code example.com}); {@code domain} may be in U-label or A-label form.
     */
    public static Optional<DomainPolicy> lookup(Map<String, DomainPolicy> domains, String domain) {
        Optional<String> ascii = asciiDomain(domain);
        if (ascii.isEmpty()) {
            return Optional.empty();
        }
        String d = ascii.get();
        while (true) {
            DomainPolicy p = domains.get(d);
            if (p != null) {
                return Optional.of(p);
            }
            int dot = d.indexOf('.');
            if (dot < 0) {
                return Optional.empty();
            }
            d = d.substring(dot + 1);
        }
    }

    /**
     * {@code domain} as the configuration keeps domains: A-label form, lower case, no final dot;
     * empty when it cannot be one ({@code domain} came from the wire, in U-label or A-label form).
     */
    public static Optional<String> asciiDomain(String domain) {
        String d = domain.toLowerCase(java.util.Locale.ROOT);
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        try {
            return Optional.of(java.net.IDN.toASCII(d, java.net.IDN.ALLOW_UNASSIGNED).toLowerCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** @param hashKey the key of {@code {hash}}; required when a template uses it */
    public record Rewrite(UnknownDomain unknownDomain, Optional<String> defaultDomain, Optional<HashKey> hashKey) {}

    public enum UnknownDomain { REJECT, DEFAULT, KEEP }

    /** The name of the route {@code delivery.mode} describes: mail that no route of {@code delivery.routes} takes. */
    public static final String DEFAULT_ROUTE = "default";

    /**
     * {@code mode} and {@code smarthost} are the default route's; {@code routes} are
     * {@code delivery.routes}, in the order written (the first that holds the sender's domain wins).
     */
    public record Delivery(
            DeliveryMode mode,
            Smarthost smarthost,
            Direct direct,
            Duration connectTimeout,
            Duration commandTimeout,
            List<Route> routes) {
        public Delivery {
            routes = List.copyOf(routes);
        }

        /** Some route delivers direct (the default or one of {@code routes}): MX lookups are needed. */
        public boolean deliversDirect() {
            return mode == DeliveryMode.DIRECT || routes.stream().anyMatch(r -> r.mode() == DeliveryMode.DIRECT);
        }
    }

    /**
     * One entry of {@code delivery.routes}: mail whose envelope sender is in one of
     * {@code senderDomains} (A-labels, lower case; a subdomain counts) goes through
     * {@code smarthost}, or direct to the MX hosts ({@code mode = direct}, with
     * {@code delivery.direct}'s port and TLS).
     *
     * @param smarthost              present exactly when {@code mode} is {@code SMARTHOST}
     * @param destinationConcurrency the spool's limit per next hop of this route; empty:
     *                               {@code queue.destination-concurrency}
     */
    public record Route(String name, List<String> senderDomains, DeliveryMode mode, Optional<Smarthost> smarthost,
                        java.util.OptionalInt destinationConcurrency) {
        public Route {
            senderDomains = List.copyOf(senderDomains);
        }

        /** {@code domain} (A-label, lower case) is one of {@code senderDomains} or under one. */
        public boolean holds(String domain) {
            for (String d : senderDomains) {
                if (domain.equals(d) || domain.endsWith("." + d)) {
                    return true;
                }
            }
            return false;
        }
    }

    public enum DeliveryMode { DIRECT, SMARTHOST }

    /**
     * The smarthost. {@code endpoint} is {@code delivery.smarthost.host} with its port, present
     * when a host is set (always, with {@code mode = smarthost}). {@code auth} is the SASL
     * mechanism; {@code oauth} is present exactly when it is {@link SmarthostAuth#XOAUTH2}
     * (the username is then the mailbox the token is for, and there is no password).
     */
    public record Smarthost(
            Optional<Endpoint> endpoint,
            SmarthostTls tls,
            Optional<Path> caFile,
            Optional<String> username,
            Optional<String> password,
            SmarthostAuth auth,
            Optional<OAuth> oauth) {

        /** The port of {@code delivery.smarthost} when no host is set: submission (RFC 6409). */
        public static final int DEFAULT_PORT = 587;

        public Smarthost(Optional<Endpoint> endpoint, SmarthostTls tls, Optional<Path> caFile, Optional<String> username,
                         Optional<String> password) {
            this(endpoint, tls, caFile, username, password, SmarthostAuth.AUTO, Optional.empty());
        }

        /** The host, never bracketed ({@code 2001:db8::25}, not {@code [2001:db8::25]}). */
        public Optional<String> host() {
            return endpoint.map(Endpoint::host);
        }

        /** The endpoint's port; {@link #DEFAULT_PORT} without a host. */
        public int port() {
            return endpoint.map(Endpoint::port).orElse(DEFAULT_PORT);
        }

        @Override
        public String toString() {
            // never print the password, not even in a debug dump of the config
            return "Smarthost[endpoint=" + endpoint.map(Endpoint::toString).orElse("") + ", tls=" + tls
                    + ", caFile=" + caFile.map(Path::toString).orElse("")
                    + ", username=" + username.orElse("") + ", password=" + (password.isPresent() ? "***" : "")
                    + ", auth=" + auth + ", oauth=" + oauth.map(OAuth::toString).orElse("") + "]";
        }
    }

    /** {@code delivery.smarthost.auth}: {@code auto} is the strongest the server offers of PLAIN and LOGIN. */
    public enum SmarthostAuth { AUTO, PLAIN, LOGIN, XOAUTH2 }

    public enum OAuthProvider { MICROSOFT, GOOGLE, GENERIC }

    /**
     * {@code delivery.smarthost.oauth}, resolved at load: {@code tokenUrl} is the endpoint the
     * token comes from (the provider's, or {@code token-url}; always https), {@code scope} the
     * scope asked for. Microsoft and generic carry the client credentials; Google the service
     * account. {@link #toString} never shows the client secret.
     */
    public record OAuth(OAuthProvider provider, java.net.URI tokenUrl, String scope, Optional<String> clientId,
                        Optional<String> clientSecret, Optional<ServiceAccount> serviceAccount, Optional<Path> caFile) {
        @Override
        public String toString() {
            return "OAuth[provider=" + provider + ", tokenUrl=" + tokenUrl + ", scope=" + scope
                    + ", clientId=" + clientId.orElse("") + ", clientSecret=" + (clientSecret.isPresent() ? "***" : "")
                    + ", serviceAccount=" + serviceAccount.map(ServiceAccount::toString).orElse("")
                    + ", caFile=" + caFile.map(Path::toString).orElse("") + "]";
        }
    }

    /**
     * A Google service account key file ({@code service-account-file}), read and checked at
     * load (so a reload re-reads it). {@link #toString} never shows the key.
     */
    public record ServiceAccount(Path file, String clientEmail, java.security.PrivateKey privateKey, java.net.URI tokenUri) {
        @Override
        public String toString() {
            return "ServiceAccount[file=" + file + ", clientEmail=" + clientEmail + ", privateKey=***]";
        }
    }

    public enum SmarthostTls { STARTTLS, IMPLICIT, NONE }

    public record Direct(int port, DirectTls tls) {}

    public enum DirectTls { OPPORTUNISTIC, REQUIRED, NONE }

    /**
     * {@code delayWarning} zero means no delay warning. {@code maxConcurrency} bounds the spool's
     * delivery attempts in flight, {@code destinationConcurrency} those to one destination (the
     * smarthost, or one recipient domain with direct delivery).
     */
    public record Queue(
            QueueMode mode,
            Path dir,
            Duration firstRetry,
            Duration maxRetryInterval,
            Duration maxAge,
            Duration delayWarning,
            int maxConcurrency,
            int destinationConcurrency) {}

    public enum QueueMode { PASSTHROUGH, SPOOL }

    /** {@code servers} (port 53 unless written); empty means the system's resolvers. */
    public record Dns(List<Endpoint> servers, Duration timeout) {}

    public record Spf(List<InetAddress> outboundIps, OnFail onFail) {}

    public enum OnFail { TEMPFAIL, REJECT, WARN, OFF }

    /** {@code host} never bracketed; port 0 turns the management listener off. */
    public record Management(String host, int port) {
        /** What the management listener binds. */
        public Endpoint endpoint() {
            return new Endpoint(host, port);
        }
    }
}
