/**
 * Identity and EmailSubmission (RFC 8621 §6, §7): identities are the addresses the account may send as;
 * EmailSubmission/set sends a stored email through the server's one sending service (sender rights, DKIM,
 * rate limits, queue) and then applies onSuccessUpdateEmail / onSuccessDestroyEmail as an implicit Email/set.
 */
import { z } from 'zod';
import type { JmapIdentity } from '../backend.ts';
import { SUBMISSION_CAPABILITY } from '../capabilities.ts';
import { formatObjectId, parseObjectId } from '../../../core/object-ids.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { changesArgsSchema } from '../standard/changes.ts';
import { checkGetIds, getArgsSchema, pickProperties, selectProperties } from '../standard/get.ts';
import { idSchema } from '../standard/primitives.ts';
import { pageQuery, queryArgsSchema } from '../standard/query.ts';
import { queryChangesArgsSchema } from '../standard/query-changes.ts';
import { checkSetPreconditions, setArgsSchema, setResponse } from '../standard/set.ts';
import type { JmapMailBackend } from './backend.ts';
import { emailSetMethods } from './email-set.ts';
import { EmailView } from './email-view.ts';

export interface JmapIdentityRecord {
  id: string;
  name: string;
  email: string;
  replyTo: null;
  bcc: null;
  textSignature: string;
  htmlSignature: string;
  mayDelete: boolean;
}

export interface SubmissionEnvelopeInput {
  mailFrom: { email: string; parameters: Record<string, string | null> | null };
  rcptTo: { email: string; parameters: Record<string, string | null> | null }[];
}

export interface EmailSubmissionRecord {
  id: string;
  identityId: string;
  emailId: string;
  threadId: string;
  envelope: SubmissionEnvelopeInput;
  sendAt: string;
  undoStatus: 'pending' | 'final' | 'canceled';
  deliveryStatus: Record<string, { smtpReply: string; delivered: 'queued' | 'yes' | 'no' | 'unknown'; displayed: 'unknown' | 'yes' }> | null;
  dsnBlobIds: string[];
  mdnBlobIds: string[];
}

export type SubmitOutcome = { ok: true; queueId: string; text: string } | { ok: false; code: number; enhancedCode: string; text: string };

export interface JmapSubmissionBackend extends JmapMailBackend {
  identities(identity: JmapIdentity, accountId: string): Promise<JmapIdentityRecord[]>;
  /** Sends the stored email with this envelope through the sending service; resolves once it is queued durably. */
  submit(identity: JmapIdentity, accountId: string, input: { emailId: number; envelope: SubmissionEnvelopeInput }): Promise<SubmitOutcome>;
  /** Submissions made in this process for the account, oldest first, and a state that changes with them. */
  submissions(accountId: string): { list: EmailSubmissionRecord[]; state: string };
  recordSubmission(accountId: string, record: Omit<EmailSubmissionRecord, 'id'>): EmailSubmissionRecord;
}

const SUBMISSION_PROPERTIES = ['id', 'identityId', 'emailId', 'threadId', 'envelope', 'sendAt', 'undoStatus', 'deliveryStatus', 'dsnBlobIds', 'mdnBlobIds'];
const IDENTITY_PROPERTIES = ['id', 'name', 'email', 'replyTo', 'bcc', 'textSignature', 'htmlSignature', 'mayDelete'];

const addressSchema = z.object({ email: z.string().min(1).max(512), parameters: z.record(z.string(), z.string().nullable()).nullable().default(null) });
const createSchema = z.object({ identityId: idSchema, emailId: z.string(), envelope: z.object({ mailFrom: addressSchema, rcptTo: z.array(addressSchema).min(1) }).nullable().optional() }).strict();

/** RFC 8621 §7.5: without an envelope, the sender is the identity and the recipients are To, Cc and Bcc. */
function envelopeFrom(identity: JmapIdentityRecord, headers: { to: unknown; cc: unknown; bcc: unknown }): SubmissionEnvelopeInput | null {
  const rcpt = new Map<string, SubmissionEnvelopeInput['rcptTo'][number]>();
  for (const list of [headers.to, headers.cc, headers.bcc]) {
    for (const a of (Array.isArray(list) ? list : []) as { email: string }[]) if (a.email.includes('@')) rcpt.set(a.email.toLowerCase(), { email: a.email, parameters: null });
  }
  return rcpt.size === 0 ? null : { mailFrom: { email: identity.email, parameters: null }, rcptTo: [...rcpt.values()] };
}

