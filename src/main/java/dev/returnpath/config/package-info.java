/**
 * Configuration: HOCON from {@code reference.conf} with the operator's file over it, parsed once
 * into immutable records ({@link dev.returnpath.config.RelayConfig}) and validated value by
 * value.
 *
 * <p>Entry points: {@link dev.returnpath.config.ConfigLoader#load} (throws a
 * {@link dev.returnpath.config.ConfigException} naming file, line and key) and
 * {@link dev.returnpath.config.ConfigHolder}, the one reference a reload swaps.
 *
 * <p>Nothing outside this package sees a Typesafe {@code Config} or a raw string value.
 */
package dev.returnpath.config;
