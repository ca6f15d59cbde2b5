/**
 * Email/get and Email/parse (RFC 8621 §4.2, §4.9): metadata from the store, everything else from the
 * message's MIME view, parsed only when a property needs the bytes.
 */
import { z } from 'zod';
import { formatObjectId, parseObjectId } from '../../../core/object-ids.ts';
import { messageShapeProblem } from '../../../message/message-shape.ts';
import { MAIL_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError } from '../method-error.ts';
import { checkGetIds, getArgsSchema } from '../standard/get.ts';
import { idSchema, unsignedIntSchema } from '../standard/primitives.ts';
import type { JmapMailBackend, MailEmail } from './backend.ts';
import { emailBlobId, resolveBlob } from './blobs.ts';
import { BODY_PART_PROPERTIES, DEFAULT_BODY_PART_PROPERTIES, EmailView, type EmailBodyPart } from './email-view.ts';
import { parseHeaderProperty } from './header-forms.ts';
import { keywordsOfFlags } from './keywords.ts';
import { SUMMARY_PROPERTIES } from './search-document.ts';
import { formatState } from './state.ts';

const METADATA = ['id', 'blobId', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt'];
const HEADER_CONVENIENCE = ['headers', 'messageId', 'inReplyTo', 'references', 'sender', 'from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'sentAt'];
const BODY = ['bodyStructure', 'bodyValues', 'textBody', 'htmlBody', 'attachments', 'hasAttachment', 'preview'];
/** RFC 8621 §4.2: the properties returned when the client gives none. */
export const DEFAULT_EMAIL_PROPERTIES = ['id', 'blobId', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt', 'messageId', 'inReplyTo', 'references', 'sender', 'from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'sentAt', 'hasAttachment', 'preview', 'bodyValues', 'textBody', 'htmlBody', 'attachments'];

export const bodyFetchSchema = {
  bodyProperties: z.array(z.string()).nullable().default(null),
  fetchTextBodyValues: z.boolean().default(false),
  fetchHTMLBodyValues: z.boolean().default(false),
  fetchAllBodyValues: z.boolean().default(false),
  maxBodyValueBytes: unsignedIntSchema.default(0),
};
type BodyFetch = { bodyProperties: string[] | null; fetchTextBodyValues: boolean; fetchHTMLBodyValues: boolean; fetchAllBodyValues: boolean; maxBodyValueBytes: number };

export function utcDate(ms: number | Date): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 8620 §5.1: unknown properties are invalidArguments; header:* properties are checked by their syntax. */
function checkProperties(requested: readonly string[] | null, allowed: readonly string[]): string[] {
  if (requested === null) return ['id', ...DEFAULT_EMAIL_PROPERTIES.filter((p) => allowed.includes(p))];
  const bad = requested.filter((p) => !allowed.includes(p) && !(p.startsWith('header:') && parseHeaderProperty(p) !== null));
  if (bad.length > 0) throw new MethodError('invalidArguments', `unknown properties: ${bad.slice(0, 5).join(', ')}`);
  return [...new Set(['id', ...requested])];
}

function checkBodyProperties(requested: readonly string[] | null): string[] {
  if (requested === null) return DEFAULT_BODY_PART_PROPERTIES;
  const bad = requested.filter((p) => !BODY_PART_PROPERTIES.includes(p) && !(p.startsWith('header:') && parseHeaderProperty(p) !== null));
  if (bad.length > 0) throw new MethodError('invalidArguments', `unknown body properties: ${bad.slice(0, 5).join(', ')}`);
  return [...requested];
}

function pickPart(part: EmailBodyPart, properties: readonly string[], view: EmailView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of properties) {
    if (p === 'subParts') {
      if (part.subParts) out.subParts = part.subParts.map((s) => pickPart(s, properties, view));
      else out.subParts = null;
    } else if (p.startsWith('header:')) {
      const header = parseHeaderProperty(p)!;
      const matching = part.headers.filter((h) => h.name.toLowerCase() === header.name.toLowerCase());
      const sub = new EmailView(Buffer.from(matching.map((h) => `${h.name}:${h.value}\r\n`).join('') + '\r\n'), '');
      out[p] = sub.headerProperty(p);
    } else out[p] = (part as unknown as Record<string, unknown>)[p];
  }
  // RFC 8621 §4.1.4: a multipart has no partId or blobId; subParts is sent for it when asked.
  return out;
}

/** The message-derived properties of one email (or parsed blob), as the client asked for them. */
export function viewProperties(view: EmailView, properties: readonly string[], fetch: BodyFetch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const bodyProps = checkBodyProperties(fetch.bodyProperties);
  const lists = (): ReturnType<EmailView['bodyLists']> => view.bodyLists();
  for (const p of properties) {
    if (METADATA.includes(p)) continue;
    switch (p) {
      case 'bodyStructure': out[p] = pickPart(view.bodyStructure(), [...new Set([...bodyProps, 'subParts'])], view); break;
      case 'textBody': case 'htmlBody': case 'attachments': out[p] = lists()[p].map((part) => pickPart(part, bodyProps, view)); break;
      case 'hasAttachment': out[p] = view.hasAttachment(); break;
      case 'preview': out[p] = view.preview(); break;
      case 'bodyValues': {
        const values: Record<string, unknown> = {};
        const wanted: EmailBodyPart[] = [];
        if (fetch.fetchTextBodyValues) wanted.push(...lists().textBody);
        if (fetch.fetchHTMLBodyValues) wanted.push(...lists().htmlBody);
        if (fetch.fetchAllBodyValues) {
          const all = (part: EmailBodyPart): void => {
            if (part.subParts) part.subParts.forEach(all);
            else if (part.type.startsWith('text/')) wanted.push(part);
          };
          all(view.bodyStructure());
        }
        for (const part of wanted) {
          if (part.partId === null || values[part.partId] !== undefined) continue;
          const value = view.bodyValue(part.partId, fetch.maxBodyValueBytes);
          if (value !== null) values[part.partId] = value;
        }
        out[p] = values;
        break;
      }
      default: out[p] = view.headerProperty(p);
    }
  }
  return out;
}

function metadata(email: MailEmail, properties: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of properties) {
    switch (p) {
      case 'id': out.id = formatObjectId('email', email.id); break;
      case 'blobId': out.blobId = emailBlobId(email.id); break;
      case 'threadId': out.threadId = formatObjectId('thread', email.threadId); break;
      case 'mailboxIds': out.mailboxIds = Object.fromEntries(email.copies.map((c) => [formatObjectId('mailbox', c.mailboxId), true])); break;
      case 'keywords': out.keywords = keywordsOfFlags(email.copies[0]?.flags ?? []); break;
      case 'size': out.size = email.size; break;
      case 'receivedAt': out.receivedAt = utcDate(email.receivedAt); break;
    }
  }
  return out;
}