export function submissionMethods(): MethodTable<JmapSubmissionBackend> {
  return {
    'Identity/get': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: async (args, ctx) => {
        const all = await ctx.backend.identities(ctx.identity, args.accountId);
        const properties = selectProperties(args.properties, IDENTITY_PROPERTIES);
        const ids = checkGetIds(args.ids, ctx.limits.maxObjectsInGet) ?? all.map((i) => i.id);
        const byId = new Map(all.map((i) => [i.id, i]));
        return { accountId: args.accountId, state: '1', list: ids.flatMap((id) => (byId.has(id) ? [pickProperties(byId.get(id)! as unknown as Record<string, unknown>, properties)] : [])), notFound: ids.filter((id) => !byId.has(id)) };
      },
    }),
    'Identity/changes': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      // Identities follow the account's addresses, which only an admin changes: one state.
      handle: (args) => {
        if (args.sinceState !== '1') throw new MethodError('cannotCalculateChanges');
        return { accountId: args.accountId, oldState: '1', newState: '1', hasMoreChanges: false, created: [], updated: [], destroyed: [] };
      },
    }),
    'Identity/set': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'write',
      args: setArgsSchema,
      handle: (args, ctx) => {
        checkSetPreconditions(args, '1', ctx.limits.maxObjectsInSet);
        // RFC 8621 §6.3: identities are the addresses an admin granted; the client may not add or remove them.
        const forbidden = (ids: string[]): Record<string, SetError> => Object.fromEntries(ids.map((id) => [id, setError('forbidden', { description: 'identities follow the account\'s addresses' })]));
        return { ...setResponse({ accountId: args.accountId, oldState: '1', newState: '1', notCreated: forbidden(Object.keys(args.create ?? {})), notUpdated: forbidden(Object.keys(args.update ?? {})), notDestroyed: forbidden(args.destroy ?? []) }) };
      },
    }),
    'EmailSubmission/get': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: (args, ctx) => {
        const { list, state } = ctx.backend.submissions(args.accountId);
        const properties = selectProperties(args.properties, SUBMISSION_PROPERTIES);
        const ids = checkGetIds(args.ids?.map((id) => ctx.createdIds.resolve(id) ?? id) ?? null, ctx.limits.maxObjectsInGet) ?? list.map((s) => s.id);
        const byId = new Map(list.map((s) => [s.id, s]));
        return { accountId: args.accountId, state, list: ids.flatMap((id) => (byId.has(id) ? [pickProperties(byId.get(id)! as unknown as Record<string, unknown>, properties)] : [])), notFound: ids.filter((id) => !byId.has(id)) };
      },
    }),
    'EmailSubmission/changes': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      handle: (args, ctx) => {
        const { list, state } = ctx.backend.submissions(args.accountId);
        const since = Number(args.sinceState);
        // RFC 8620 §5.2: a state not given out, or older than the submissions still remembered, cannot be resolved.
        const oldest = list.length === 0 ? Number(state) : Number(list[0]!.id.slice(1)) - 1;
        if (!/^(0|[1-9][0-9]{0,15})$/.test(args.sinceState) || since > Number(state) || since < oldest) throw new MethodError('cannotCalculateChanges');
        const created = list.filter((s) => Number(s.id.slice(1)) > since);
        // RFC 8620 §5.2: at most maxChanges ids; the state after the last one returned lets the client go on.
        const page = args.maxChanges === null ? created : created.slice(0, args.maxChanges);
        const hasMoreChanges = page.length < created.length;
        const newState = hasMoreChanges ? page[page.length - 1]!.id.slice(1) : state;
        return { accountId: args.accountId, oldState: args.sinceState, newState, hasMoreChanges, created: page.map((s) => s.id), updated: [], destroyed: [] };
      },
    }),
    'EmailSubmission/query': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: queryArgsSchema(z.object({ identityIds: z.array(z.string()).optional(), emailIds: z.array(z.string()).optional(), threadIds: z.array(z.string()).optional(), undoStatus: z.string().optional(), before: z.string().optional(), after: z.string().optional() }).strict()),
      handle: (args, ctx) => {
        const { list, state } = ctx.backend.submissions(args.accountId);
        const f = (args.filter ?? {}) as Record<string, unknown>;
        if ('operator' in f) throw new MethodError('unsupportedFilter', 'filter operators are not supported for EmailSubmission');
        const matching = list.filter((s) => (!Array.isArray(f.emailIds) || f.emailIds.includes(s.emailId)) && (!Array.isArray(f.threadIds) || f.threadIds.includes(s.threadId))
          && (!Array.isArray(f.identityIds) || f.identityIds.includes(s.identityId)) && (f.undoStatus === undefined || f.undoStatus === s.undoStatus));
        return { accountId: args.accountId, queryState: state, canCalculateChanges: false, ...pageQuery(matching.map((s) => s.id).reverse(), args) };
      },
    }),
    'EmailSubmission/queryChanges': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: queryChangesArgsSchema(z.record(z.string(), z.unknown())),
      // RFC 8620 §5.6: EmailSubmission/query says canCalculateChanges false; the client queries again.
      handle: () => {
        throw new MethodError('cannotCalculateChanges');
      },
    }),
    'EmailSubmission/set': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'write',
      args: setArgsSchema.extend({ onSuccessUpdateEmail: z.record(z.string(), z.record(z.string(), z.unknown())).nullable().default(null), onSuccessDestroyEmail: z.array(z.string()).nullable().default(null) }),
      handle: async (args, ctx) => {
        const accountId = args.accountId;
        const oldState = ctx.backend.submissions(accountId).state;
        checkSetPreconditions(args, oldState, ctx.limits.maxObjectsInSet);
        const identities = await ctx.backend.identities(ctx.identity, accountId);
        const created: Record<string, Record<string, unknown>> = {};
        const notCreated: Record<string, SetError> = {};
        const submittedEmail = new Map<string, string>();
        for (const [creationId, raw] of Object.entries(args.create ?? {})) {
          const parsed = createSchema.safeParse(raw);
          if (!parsed.success) {
            notCreated[creationId] = setError('invalidProperties', { properties: [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? 'envelope')))] });
            continue;
          }
          const identity = identities.find((i) => i.id === parsed.data.identityId);
          if (!identity) {
            notCreated[creationId] = setError('invalidProperties', { properties: ['identityId'] });
            continue;
          }
          const emailRef = ctx.createdIds.resolve(parsed.data.emailId) ?? '';
          const emailId = parseObjectId('email', emailRef);
          const [email] = emailId === null ? [] : await ctx.backend.emails(accountId, [emailId]);
          if (!email) {
            notCreated[creationId] = setError('invalidProperties', { properties: ['emailId'], description: 'no such email' });
            continue;
          }
          let envelope = parsed.data.envelope ?? null;
          if (envelope === null) {
            const got = await ctx.backend.emailBytes(accountId, email.id);
            const view = new EmailView(got!, '');
            envelope = envelopeFrom(identity, { to: view.headerProperty('to'), cc: view.headerProperty('cc'), bcc: view.headerProperty('bcc') });
            // RFC 8621 §7.5 noRecipients: no envelope given and none in the message.
            if (envelope === null) {
              notCreated[creationId] = setError('noRecipients');
              continue;
            }
          }
          const outcome = await ctx.backend.submit(ctx.identity, accountId, { emailId: email.id, envelope });
          if (!outcome.ok) {
            // RFC 8621 §7.5: a refused sender is forbiddenFrom, a rate limit forbiddenToSend; other refusals carry the SMTP reply.
            const type = outcome.code === 553 || (outcome.code === 550 && /sender/i.test(outcome.text)) ? 'forbiddenFrom' : outcome.code === 451 || outcome.code === 452 ? 'forbiddenToSend' : outcome.code === 552 ? 'tooLarge' : 'forbiddenToSend';
            notCreated[creationId] = setError(type, { description: `${outcome.code} ${outcome.enhancedCode} ${outcome.text}` });
            continue;
          }
          const record = ctx.backend.recordSubmission(accountId, {
            identityId: identity.id, emailId: formatObjectId('email', email.id), threadId: formatObjectId('thread', email.threadId), envelope,
            sendAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), undoStatus: 'final',
            deliveryStatus: Object.fromEntries(envelope.rcptTo.map((r) => [r.email, { smtpReply: `250 2.0.0 ${outcome.text}`, delivered: 'queued' as const, displayed: 'unknown' as const }])),
            dsnBlobIds: [], mdnBlobIds: [],
          });
          ctx.createdIds.set(creationId, record.id);
          submittedEmail.set(`#${creationId}`, record.emailId);
          created[creationId] = { id: record.id, undoStatus: 'final', sendAt: record.sendAt, threadId: record.threadId };
        }
        const notUpdated: Record<string, SetError> = {};
        // RFC 8621 §7.5: a submission already queued cannot be unsent.
        for (const id of Object.keys(args.update ?? {})) notUpdated[id] = setError('cannotUnsend');
        const notDestroyed: Record<string, SetError> = Object.fromEntries((args.destroy ?? []).map((id) => [id, setError('forbidden', { description: 'submissions are kept while the server runs' })]));
        const response = setResponse({ accountId, oldState, newState: ctx.backend.submissions(accountId).state, created, notCreated, notUpdated, notDestroyed });
        // RFC 8621 §7.5: onSuccess* name submissions by "#creationId" (or id) and act on their emails.
        const update: Record<string, unknown> = {};
        for (const [ref, patch] of Object.entries(args.onSuccessUpdateEmail ?? {})) if (submittedEmail.has(ref)) update[submittedEmail.get(ref)!] = patch;
        const destroy = (args.onSuccessDestroyEmail ?? []).flatMap((ref) => (submittedEmail.has(ref) ? [submittedEmail.get(ref)!] : []));
        if (Object.keys(update).length > 0 || destroy.length > 0) {
          const emailSet = emailSetMethods()['Email/set']!;
          const emailArgs = emailSet.args.parse({ accountId, update, destroy });
          ctx.followUp('Email/set', await emailSet.handle(emailArgs, ctx));
        }
        return { ...response };
      },
    }),
  };
}
