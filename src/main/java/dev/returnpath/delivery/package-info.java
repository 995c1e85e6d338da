/**
 * Delivery upstream: one small interface, {@link dev.returnpath.delivery.Delivery#deliver}
 * (envelope, message) to a per-recipient {@link dev.returnpath.delivery.DeliveryOutcome}, with
 * the smarthost implementation on Angus Mail, and RFC 3464 delivery status notifications
 * ({@link dev.returnpath.delivery.Dsn}).
 *
 * <p>The only package that speaks SMTP upstream. It never throws for an upstream problem and
 * never waits without a deadline; it never changes a byte of the message it is given.
 */
package dev.returnpath.delivery;
