/**
 * Email/set, Email/import and Email/copy (RFC 8621 §4.6-§4.8): keywords and mailboxIds updates go to the
 * store as IMAP flag and mailbox changes of every copy (so IMAP sessions see them); creates store a new
 * message durably before answering.
 */
import { z } from 'zod';
import { formatObjectId, parseObjectId } from '../../../core/object-ids.ts';
import { messageShapeProblem } from '../../../message/message-shape.ts';
import { MAIL_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodContext, type MethodTable } from '../method.ts';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { idSchema } from '../standard/primitives.ts';
import { checkSetPreconditions, setArgsSchema, setResponse, splitWillDestroy } from '../standard/set.ts';
import type { JmapMailBackend, MailEmailUpdate } from './backend.ts';
import { emailBlobId, peekStream, resolveBlob, resolveBlobBody } from './blobs.ts';
import { buildMessage } from './email-create.ts';
import { isValidKeyword, keywordsOfFlags, keywordToFlag } from './keywords.ts';
import { formatState } from './state.ts';

type Ctx = MethodContext<JmapMailBackend>;

/** How much of a streamed upload Email/import reads to check that it starts like a message. */
const IMPORT_HEAD_BYTES = 64 * 1024;

/** mailboxIds of a create or update: every id (or "#creation id") must be one of the account's mailboxes. */
async function mailboxIdsOf(value: unknown, ctx: Ctx, accountId: string): Promise<number[] | null> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const own = new Set((await ctx.backend.mailboxes(accountId)).map((m) => m.id));
  const out: number[] = [];
  for (const [ref, on] of Object.entries(value as Record<string, unknown>)) {
    if (on !== true) return null;
    const id = parseObjectId('mailbox', ctx.createdIds.resolve(ref) ?? '');
    if (id === null || !own.has(id)) return null;
    out.push(id);
  }
  // RFC 8621 §4.1.1: an Email is in at least one Mailbox.
  return out.length > 0 ? out : null;
}

function keywordFlags(value: unknown): string[] | null {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const out: string[] = [];
  for (const [k, on] of Object.entries(value as Record<string, unknown>)) {
    if (on !== true || !isValidKeyword(k)) return null;
    out.push(keywordToFlag(k));
  }
  return out;
}

function receivedAtOf(value: unknown, now: Date): Date | null {
  if (value === undefined || value === null) return now;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** The store update a PatchObject on keywords and mailboxIds asks for, or the SetError. */
async function toUpdate(emailId: number, patch: Record<string, unknown>, ctx: Ctx, accountId: string): Promise<MailEmailUpdate | SetError> {
  const [email] = await ctx.backend.emails(accountId, [emailId]);
  if (!email) return setError('notFound');
  const keywords = new Set(Object.keys(keywordsOfFlags(email.copies[0]?.flags ?? [])));
  const mailboxes = new Set(email.copies.map((c) => c.mailboxId));
  let keywordsTouched = false;
  let mailboxesTouched = false;
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'keywords') {
      const flags = keywordFlags(value);
      if (flags === null) return setError('invalidProperties', { properties: ['keywords'] });
      keywords.clear();
      for (const k of Object.keys(value as object)) keywords.add(k.toLowerCase());
      keywordsTouched = true;
    } else if (key.startsWith('keywords/')) {
      const k = key.slice(9).replace(/~1/g, '/').replace(/~0/g, '~');
      if (!isValidKeyword(k) || (value !== true && value !== null)) return setError('invalidProperties', { properties: [key] });
      if (value === true) keywords.add(k.toLowerCase());
      else keywords.delete(k.toLowerCase());
      keywordsTouched = true;
    } else if (key === 'mailboxIds') {
      const ids = await mailboxIdsOf(value, ctx, accountId);
      if (ids === null) return setError('invalidProperties', { properties: ['mailboxIds'] });
      mailboxes.clear();
      ids.forEach((id) => mailboxes.add(id));
      mailboxesTouched = true;
    } else if (key.startsWith('mailboxIds/')) {
      const ref = key.slice(11);
      const id = parseObjectId('mailbox', ctx.createdIds.resolve(ref) ?? '');
      const own = new Set((await ctx.backend.mailboxes(accountId)).map((m) => m.id));
      if (id === null || !own.has(id) || (value !== true && value !== null)) return setError('invalidProperties', { properties: [key] });
      if (value === true) mailboxes.add(id);
      else mailboxes.delete(id);
      mailboxesTouched = true;
    } else {
      // RFC 8621 §4.6: every other property of an Email is immutable.
      return setError('invalidProperties', { properties: [key] });
    }
  }
  if (mailboxesTouched && mailboxes.size === 0) return setError('invalidProperties', { properties: ['mailboxIds'], description: 'an email must be in a mailbox' });
  const update: MailEmailUpdate = { emailId };
  if (keywordsTouched) {
    // Flags without a keyword (\Deleted) stay as IMAP set them.
    const kept = (email.copies[0]?.flags ?? []).filter((f) => f.toLowerCase() === '\\deleted');
    update.flags = { op: 'set', flags: [...kept, ...[...keywords].map(keywordToFlag)] };
  }
  if (mailboxesTouched) update.mailboxIds = [...mailboxes];
  return update;
}

