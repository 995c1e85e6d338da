/**
 * The hand-off: the last stage, which takes a prepared message and decides the client's reply.
 * {@link dev.returnpath.handoff.Passthrough} delivers while the client waits and maps the
 * upstream's per-recipient verdict to one reply (and a DSN for a partial failure);
 * {@link dev.returnpath.handoff.Spooling} commits to the spool and answers
 * {@code 250 queued as ID}, leaving delivery to the queue manager.
 *
 * <p>Never answers 250 for a message that is neither accepted upstream nor fsync'ed, and never
 * changes the bytes cleanup prepared.
 */
package dev.returnpath.handoff;
