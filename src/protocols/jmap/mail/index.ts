/**
 * The JMAP Mail method table (RFC 8621 §2-§5) and the account capability it advertises; the composition
 * root merges it with the Core table.
 */
import type { MethodTable } from '../method.ts';
import type { JmapMailBackend } from './backend.ts';
import { emailGetMethods } from './email-get.ts';
import { emailQueryMethods } from './email-query.ts';
import { emailSetMethods } from './email-set.ts';
import { mailboxMethods } from './mailbox-methods.ts';
import { submissionMethods, type JmapSubmissionBackend } from './submission-methods.ts';
import { threadMethods } from './thread-methods.ts';

export function mailMethods(): MethodTable<JmapMailBackend> {
  return { ...mailboxMethods(), ...threadMethods(), ...emailGetMethods(), ...emailQueryMethods(), ...emailSetMethods() };
}

/** Mail plus Identity and EmailSubmission, for a backend that can send. */
export function mailAndSubmissionMethods(): MethodTable<JmapSubmissionBackend> {
  return { ...(mailMethods() as MethodTable<JmapSubmissionBackend>), ...submissionMethods() };
}

/**
 * RFC 8621 §1.3.2: the urn:ietf:params:jmap:submission account capability. With delayed sending, the
 * FUTURERELEASE extension is listed with its EHLO arguments (RFC 4865 §3: the longest interval in seconds
 * and the latest release date-time).
 */
export function submissionAccountCapability(options: { maxDelayedSend: number; now: Date } = { maxDelayedSend: 0, now: new Date(0) }): Record<string, unknown> {
  if (options.maxDelayedSend <= 0) return { maxDelayedSend: 0, submissionExtensions: {} };
  const latest = new Date(options.now.getTime() + options.maxDelayedSend * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { maxDelayedSend: options.maxDelayedSend, submissionExtensions: { FUTURERELEASE: [String(options.maxDelayedSend), latest] } };
}

/** RFC 8621 §1.3.1: the urn:ietf:params:jmap:mail account capability. */
export function mailAccountCapability(): Record<string, unknown> {
  return {
    maxMailboxesPerEmail: null,
    maxMailboxDepth: null,
    maxSizeMailboxName: 255,
    maxSizeAttachmentsPerEmail: 50_000_000,
    emailQuerySortOptions: ['receivedAt', 'size', 'from', 'to', 'subject', 'sentAt', 'hasKeyword', 'allInThreadHaveKeyword', 'someInThreadHaveKeyword'],
    mayCreateTopLevelMailbox: true,
  };
}
