package dev.returnpath.inbound;

/**
 * Where the listener hands a received message: cleanup, then a hand-off (wired by the
 * assembler). {@code accept} returns the text of the 250 reply ({@code 2.0.0 Ok: ...}) or
 * throws the {@link Refusal} the client gets; it returns only once the message is delivered
 * upstream or safe on disk.
 */
@FunctionalInterface
public interface MessageSink {
    String accept(ReceivedMessage message) throws Refusal;
}
