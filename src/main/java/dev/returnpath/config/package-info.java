/**
 * Configuration: HOCON from {@code reference.conf} with the operator's file over it, parsed once
 * into immutable records ({@link dev.returnpath.config.RelayConfig}) and validated value by
 * value, rules and return-path templates included ({@link dev.returnpath.config.Rule},
 * {@link dev.returnpath.config.ReturnPathTemplate}, {@link dev.returnpath.config.Glob}).
 *
 * <p>Entry points: {@link dev.returnpath.config.ConfigLoader#load(java.nio.file.Path)} (throws a
 * {@link dev.returnpath.config.ConfigException} naming file, line and key, e.g.
 * {@code returnpath.rules.0.match.client}; {@code serve} exits 78 on it);
 * {@link dev.returnpath.config.ConfigLoader#load(java.nio.file.Path, java.util.Map)}, the same
 * with the environment given as a map (tests); {@link dev.returnpath.config.ConfigHolder}, the
 * one reference a reload swaps; {@link dev.returnpath.config.ConfigWatcher}, which polls the
 * file's content for {@code serve} and swaps in a valid new tree, saying what changed
 * ({@link dev.returnpath.config.ConfigDiff}); and {@link dev.returnpath.config.Endpoint}, a host
 * and port parsed once ({@code host}, {@code host:port}, {@code [v6]:port}, a bare IPv6 address),
 * whose host is never bracketed.
 *
 * <p>Inside: {@code ConfigLoader} layers and resolves the tree and checks for unknown keys (outside
 * {@code returnpath { }} too); {@code ConfigReader} is the one typed reader of it, whose every
 * error names file, line and key, and writes durations as the file does ({@code 5ms}, not
 * {@code PT0.005S}); one parser per section turns a part of the tree into its record:
 * {@code ListenSection}, {@code DomainsSection}, {@code RulesSection}, {@code RewriteSection},
 * {@code DeliverySection}, {@code QueueSection}, {@code DnsSection}, {@code SpfSection},
 * {@code ManagementSection}, {@code LogSection}, and {@code OAuthSection} for a smarthost's
 * {@code oauth} block (under any smarthost key prefix, so a route's too; a Google service account
 * key file is read and checked there); {@code Secrets} reads a secret key {@code K} or its
 * {@code K-file} (content trimmed, read at every parse, so a reload re-reads it; both set is an
 * error), for {@code delivery.smarthost.password}, each route's, {@code bounces.imap}'s and
 * {@code oauth.client-secret}.
 * {@code DeliverySection} reads {@code delivery.routes}: each entry through
 * {@code ConfigReader.entry} (a list entry read as though it stood at
 * {@code returnpath.delivery.routes.N}), its {@code smarthost} block by the one smarthost parser.
 *
 * <p>What it never does: nothing outside this package sees a Typesafe {@code Config} or a raw
 * string value; a missing file is never an empty configuration; a key it does not know is never
 * ignored; a default the container image sets through the environment ({@code RETURNPATH_*},
 * read by {@code reference.conf}) is never overridden by the shipped {@code conf/returnpath.conf};
 * and the hash key, the smarthost passwords, the OAuth client secrets and a service account's key
 * never appear in a message or a {@code toString()}.
 * It opens no socket, and looks up no name but the machine's own (the default {@code hostname}):
 * any other host is checked for its form only.
 */
package dev.returnpath.config;
