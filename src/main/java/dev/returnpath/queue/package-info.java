/**
 * The durable queue of {@code queue.mode = spool}.
 *
 * <p>{@link dev.returnpath.queue.Spool} is the directory: {@code commit} writes a message and its
 * envelope ({@link dev.returnpath.queue.QueueEntry}, a line-based text file) with fsyncs and an
 * atomic rename, the directory fsync shared among concurrent commits; start-up removes what a
 * crash left half-written; per-entry locks let the {@code queue} command work beside
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
