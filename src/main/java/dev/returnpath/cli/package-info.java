/**
 * The command line ({@link dev.returnpath.cli.Main}, picocli): {@code serve}, {@code check-spf},
 * {@code doctor}, {@code rewrite-test}, {@code queue},
 * {@code healthcheck}. {@code serve} is the one place where
 * the parts are wired together, with constructors and no framework.
 *
 * <p>Exit codes: 0, 1 (a check failed), 2 (usage), 78 (configuration; the message names file,
 * line and key). Only {@code serve} logs to stdout.
 */
package dev.returnpath.cli;
