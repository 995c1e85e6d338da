/**
 * Bounce intake: the reports that come back to the Return-Path mailbox.
 *
 * <p>{@link dev.returnpath.bounce.ReportParser} turns a message into {@link dev.returnpath.bounce.Report}s
 * (DSN recipient blocks, RFC 3464; feedback reports, RFC 5965; plain-text bounces of old MTAs that
 * include the original headers) and returns nothing for anything else, which is then left alone.
 * Only the returned message's header block is kept, never its body.
 * {@link dev.returnpath.bounce.Attribution} ties a report to the message returnpath sent (queue ID
 * in our Received line, Original-Envelope-Id, or a {@code {hash}} return-path address whose hash
 * verifies with {@code rewrite.hash-key}; a forged hash is not attributed).
 * {@link dev.returnpath.bounce.BounceClass} gives the metric's class and the log line's cause and fix.
 *
 * <p>{@link dev.returnpath.bounce.BounceIntake} is the poller {@code RelayAssembly} starts when
 * {@code bounces.imap.host} is set: one platform thread, one IMAP connection kept in IDLE between
 * passes where the server offers it, else a new connection per pass every {@code interval}
 * ({@code Mailbox}: Angus Mail, TLS verified), a claim per report before its {@code bounce:}
 * line and {@code returnpath_bounces_total} (a CONDSTORE conditional STORE, else the UID MOVE's
 * COPYUID), then move, delete or flag. An unreachable server is logged once per new problem,
 * and the next interval tries again. {@code BounceRecords} notes each report in {@code queue.dir}
 * for {@code queue show} and the doctor. See docs/bounces.md.
 */
package dev.returnpath.bounce;
