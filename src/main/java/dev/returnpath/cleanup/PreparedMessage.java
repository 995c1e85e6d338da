package dev.returnpath.cleanup;

import dev.returnpath.delivery.Envelope;
import dev.returnpath.delivery.OutboundMessage;
import dev.returnpath.inbound.ReceivedMessage;
import dev.returnpath.message.HeaderBlock;
import dev.returnpath.ops.MailEvent;

/**
 * What cleanup hands on: the envelope that goes upstream (the rewritten reverse path) and the
 * exact bytes that leave ({@code message}: our Received line, the header fields as the rules
 * left them minus the app's Return-Path, then the body from the spool file). {@code headers}
 * is that header block without our Received line (what a DSN quotes); {@code arrival} the
 * arrival line as logged. {@code received} is the message as inbound gave it (client, HELO,
 * the client's own reverse path, the configuration of the transaction).
 */
public record PreparedMessage(ReceivedMessage received, Envelope envelope, OutboundMessage message,
                              HeaderBlock headers, MailEvent.Arrival arrival) {

    public String id() {
        return envelope.id();
    }
}
