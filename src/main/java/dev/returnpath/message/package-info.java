/**
 * The message as bytes: its header block, parsed field by field with the raw bytes kept, the
 * header From that DMARC aligns with, and address syntax.
 *
 * <p>Entry points: {@link dev.returnpath.message.HeaderBlock#parse}, {@link
 * dev.returnpath.message.FromHeader#of}, {@link dev.returnpath.message.Addresses}.
 *
 * <p>Never parses or touches the body; never does I/O.
 */
package dev.returnpath.message;