const importSchema = z.object({
  accountId: idSchema,
  ifInState: z.string().nullable().default(null),
  emails: z.record(idSchema, z.object({ blobId: idSchema, mailboxIds: z.record(z.string(), z.unknown()), keywords: z.record(z.string(), z.unknown()).default({}), receivedAt: z.string().nullable().optional() })),
});

const copySchema = z.object({
  fromAccountId: idSchema,
  ifFromInState: z.string().nullable().default(null),
  accountId: idSchema,
  ifInState: z.string().nullable().default(null),
  create: z.record(idSchema, z.record(z.string(), z.unknown())),
  onSuccessDestroyOriginal: z.boolean().default(false),
  destroyFromIfInState: z.string().nullable().default(null),
});

async function storeOne(ctx: Ctx, accountId: string, input: { bytes: Buffer | AsyncIterable<Buffer>; mailboxIds: unknown; keywords: unknown; receivedAt: unknown }): Promise<Record<string, unknown> | SetError> {
  const mailboxIds = await mailboxIdsOf(input.mailboxIds, ctx, accountId);
  if (mailboxIds === null) return setError('invalidProperties', { properties: ['mailboxIds'] });
  const flags = keywordFlags(input.keywords);
  if (flags === null) return setError('invalidProperties', { properties: ['keywords'] });
  const receivedAt = receivedAtOf(input.receivedAt, new Date());
  if (receivedAt === null) return setError('invalidProperties', { properties: ['receivedAt'] });
  const stored = await ctx.backend.storeEmail(accountId, { bytes: input.bytes, mailboxIds, flags, receivedAt });
  // RFC 8620 §5.3 overQuota: the account has no room for it.
  if (stored === 'overQuota') return setError('overQuota');
  if (stored === 'notFound') return setError('invalidProperties', { properties: ['mailboxIds'] });
  return { id: formatObjectId('email', stored.id), blobId: emailBlobId(stored.id), threadId: formatObjectId('thread', stored.threadId), size: stored.size };
}

