/**
 * Cleanup: the stage between the listener and the hand-off, as Postfix's {@code cleanup}.
 * {@link dev.returnpath.cleanup.Cleanup#prepare} takes a {@code ReceivedMessage} and returns
 * the {@link dev.returnpath.cleanup.PreparedMessage} that leaves: DATA's verdicts (size,
 * header size, bare CR/LF), the hop count, the rewrite decision applied, the SPF guard's
 * verdict for the envelope sender that will be sent, the arrival log line, our Received line,
 * the app's Return-Path removed. {@link dev.returnpath.cleanup.Cleanup#plan} is its pure part,
 * which {@code rewrite-test} prints. DKIM signing, when it comes, is the last thing it does.
 *
 * <p>Never connects upstream and never writes the spool: its only I/O is the SPF guard's DNS
 * ({@link dev.returnpath.cleanup.SpfGuards}) and the mail log.
 */
package dev.returnpath.cleanup;
