package dev.returnpath.handoff;

import dev.returnpath.cleanup.PreparedMessage;
import dev.returnpath.inbound.Refusal;

/**
 * The last stage: takes a prepared message off the listener's hands and says what the client
 * is answered. {@link Passthrough} delivers it now and answers with the upstream's verdict;
 * {@link Spooling} commits it to the spool and answers once it is on disk. Either way, the
 * 250 text is returned only for a message that is delivered upstream or fsync'ed.
 */
public sealed interface Handoff permits Passthrough, Spooling {
    /** The text of the 250 reply, or the {@link Refusal} the client gets. */
    String handOff(PreparedMessage message) throws Refusal;
}
