/**
 * The message as bytes: its header block, parsed field by field with the raw bytes kept, the
 * header From that DMARC aligns with, address syntax, and the one header edit that needs to
 * understand address lists: From alignment ({@link dev.returnpath.message.FromAlignment}), which
 * copies display names and the Reply-To value byte for byte.
 *
 * <p>Entry points: {@link dev.returnpath.message.HeaderBlock#parse}, {@link
 * dev.returnpath.message.FromHeader#of}, {@link dev.returnpath.message.Addresses},
 * {@link dev.returnpath.message.FromAlignment#align}.
 *
 * <p>{@link dev.returnpath.message.MessageBytes} is where a received message's bytes lie (the
 * listener's buffer, or a scratch file for a large one) and how every later stage reads them.
 *
 * <p>Never parses or changes the body; does no I/O but the positional reads of
 * {@code MessageBytes}.
 */
package dev.returnpath.message;
