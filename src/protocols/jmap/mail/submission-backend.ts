/**
 * What Identity and EmailSubmission (RFC 8621 §6, §7) need from the server, per account: identities and
 * the addresses the login may send as, the sending service, and the durable submission records with their
 * states and change history. `app/jmap-submission-backend.ts` implements it on the store and the services.
 */
import type { JmapIdentity } from '../backend.ts';
import type { JmapMailBackend, MailObjectChange } from './backend.ts';

/** RFC 8621 §4.1.2.3 EmailAddress. */
export interface JmapEmailAddress {
  name: string | null;
  email: string;
}

export interface JmapIdentityRecord {
  id: string;
  name: string;
  email: string;
  replyTo: JmapEmailAddress[] | null;
  bcc: JmapEmailAddress[] | null;
  textSignature: string;
  htmlSignature: string;
  mayDelete: boolean;
}

export type IdentityFields = Omit<JmapIdentityRecord, 'id' | 'mayDelete'>;

export interface SubmissionEnvelopeInput {
  mailFrom: { email: string; parameters: Record<string, string | null> | null };
  rcptTo: { email: string; parameters: Record<string, string | null> | null }[];
}

export interface JmapDeliveryStatus {
  smtpReply: string;
  delivered: 'queued' | 'yes' | 'no' | 'unknown';
  displayed: 'unknown' | 'yes';
}

export interface EmailSubmissionRecord {
  id: string;
  identityId: string;
  emailId: string;
  threadId: string;
  envelope: SubmissionEnvelopeInput;
  /** UTCDate. */
  sendAt: string;
  undoStatus: 'pending' | 'final' | 'canceled';
  deliveryStatus: Record<string, JmapDeliveryStatus> | null;
  dsnBlobIds: string[];
  mdnBlobIds: string[];
}

export type SubmitOutcome =
  | { ok: true; queueId: string; text: string; /** Envelope recipients queued (the others were delivered into mailboxes at once). */ queued: string[] }
  | { ok: false; code: number; enhancedCode: string; text: string; rule: string };

export interface NewSubmission {
  identityId: string;
  emailId: number;
  threadId: number;
  envelope: SubmissionEnvelopeInput;
  sendAt: Date;
  undoStatus: 'pending' | 'final';
  deliveryStatus: Record<string, JmapDeliveryStatus>;
  queueId: string;
}

export interface SubmissionLimits {
  /** RFC 8621 §1.3.2 maxDelayedSend: the longest delay of a delayed send, in seconds (0: none). */
  maxDelayedSend: number;
  /** Identities an account may have, the primary one included. */
  maxIdentities: number;
  /** Longest textSignature or htmlSignature, in UTF-16 code units. */
  maxSignatureSize: number;
}

export interface JmapSubmissionBackend extends JmapMailBackend {
  readonly submissionLimits: SubmissionLimits;
  now(): Date;
  /** The account's identities (the primary one first) and the Identity state. */
  identities(identity: JmapIdentity, accountId: string): Promise<{ list: JmapIdentityRecord[]; state: number }>;
  identityChanges(accountId: string, sinceState: number, limit: number): Promise<(Omit<MailObjectChange, 'id'> & { id: string })[]>;
  /** Whether the login may send as this address (the sender rights of every submission). */
  maySendAs(identity: JmapIdentity, accountId: string, email: string): Promise<boolean>;
  createIdentity(accountId: string, fields: IdentityFields): Promise<JmapIdentityRecord>;
  /** Null when the account has no such identity. */
  updateIdentity(accountId: string, id: string, fields: IdentityFields): Promise<JmapIdentityRecord | null>;
  /** 'forbidden' for the primary identity. */
  destroyIdentity(accountId: string, id: string): Promise<true | 'notFound' | 'forbidden'>;
  /** Sends the stored email with this envelope through the sending service; resolves once it is queued durably. */
  submit(identity: JmapIdentity, accountId: string, input: { emailId: number; envelope: SubmissionEnvelopeInput; holdUntil: Date | null }): Promise<SubmitOutcome>;
  /** The account's submissions (these ids, or all) and the EmailSubmission state. */
  submissions(accountId: string, ids?: readonly string[]): Promise<{ list: EmailSubmissionRecord[]; state: number }>;
  submissionChanges(accountId: string, sinceState: number, limit: number): Promise<(Omit<MailObjectChange, 'id'> & { id: string })[]>;
  recordSubmission(accountId: string, record: NewSubmission): Promise<EmailSubmissionRecord>;
  /** Takes a pending submission back out of the queue (through the queue's service) and records it canceled. */
  cancelSubmission(identity: JmapIdentity, accountId: string, id: string): Promise<'canceled' | 'cannotUnsend' | 'notFound'>;
  destroySubmissions(accountId: string, ids: readonly string[]): Promise<string[]>;
}
