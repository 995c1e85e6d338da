/**
 * Inbound SMTP: the listener ({@link dev.returnpath.inbound.Inbound}, SubEthaSMTP on virtual
 * threads), access control by network, RCPT syntax, DATA streamed to a file with the size limit
 * and the bare-CR/LF policy ({@code DataReceiver}), and the passthrough pipeline
 * ({@link dev.returnpath.inbound.Relay}): rewrite, deliver, and answer the app with the
 * upstream's verdict.
 *
 * <p>Never holds a message body in memory, never rejects before DATA is drained, and never
 * answers 250 for a message the upstream has not accepted.
 */
package dev.returnpath.inbound;
