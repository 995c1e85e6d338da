/**
 * The rewrite policy: which envelope sender (Return-Path) a message leaves with, and which
 * header edits a rule asks for.
 *
 * <p>Entry point: {@link dev.returnpath.rewrite.Rewriter#decide}, a pure function of a
 * {@link dev.returnpath.rewrite.RewriteInput} (envelope, client, header block) and the
 * configuration, returning a sealed {@link dev.returnpath.rewrite.RewriteDecision}: rewrite,
 * keep or reject, the rule that decided, why, why the rules before it did not match, and the
 * edited header block ({@link dev.returnpath.rewrite.HeaderEdits}). Order: {@code rules} (first
 * match wins), then the domain map, then {@code rewrite.unknown-domain}. Organizational domains
 * come from the Public Suffix List ({@link dev.returnpath.rewrite.OrganizationalDomain});
 * templates expand in {@link dev.returnpath.rewrite.ReturnPaths}.
 *
 * <p>{@code rewrite} performs no I/O: no DNS, no files, no clock. It is tested by tables. The
 * null sender is never rewritten.
 */
package dev.returnpath.rewrite;
