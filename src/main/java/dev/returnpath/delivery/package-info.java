/**
 * Delivery upstream: one small interface, {@link dev.returnpath.delivery.Delivery#deliver}
 * (envelope, message) to a per-recipient {@link dev.returnpath.delivery.DeliveryOutcome}, with
 * two implementations chosen by {@link dev.returnpath.delivery.Deliveries}: the smarthost on
 * Angus Mail ({@link dev.returnpath.delivery.SmarthostDelivery}) and direct MX delivery
 * ({@link dev.returnpath.delivery.DirectDelivery}: MX lookup through {@code dns}, one domain at a
 * time in parallel, its own small SMTP client {@code MxSession}); and RFC 3464 delivery status
 * notifications ({@link dev.returnpath.delivery.Dsn}), failures and delay warnings.
 *
 * <p>The only package that speaks SMTP upstream. It never throws for an upstream problem and
 * never waits without a deadline; it never changes a byte of the message it is given (beyond
 * SMTP's own dot-stuffing on the wire).
 */
package dev.returnpath.delivery;
