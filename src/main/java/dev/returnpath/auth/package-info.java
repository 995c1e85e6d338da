/**
 * The listener's users: {@link dev.returnpath.auth.PasswordHash} (PBKDF2-HMAC-SHA256 from the
 * JDK, salted, 600,000 iterations, compared in constant time) and
 * {@link dev.returnpath.auth.UsersFile} ({@code NAME:HASH} lines, read with the configuration).
 * {@code returnpath passwd NAME} writes a line. Passwords are never logged or kept.
 */
package dev.returnpath.auth;
