package dev.returnpath.bounce;

import java.util.Optional;

/**
 * One report read from the Return-Path mailbox: a DSN recipient block (RFC 3464), a feedback
 * report (ARF, RFC 5965) or a recognised plain-text bounce from an old MTA.
 *
 * @param kind            {@code dsn}, {@code arf} or {@code text}
 * @param action          {@code failed}, {@code delayed}, {@code delivered}, … ({@code complaint} for ARF)
 * @param status          the enhanced status code ({@code 5.7.26}), empty when none was given
 * @param recipient       the recipient the report is about (Final-Recipient, Original-Rcpt-To)
 * @param reportingMta    the MTA that wrote the report (Reporting-MTA, else its From domain)
 * @param diagnostic      the diagnostic text (Diagnostic-Code, the SMTP reply, Feedback-Type)
 * @param envelopeId      Original-Envelope-Id, if any
 * @param originalFrom    the original message's envelope sender as the report gives it
 *                        (Original-Mail-From, the returned Return-Path), if any
 * @param returnedHeaders the original message's header block as returned, empty when absent
 * @param bounceTo        the address the report was sent to (the bounce's To or Delivered-To)
 * @param feedbackType    ARF's Feedback-Type ({@code abuse}), empty for bounces
 */
public record Report(String kind, String action, String status, String recipient, String reportingMta,
                     String diagnostic, Optional<String> envelopeId, Optional<String> originalFrom,
                     String returnedHeaders, Optional<String> bounceTo, Optional<String> feedbackType) {
}
