/**
 * Operating the relay: the mail log, the JSON log layout, metrics, the management endpoints, the
 * {@code doctor} checks and the hints that explain an upstream's rejection.
 *
 * <p><b>The mail log.</b> Each line is a {@link dev.returnpath.ops.MailEvent}, a record per kind
 * of line (arrival, rejected, recipient, expired, dropped, queued, removed, DSN sent, DSN arrival,
 * no DSN, template fallback, SPF warned, storage error, and the relay-wide config reload). A
 * stage builds the record and calls {@link dev.returnpath.ops.MailLog#log} once; the record
 * renders its fields, in order, to a {@link dev.returnpath.ops.MailEvent.Fields} writer. There
 * are two writers: the text line ({@link dev.returnpath.ops.MailLog#text}, the logging event's
 * message, {@code ID: key=value ...} as Postfix's maillog) and the JSON object
 * ({@link dev.returnpath.ops.JsonLogLayout}, {@code log.format = json}), which takes the record
 * from the logging event's key-value pair {@code mail}. Nothing parses a line back.
 *
 * <p>A value from the wire (EHLO, an address, an upstream's reply, a header name) cannot forge a
 * key or hide one in either writer: the text writer quotes or escapes a value that could end
 * early ({@link dev.returnpath.ops.MailLog} says how), the JSON writer writes each key once as
 * one string, and both replace line breaks, C1 controls, U+2028/U+2029 and bidi controls by
 * {@code ?} ({@link dev.returnpath.ops.MailLog#printable}). An ordinary value is written as it
 * is, so the lines in the README stay byte for byte what they were.
 *
 * <p>Never logs a message body or a secret.
 */
package dev.returnpath.ops;
