package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig;

import java.net.InetAddress;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * One mail transaction as the client gave it: client, HELO, the reverse path ({@code ""} for
 * the null sender), the forward paths, and the configuration in force when it began.
 */
final class Transaction {
    final RelayConfig config;
    final InetAddress client;
    final String helo;
    final String reversePath;
    final List<String> forwardPaths = new ArrayList<>();
    final ZonedDateTime arrival;
    /** The name the client authenticated as (listener AUTH), when it did. */
    final java.util.Optional<String> authUser;

    Transaction(RelayConfig config, InetAddress client, String helo, String reversePath, ZonedDateTime arrival) {
        this(config, client, helo, reversePath, arrival, java.util.Optional.empty());
    }

    Transaction(RelayConfig config, InetAddress client, String helo, String reversePath, ZonedDateTime arrival,
                java.util.Optional<String> authUser) {
        this.config = config;
        this.client = client;
        this.helo = helo;
        this.reversePath = reversePath;
        this.arrival = arrival;
        this.authUser = authUser;
    }
}
