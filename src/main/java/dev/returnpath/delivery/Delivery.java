package dev.returnpath.delivery;

/**
 * Sends one message upstream and says what happened to each recipient. Implementations never
 * throw for an upstream problem: a refused connection, a timeout or a reply all become
 * per-recipient outcomes. Every I/O they do has a timeout, so {@code deliver} always returns.
 */
public interface Delivery extends AutoCloseable {
    DeliveryOutcome deliver(Envelope envelope, OutboundMessage message);

    @Override
    default void close() {}
}
