/**
 * Inbound SMTP: the listener ({@link dev.returnpath.inbound.Inbound}, SubEthaSMTP on virtual
 * threads), access control by network, RCPT syntax, DATA streamed to a file with the size limit
 * and the bare-CR/LF policy ({@code DataReceiver}), and the pipeline after DATA
 * ({@link dev.returnpath.inbound.Relay}): rewrite, SPF guard, then either deliver and answer the
 * app with the upstream's verdict (passthrough) or hand the message to the spool and answer
 * {@code 250 queued} once it is on disk (spool). {@link dev.returnpath.inbound.Inbound#shutdown}
 * is the graceful stop of SIGTERM.
 *
 * <p>Never holds a message body in memory, never rejects before DATA is drained, and never
 * answers 250 for a message that is neither accepted upstream nor fsync'ed in the spool.
 */
package dev.returnpath.inbound;