export function emailGetMethods(): MethodTable<JmapMailBackend> {
  const allowed = [...METADATA, ...HEADER_CONVENIENCE, ...BODY];
  return {
    'Email/get': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: getArgsSchema.extend(bodyFetchSchema),
      handle: async (args, ctx) => {
        const properties = checkProperties(args.properties, allowed);
        checkBodyProperties(args.bodyProperties);
        const state = await ctx.backend.mailState(args.accountId);
        let ids = checkGetIds(args.ids?.map((id) => ctx.createdIds.resolve(id) ?? id) ?? null, ctx.limits.maxObjectsInGet);
        if (ids === null) {
          const index = await ctx.backend.emailIndex(args.accountId);
          if (index.length > ctx.limits.maxObjectsInGet) throw new MethodError('requestTooLarge', 'ask for email ids');
          ids = index.map((r) => formatObjectId('email', r.id));
        }
        const numeric = ids.map((id) => parseObjectId('email', id));
        const found = new Map((await ctx.backend.emails(args.accountId, numeric.filter((n): n is number => n !== null))).map((e) => [e.id, e]));
        const fromMessage = properties.filter((p) => !METADATA.includes(p));
        const needsBytes = fromMessage.length > 0;
        // The list properties of a message list are stored by the search indexer: no parsing for them.
        const summaries = needsBytes && ctx.backend.emailSummaries !== undefined && fromMessage.every((p) => SUMMARY_PROPERTIES.includes(p))
          ? await ctx.backend.emailSummaries(args.accountId, [...found.keys()])
          : null;
        const list: Record<string, unknown>[] = [];
        const notFound: string[] = [];
        for (let i = 0; i < ids.length; i++) {
          const email = numeric[i] === null ? undefined : found.get(numeric[i]!);
          if (!email) {
            notFound.push(ids[i]!);
            continue;
          }
          const record = metadata(email, properties);
          const summary = summaries?.get(email.id);
          if (summary !== undefined) {
            for (const p of fromMessage) record[p] = summary[p];
          } else if (needsBytes) {
            const bytes = await ctx.backend.emailBytes(args.accountId, email.id);
            if (bytes === null) {
              notFound.push(ids[i]!);
              continue;
            }
            Object.assign(record, viewProperties(new EmailView(bytes, emailBlobId(email.id)), properties, args));
          }
          list.push(record);
        }
        return { accountId: args.accountId, state: formatState(state), list, notFound };
      },
    }),
    'Email/parse': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: z.object({ accountId: idSchema, blobIds: z.array(idSchema), properties: z.array(z.string()).nullable().default(null), ...bodyFetchSchema }),
      handle: async (args, ctx) => {
        // RFC 8621 §4.9: id, threadId, mailboxIds, keywords and receivedAt are null for a parsed message.
        const defaults = ['messageId', 'inReplyTo', 'references', 'sender', 'from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'sentAt', 'hasAttachment', 'preview', 'bodyValues', 'textBody', 'htmlBody', 'attachments'];
        const properties = args.properties === null ? ['blobId', 'size', ...defaults] : checkProperties(args.properties, allowed).filter((p) => p !== 'id' || args.properties!.includes('id'));
        if (args.blobIds.length > ctx.limits.maxObjectsInGet) throw new MethodError('requestTooLarge');
        const parsed: Record<string, unknown> = {};
        const notParsable: string[] = [];
        const notFound: string[] = [];
        for (const blobId of new Set(args.blobIds)) {
          const bytes = await resolveBlob(ctx.backend, args.accountId, blobId);
          if (bytes === null) {
            notFound.push(blobId);
            continue;
          }
          // RFC 8621 §4.9 notParsable: blobs that "could not be parsed as Emails": not even a header section.
          if (messageShapeProblem(bytes, true) !== null) {
            notParsable.push(blobId);
            continue;
          }
          try {
            const record: Record<string, unknown> = viewProperties(new EmailView(bytes, blobId), properties, args);
            for (const p of properties) {
              if (p === 'blobId') record.blobId = blobId;
              else if (p === 'size') record.size = bytes.length;
              else if (['id', 'threadId', 'mailboxIds', 'keywords', 'receivedAt'].includes(p)) record[p] = null;
            }
            parsed[blobId] = record;
          } catch {
            notParsable.push(blobId);
          }
        }
        return { accountId: args.accountId, parsed: Object.keys(parsed).length > 0 ? parsed : null, notParsable: notParsable.length > 0 ? notParsable : null, notFound: notFound.length > 0 ? notFound : null };
      },
    }),
  };
}
