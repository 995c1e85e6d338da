/**
 * The durable queue of {@code queue.mode = spool}.
 *
 * <p>{@link dev.returnpath.queue.Spool} is the directory: {@code commit} appends a message and its
 * envelope to the {@link dev.returnpath.queue.Journal}, one fdatasync shared by the commits
 * waiting; a message that must wait for a retry is moved to its own files
 * ({@link dev.returnpath.queue.QueueEntry}, a line-based text file, and the message) with fsyncs
 * and an atomic rename; start-up removes what a crash left half-written and moves what the
 * journal holds to those files; per-entry locks let the {@code queue} command work beside
 * {@code serve}. {@link dev.returnpath.queue.QueueRunner} delivers in the background: retries
 * with doubling intervals, per-recipient state, DSNs for permanent failures and
 * {@code max-age}, delay warnings, bounded concurrency per destination.
 * {@link dev.returnpath.queue.ContainerVolume} warns when the spool would vanish with its
 * container.
 *
 * <p>The disk is the truth: an attempt re-reads the envelope before it delivers, and a message
 * leaves the spool only once every recipient was delivered or reported. It never loses an
 * entry it acknowledged; after a crash between an upstream 250 and the state write it may
 * deliver a recipient twice.
 */
package dev.returnpath.queue;