export function emailSetMethods(): MethodTable<JmapMailBackend> {
  return {
    'Email/set': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'write',
      args: setArgsSchema,
      handle: async (args, ctx) => {
        const accountId = args.accountId;
        const oldState = formatState(await ctx.backend.mailState(accountId));
        checkSetPreconditions(args, oldState, ctx.limits.maxObjectsInSet);
        const created: Record<string, Record<string, unknown>> = {};
        const notCreated: Record<string, SetError> = {};
        for (const [creationId, props] of Object.entries(args.create ?? {})) {
          const bytes = await buildMessage(props, (blobId) => resolveBlob(ctx.backend, accountId, blobId), new Date());
          if (!Buffer.isBuffer(bytes)) {
            notCreated[creationId] = bytes;
            continue;
          }
          const result = await storeOne(ctx, accountId, { bytes, mailboxIds: props.mailboxIds, keywords: props.keywords, receivedAt: props.receivedAt });
          if (typeof result.type === 'string') {
            notCreated[creationId] = result as SetError;
            continue;
          }
          ctx.createdIds.set(creationId, result.id as string);
          created[creationId] = result;
        }
        const { update, notUpdated } = splitWillDestroy(args.update, args.destroy);
        const updated: Record<string, null> = {};
        const pending: { ref: string; update: MailEmailUpdate }[] = [];
        for (const [ref, patch] of Object.entries(update)) {
          const id = parseObjectId('email', ctx.createdIds.resolve(ref) ?? '');
          const result = id === null ? setError('notFound') : await toUpdate(id, patch as Record<string, unknown>, ctx, accountId);
          if ('type' in result) notUpdated[ref] = result;
          else pending.push({ ref, update: result });
        }
        if (pending.length > 0) {
          const result = await ctx.backend.updateEmails(accountId, pending.map((p) => p.update));
          // A copy added would not fit the quota: nothing of the batch was applied (one transaction).
          const notFound = result === 'overQuota' ? pending.map((p) => p.update.emailId) : result.notFound;
          for (const p of pending) {
            if (result === 'overQuota') notUpdated[p.ref] = setError('overQuota');
            else if (notFound.includes(p.update.emailId)) notUpdated[p.ref] = setError('notFound');
            else updated[p.ref] = null;
          }
        }
        const destroyed: string[] = [];
        const notDestroyed: Record<string, SetError> = {};
        const toDestroy = (args.destroy ?? []).map((ref) => ({ ref, id: parseObjectId('email', ctx.createdIds.resolve(ref) ?? '') }));
        const gone = new Set(await ctx.backend.destroyEmails(accountId, toDestroy.flatMap((d) => (d.id === null ? [] : [d.id]))));
        for (const d of toDestroy) {
          if (d.id !== null && gone.has(d.id)) destroyed.push(d.ref);
          else notDestroyed[d.ref] = setError('notFound');
        }
        const newState = formatState(await ctx.backend.mailState(accountId));
        return { ...setResponse({ accountId, oldState, newState, created, updated, destroyed, notCreated, notUpdated, notDestroyed }) };
      },
    }),
    'Email/import': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'write',
      args: importSchema,
      handle: async (args, ctx) => {
        const accountId = args.accountId;
        const oldState = formatState(await ctx.backend.mailState(accountId));
        checkSetPreconditions({ ifInState: args.ifInState, create: args.emails, update: null, destroy: null }, oldState, ctx.limits.maxObjectsInSet);
        const created: Record<string, Record<string, unknown>> = {};
        const notCreated: Record<string, SetError> = {};
        for (const [creationId, spec] of Object.entries(args.emails)) {
          // An upload is stored as it is read from storage, so a big one is never held whole.
          const found = await resolveBlobBody(ctx.backend, accountId, spec.blobId);
          // RFC 8621 §4.8: a blobId that is not found is "invalidProperties", like a bad mailboxIds or keywords.
          if (found === null) {
            notCreated[creationId] = setError('invalidProperties', { properties: ['blobId'], description: 'no such blob in this account' });
            continue;
          }
          // RFC 8621 §4.8: a blob that is not a message [RFC5322] is refused with "invalidEmail" (the server
          // does not repair messages, so the stored blob is always the one imported).
          const peeked = await peekStream(found, IMPORT_HEAD_BYTES);
          const problem = messageShapeProblem(peeked.head, peeked.complete);
          if (problem !== null) {
            await peeked.close();
            notCreated[creationId] = setError('invalidEmail', { description: `not an Internet message: ${problem}` });
            continue;
          }
          const result = await storeOne(ctx, accountId, { bytes: peeked.body, mailboxIds: spec.mailboxIds, keywords: spec.keywords, receivedAt: spec.receivedAt });
          await peeked.close(); // refused before the store read it all (bad mailboxIds or keywords)
          if (typeof result.type === 'string') notCreated[creationId] = result as SetError;
          else {
            ctx.createdIds.set(creationId, result.id as string);
            created[creationId] = result;
          }
        }
        const newState = formatState(await ctx.backend.mailState(accountId));
        return { accountId, oldState, newState, created: Object.keys(created).length > 0 ? created : null, notCreated: Object.keys(notCreated).length > 0 ? notCreated : null };
      },
    }),
    'Email/copy': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'write',
      args: copySchema,
      handle: async (args, ctx) => {
        // RFC 8620 §5.4: the accounts must differ, and the caller must be allowed to read the source.
        if (args.fromAccountId === args.accountId) throw new MethodError('invalidArguments', 'fromAccountId must differ from accountId');
        if ((await ctx.backend.accountFor(ctx.identity, args.fromAccountId)) === null) throw new MethodError('fromAccountNotFound');
        const fromState = formatState(await ctx.backend.mailState(args.fromAccountId));
        if (args.ifFromInState !== null && args.ifFromInState !== fromState) throw new MethodError('stateMismatch');
        const oldState = formatState(await ctx.backend.mailState(args.accountId));
        checkSetPreconditions({ ifInState: args.ifInState, create: args.create, update: null, destroy: null }, oldState, ctx.limits.maxObjectsInSet);
        const created: Record<string, Record<string, unknown>> = {};
        const notCreated: Record<string, SetError> = {};
        const originals: string[] = [];
        for (const [creationId, spec] of Object.entries(args.create)) {
          const sourceId = typeof spec.id === 'string' ? parseObjectId('email', spec.id) : null;
          const bytes = sourceId === null ? null : await ctx.backend.emailBytes(args.fromAccountId, sourceId);
          if (bytes === null) {
            notCreated[creationId] = setError('notFound');
            continue;
          }
          const result = await storeOne(ctx, args.accountId, { bytes, mailboxIds: spec.mailboxIds, keywords: spec.keywords, receivedAt: spec.receivedAt });
          if (typeof result.type === 'string') notCreated[creationId] = result as SetError;
          else {
            ctx.createdIds.set(creationId, result.id as string);
            created[creationId] = result;
            originals.push(spec.id as string);
          }
        }
        const newState = formatState(await ctx.backend.mailState(args.accountId));
        if (args.onSuccessDestroyOriginal && originals.length > 0) {
          // RFC 8620 §5.4: the originals are destroyed by an implicit Foo/set on the source account.
          const ids = originals.map((id) => parseObjectId('email', id)!);
          const gone = new Set(await ctx.backend.destroyEmails(args.fromAccountId, ids));
          ctx.followUp('Email/set', { accountId: args.fromAccountId, oldState: fromState, newState: formatState(await ctx.backend.mailState(args.fromAccountId)), created: null, updated: null,
            destroyed: originals.filter((_, i) => gone.has(ids[i]!)), notCreated: null, notUpdated: null, notDestroyed: null });
        }
        return { fromAccountId: args.fromAccountId, accountId: args.accountId, oldState, newState, created: Object.keys(created).length > 0 ? created : null, notCreated: Object.keys(notCreated).length > 0 ? notCreated : null };
      },
    }),
  };
}
