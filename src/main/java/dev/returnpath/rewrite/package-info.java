/**
 * The rewrite policy: which envelope sender (Return-Path) a message leaves with.
 *
 * <p>Entry point: {@link dev.returnpath.rewrite.Rewriter#decide}, a pure function of the
 * envelope, the header From domain and the configuration, returning a sealed
 * {@link dev.returnpath.rewrite.RewriteDecision}. Organizational domains come from the Public
 * Suffix List ({@link dev.returnpath.rewrite.OrganizationalDomain}).
 *
 * <p>{@code rewrite} performs no I/O: no DNS, no files, no clock. It is tested by tables.
 */
package dev.returnpath.rewrite;
