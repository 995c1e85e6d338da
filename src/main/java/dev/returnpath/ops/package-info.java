/**
 * Operating the relay: the mail log ({@link dev.returnpath.ops.MailLog}).
 *
 * <p>Never logs a message body or a secret.
 */
package dev.returnpath.ops;
