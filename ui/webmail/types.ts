/** The JMAP objects the webmail reads (RFC 8621), with only the properties it asks for. */
import type { VNode } from 'preact';
import type { MessageKey } from './i18n.ts';

export type T = (key: MessageKey, vars?: Record<string, string | number>) => string;
/** A rendered element; Preact's per-element prop types add nothing here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type El = VNode<any>;

export interface Mailbox { id: string; name: string; parentId: string | null; role: string | null; sortOrder: number; unreadEmails: number; totalEmails: number }
export interface Addr { name: string | null; email: string }
export interface ListItem {
  id: string; threadId: string; mailboxIds: Record<string, boolean>; from: Addr[] | null; to: Addr[] | null; subject: string | null;
  preview: string; receivedAt: string; keywords: Record<string, boolean>; hasAttachment: boolean;
}
export interface BodyPart { partId: string; blobId: string; type: string; name: string | null; size: number; cid: string | null; disposition: string | null }
export interface FullEmail extends ListItem {
  blobId: string; cc: Addr[] | null; bcc: Addr[] | null; replyTo: Addr[] | null; messageId: string[] | null; references: string[] | null; sentAt: string | null;
  textBody: BodyPart[]; htmlBody: BodyPart[]; attachments: BodyPart[]; bodyValues: Record<string, { value: string }>;
  'header:Authentication-Results:asText:all': string[] | null;
}
export interface Identity { id: string; name: string; email: string; textSignature: string; htmlSignature: string; replyTo: Addr[] | null; bcc: Addr[] | null }

export const LIST_PROPS = ['threadId', 'mailboxIds', 'from', 'to', 'subject', 'preview', 'receivedAt', 'keywords', 'hasAttachment'];
export const FULL_PROPS = [...LIST_PROPS, 'blobId', 'cc', 'bcc', 'replyTo', 'messageId', 'references', 'sentAt', 'textBody', 'htmlBody', 'attachments', 'bodyValues', 'header:Authentication-Results:asText:all'];
export const PART_PROPS = ['partId', 'blobId', 'type', 'name', 'size', 'cid', 'disposition'];
