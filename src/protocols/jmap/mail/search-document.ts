/**
 * What Email/query's text conditions (RFC 8621 §4.4.1) look at in a message, as one small document: the
 * search index stores it (made once, after delivery) and a message not yet indexed is turned into the same
 * document on the spot, so both answer a condition alike. Also the list properties Email/get can take from it.
 */
import type { EmailView } from './email-view.ts';
import { htmlToText } from './email-view.ts';

/** The texts, lower-cased (conditions compare case-insensitively: lower-cased term in lower-cased text). */
export interface MailSearchDocument {
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  /** [lower-case name, lower-cased raw value] of every header field. */
  headers: [string, string][];
  hasAttachment: boolean;
}

export type TextField = 'from' | 'to' | 'cc' | 'bcc' | 'subject' | 'body';

/** One test of a condition; a condition holds when all of its terms do. */
export type MailSearchTerm =
  | { kind: 'text'; fields: TextField[]; value: string }
  | { kind: 'header'; name: string; value: string | null }
  | { kind: 'hasAttachment'; value: boolean };

/** The list properties a message list shows, kept with the document so Email/get need not parse for them. */
export const SUMMARY_PROPERTIES = ['from', 'to', 'cc', 'bcc', 'replyTo', 'sender', 'subject', 'sentAt', 'messageId', 'inReplyTo', 'references', 'hasAttachment', 'preview'];

/** Decoded body text searched, at most (UTF-16 code units): bounds the index and the scan of one message. */
export const MAX_SEARCH_BODY_CHARS = 1024 * 1024;

/** RFC 8621 §4.4.1 `text`: From, To, Cc, Bcc, Subject and the text body parts. */
const TEXT_FIELDS: TextField[] = ['from', 'to', 'cc', 'bcc', 'subject', 'body'];

export interface ContentCondition {
  hasAttachment?: boolean; text?: string; from?: string; to?: string; cc?: string; bcc?: string; subject?: string; body?: string; header?: string[];
}

/** Text of the textBody parts (htmlBody when there is none), HTML reduced to text: what `body` and `text` search. */
export function bodyTextOf(view: EmailView, maxChars = Number.MAX_SAFE_INTEGER): string {
  const { textBody, htmlBody } = view.bodyLists();
  const parts = textBody.length > 0 ? textBody : htmlBody;
  let out = '';
  for (let i = 0; i < parts.length && out.length < maxChars; i++) {
    const p = parts[i]!;
    const value = p.partId === null ? '' : (view.bodyValue(p.partId, 1024 * 1024)?.value ?? '');
    out += (i > 0 ? '\n' : '') + (p.type === 'text/html' ? htmlToText(value) : value);
  }
  return out.length > maxChars ? out.slice(0, maxChars) : out;
}

/** PostgreSQL text cannot hold NUL; documents never do, on either backend, so both answer alike. */
function clean(text: string): string {
  return (text.includes('\0') ? text.replace(/\0/g, '\uFFFD') : text).toLowerCase();
}

export function searchDocumentOf(view: EmailView): MailSearchDocument {
  const addresses = (name: string): string => clean(JSON.stringify(view.headerProperty(name) ?? []));
  const subjects = view.fields.filter((f) => f.name.toLowerCase() === 'subject').map((f) => String(view.headerProperty(`header:${f.name}:asText`) ?? ''));
  return {
    from: addresses('from'),
    to: addresses('to'),
    cc: addresses('cc'),
    bcc: addresses('bcc'),
    subject: clean(subjects.join(' ')),
    body: clean(bodyTextOf(view, MAX_SEARCH_BODY_CHARS)),
    headers: view.fields.map((f) => [clean(f.name), clean(f.raw)]),
    hasAttachment: view.hasAttachment(),
  };
}

/** The list properties of SUMMARY_PROPERTIES, as Email/get returns them. */
export function summaryOf(view: EmailView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of SUMMARY_PROPERTIES) out[p] = p === 'hasAttachment' ? view.hasAttachment() : p === 'preview' ? view.preview() : view.headerProperty(p);
  return out;
}

/** The terms of one condition's content tests, in a fixed order; none when it has none. */
export function termsOf(c: ContentCondition): MailSearchTerm[] {
  const terms: MailSearchTerm[] = [];
  if (c.hasAttachment !== undefined) terms.push({ kind: 'hasAttachment', value: c.hasAttachment });
  for (const field of ['from', 'to', 'cc', 'bcc', 'subject', 'body'] as const) if (c[field] !== undefined) terms.push({ kind: 'text', fields: [field], value: c[field]!.toLowerCase() });
  if (c.text !== undefined) terms.push({ kind: 'text', fields: TEXT_FIELDS, value: c.text.toLowerCase() });
  if (c.header !== undefined) terms.push({ kind: 'header', name: c.header[0]!.toLowerCase(), value: c.header[1] === undefined ? null : c.header[1].toLowerCase() });
  return terms;
}

export function documentMatches(doc: MailSearchDocument, term: MailSearchTerm): boolean {
  switch (term.kind) {
    case 'hasAttachment': return doc.hasAttachment === term.value;
    case 'header': return doc.headers.some(([name, value]) => name === term.name && (term.value === null || value.includes(term.value)));
    case 'text': return term.fields.some((f) => doc[f].includes(term.value));
  }
}
