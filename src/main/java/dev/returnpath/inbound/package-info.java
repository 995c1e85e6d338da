/**
 * Inbound SMTP: the listener ({@link dev.returnpath.inbound.Inbound}, SubEthaSMTP on virtual
 * threads), access control by network, MAIL and RCPT syntax, DATA streamed to a scratch file
 * with the size limit and the bare-CR/LF policy ({@code DataReceiver}), and the
 * {@link dev.returnpath.inbound.Receiver}, which turns a finished DATA into a
 * {@link dev.returnpath.inbound.ReceivedMessage} and hands it to a
 * {@link dev.returnpath.inbound.MessageSink}; a {@link dev.returnpath.inbound.Refusal} from
 * the sink becomes the reply on the wire. {@link dev.returnpath.inbound.Inbound#shutdown} is
 * the graceful stop of SIGTERM. {@code ListenerTls} gives SubEtha the TLS sockets (STARTTLS and
 * the implicit-TLS port, {@link dev.returnpath.tls.TlsPolicy}'s protocols and suites, the
 * certificate re-read when its files change); {@code Ehlo} replaces SubEtha's EHLO so that
 * STARTTLS is not offered again over TLS, and AUTH only over it; {@code ListenerAuth} is AUTH
 * PLAIN/LOGIN against the users file ({@code 538 5.7.11} before TLS, {@code 535 5.7.8}) and
 * the MAIL gate for {@code listen.auth.require-for} ({@code 530 5.7.0}); {@code ListenerLimits}
 * holds {@code listen.limits} (connections per IP, messages per minute, AUTH failures, the
 * session deadline; {@code DataDeadline} the DATA one; {@code CommandErrors} the bad-command
 * limit, read from the replies on the session's socket). EHLO offers PIPELINING, and
 * {@code CoalescedReplies} answers a pipelined group in one write: the listener's sockets hold
 * what SubEtha writes until the session reads again (or closes, or has answered DATA), so a
 * reply is never held while the session waits for the client.
 *
 * <p>Never holds a message body in memory, never replies before DATA is drained, and never
 * decides what leaves: that is cleanup's.
 */
package dev.returnpath.inbound;
