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
 * <p>Never parses or touches the body; never does I/O.
 */
package dev.returnpath.message;
