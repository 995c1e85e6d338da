/**
 * The one place the relay is wired: {@link dev.returnpath.assembly.RelayAssembly} builds
 * listener, cleanup, hand-off, spool and queue manager over one set of deliveries, with
 * constructors and no framework. {@code serve} and the tests use it alike, so the tests run the
 * production wiring. Holds no static state: two relays can run in one JVM.
 */
package dev.returnpath.assembly;
