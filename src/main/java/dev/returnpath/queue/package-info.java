/**
 * The durable queue of {@code queue.mode = spool}, and the reports both modes write.
 *
 * <p><b>The spool.</b> {@link dev.returnpath.queue.Spool} is the directory: {@code commit}
 * appends a message and its envelope to the {@link dev.returnpath.queue.Journal}, one fdatasync
 * shared by the commits waiting; a message that must wait for a retry is moved to its own files
 * ({@link dev.returnpath.queue.QueueEntry}, a line-based text file, and the message) with fsyncs
 * and an atomic rename; start-up removes what a crash left half-written and moves what the
 * journal holds to those files; per-entry locks let the {@code queue} command work beside
 * {@code serve}. {@link dev.returnpath.queue.ContainerVolume} warns when the spool would vanish
 * with its container. {@code ListIndex} is {@code queue list}'s copy of every envelope in one
 * file: derived data, checked against the directory and the envelopes, never decided on;
 * {@code ListIndexKeeper} refreshes it from {@code serve} in the background while many wait.
 *
 * <p><b>The queue manager</b>, in parts as Postfix's {@code qmgr} is:
 * <ul>
 *   <li>{@link dev.returnpath.queue.QueueRunner}, the entry point ({@code enqueue}, {@code start},
 *       {@code wake}, {@code size}, {@code shutdown}): wires the parts below.
 *   <li>{@code Scheduler} ({@code qmgr_active.c}): when each message is tried, the flush marker,
 *       {@code max-concurrency} attempts in flight, shutdown. It delivers nothing.
 *   <li>{@code Attempts} ({@code qmgr_deliver.c}): one attempt's I/O. It locks and re-reads the
 *       entry, routes the unfinished recipients to next hops ({@code delivery.Router}), holds one
 *       of {@code destination-concurrency} permits of each hop while it delivers to it, logs a
 *       line per recipient, spools the DSNs the step asks for, and writes the entry back.
 *   <li>{@code DeadRoutes} (the dead-destination state of {@code qmgr_queue.c}): which next hops
 *       could not be connected to, shared by every entry; while a hop is down its recipients are
 *       deferred without a connection, and one probe at a time after a doubling wait decides
 *       when it is back. Pure: the caller gives the time.
 *   <li>{@code AttemptStep} ({@code qmgr_defer.c}): pure, no I/O and no clock. From the entry,
 *       this attempt's outcomes, the time and the queue settings: the new recipient states, the
 *       failures to report (a permanent reply, or {@code max-age}), a delay warning once, and the
 *       next attempt (first-retry doubling up to max-retry-interval, never after expiry).
 *   <li>{@link dev.returnpath.queue.Bounces} ({@code qmgr_bounce.c}): the failure notices and
 *       delay warnings (RFC 3464) and the lines that announce them, for the queue and for
 *       passthrough alike; a message from the null sender is never reported on, its failed
 *       recipients are dropped with a line each.
 * </ul>
 *
 * <p>The disk is the truth: an attempt re-reads the envelope before it delivers, and a message
 * leaves the spool only once every recipient was delivered or reported. A DSN is committed
 * before its recipients are written as bounced, so a crash can duplicate a DSN, never lose one.
 * It never loses an entry it acknowledged; after a crash between an upstream 250 and the state
 * write it may deliver a recipient twice. It never speaks SMTP itself ({@code delivery} does) and
 * never parses a log line: every line is a {@code MailEvent}.
 */
package dev.returnpath.queue;
