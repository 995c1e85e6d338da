package dev.returnpath.inbound;

import dev.returnpath.config.RelayConfig;

import dev.returnpath.message.MessageBytes;

import java.net.InetAddress;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Optional;

/**
 * What {@code inbound} hands on after DATA: the envelope as the client gave it, who gave it,
 * the configuration in force when its transaction began, and the message's bytes as they lie in
 * the listener's buffer or scratch file: they are the listener's, valid until
 * {@link MessageSink#accept} returns.
 *
 * @param authUser the name the client authenticated as, when it did
 */
public record ReceivedMessage(String id, RelayConfig config, InetAddress client, String helo,
                              Optional<String> authUser, String reversePath, List<String> forwardPaths,
                              ZonedDateTime arrival, Data data) {

    public ReceivedMessage {
        forwardPaths = List.copyOf(forwardPaths);
    }

    /**
     * The message in {@code bytes} (whose first {@code size} bytes are this message's): the
     * header fields ({@code header}, up to the CRLF of the last field), then from
     * {@code bodyOffset} the empty line and the body, exactly as received.
     * The flags say what DATA found against the listener's limits and policy.
     */
    public record Data(MessageBytes bytes, byte[] header, long bodyOffset, long size, boolean tooBig,
                       boolean headerTooBig, boolean bareNewline) {}

    /** The client's address as the log writes it. */
    public String clientAddress() {
        return client.getHostAddress();
    }
}
