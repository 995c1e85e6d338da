/**
 * Configuration: HOCON from {@code reference.conf} with the operator's file over it, parsed once
 * into immutable records ({@link dev.returnpath.config.RelayConfig}) and validated value by
 * value, rules and return-path templates included ({@link dev.returnpath.config.Rule},
 * {@link dev.returnpath.config.ReturnPathTemplate}, {@link dev.returnpath.config.Glob}).
 *
 * <p>Entry points: {@link dev.returnpath.config.ConfigLoader#load} (throws a
 * {@link dev.returnpath.config.ConfigException} naming file, line and key, e.g.
 * {@code returnpath.rules.0.match.client}), {@link dev.returnpath.config.ConfigHolder}, the one
 * reference a reload swaps, and {@link dev.returnpath.config.ConfigWatcher}, which polls the
 * file's content for {@code serve} and swaps in a valid new tree, saying what changed
 * ({@link dev.returnpath.config.ConfigDiff}).
 *
 * <p>Nothing outside this package sees a Typesafe {@code Config} or a raw string value. The hash
 * key and the smarthost password never appear in a message or a {@code toString()}.
 */
package dev.returnpath.config;
