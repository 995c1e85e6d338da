/**
 * Delivery upstream: routing, the SMTP client, and delivery status notifications.
 *
 * <p><b>Entry points.</b> {@link dev.returnpath.delivery.Delivery#deliver}(envelope, message)
 * gives a per-recipient {@link dev.returnpath.delivery.DeliveryOutcome}; the instance for the
 * configuration in force comes from {@link dev.returnpath.delivery.Deliveries#apply} (the same
 * one, and so the same pooled connections, until a reload changes the delivery settings).
 * {@link dev.returnpath.delivery.Router#route} chooses the message's route by the envelope sender
 * that leaves ({@code delivery.routes}, else the default route of {@code delivery.mode}) and
 * resolves its recipients to {@link dev.returnpath.delivery.NextHop}s (a smarthost, or the MX
 * hosts of one domain, each carrying its route's name) before anything connects: a pure
 * function, used by the queue for its per-destination limits and by the log lines too.
 * {@link dev.returnpath.delivery.UpstreamProbe#probe} (any smarthost: the default or a route's) and
 * {@link dev.returnpath.delivery.DirectDelivery#probe} check the upstream for the doctor;
 * {@link dev.returnpath.delivery.Dsn} builds RFC 3464 failure and delay notifications.
 *
 * <p><b>How.</b> {@link dev.returnpath.delivery.RoutedDelivery} delivers each leg of the route
 * (several legs at once) with one SMTP client engine, {@code SmtpClient}, whatever the next hop:
 * {@link dev.returnpath.delivery.SmarthostDelivery} (pooled connections, keyed by next hop,
 * reused with RSET after a transaction that ended early; STARTTLS required or implicit TLS,
 * verified; AUTH PLAIN or LOGIN, or XOAUTH2 with a token from the smarthost's
 * {@link dev.returnpath.oauth.TokenSource}) and {@link dev.returnpath.delivery.DirectDelivery} (MX lookup
 * through {@code dns} per RFC 5321 §5.1 and RFC 7505, a connection per attempt, opportunistic
 * or required STARTTLS). {@code SmtpConnection} speaks the protocol: PIPELINING (RFC 2920) when
 * offered, SMTPUTF8 (RFC 6531) when needed and offered, never a non-ASCII address without it
 * (553 5.6.7). {@code Failure} is the one table of the replies the relay writes itself
 * (4.4.1 connect, 4.4.2 timeout or lost connection, 4.7.5 TLS, 4.7.8 AUTH or no OAuth token, ...).
 *
 * <p><b>Never.</b> It never throws for an upstream problem: refusals, timeouts and broken
 * connections become per-recipient outcomes. It never waits without a deadline (connect, every
 * write, and every reply as a whole) and never reads a reply past its bounds (lines, bytes): a
 * server cannot make it hold memory or a thread. It never changes a byte of the message beyond
 * SMTP's own dot-stuffing and CRLF line ends, and never logs or echoes a password or a token.
 */
package dev.returnpath.delivery;
