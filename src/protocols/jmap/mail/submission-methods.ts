/**
 * EmailSubmission (RFC 8621 §7): /set sends a stored email through the server's one sending service (sender
 * rights, DKIM, rate limits, queue), at once or held until sendAt (RFC 4865 FUTURERELEASE), cancels a held
 * one while it is pending, and then applies onSuccessUpdateEmail / onSuccessDestroyEmail as an implicit
 * Email/set. Submissions are kept in the store with real states (/changes, /queryChanges).
 */
import { z } from 'zod';
import { SUBMISSION_CAPABILITY } from '../capabilities.ts';
import { formatObjectId, parseObjectId } from '../../../core/object-ids.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { changesArgsSchema } from '../standard/changes.ts';
import { checkGetIds, getArgsSchema, pickProperties, selectProperties } from '../standard/get.ts';
import { pageQuery, queryArgsSchema, type Filter } from '../standard/query.ts';
import { checkQueryChangesCount, queryChangesArgsSchema } from '../standard/query-changes.ts';
import { applyPatch, checkSetPreconditions, setArgsSchema, setResponse, splitWillDestroy } from '../standard/set.ts';
import { emailSetMethods } from './email-set.ts';
import { EmailView } from './email-view.ts';
import { releaseTime } from './future-release.ts';
import { identityMethods } from './identity-methods.ts';
import { formatState, MAX_CHANGES, pagedChanges, parseState } from './state.ts';
import type { EmailSubmissionRecord, JmapDeliveryStatus, JmapIdentityRecord, JmapSubmissionBackend, SubmissionEnvelopeInput, SubmitOutcome } from './submission-backend.ts';
import { checkFilterDepth, querySubmissions, submissionConditionSchema, type SubmissionCondition } from './submission-query.ts';

export type { EmailSubmissionRecord, JmapIdentityRecord, JmapSubmissionBackend, SubmissionEnvelopeInput, SubmitOutcome } from './submission-backend.ts';

const SUBMISSION_PROPERTIES = ['id', 'identityId', 'emailId', 'threadId', 'envelope', 'sendAt', 'undoStatus', 'deliveryStatus', 'dsnBlobIds', 'mdnBlobIds'];

const addressSchema = z.object({ email: z.string().min(1).max(512), parameters: z.record(z.string(), z.string().nullable()).nullable().default(null) });
const createSchema = z.object({ identityId: z.string(), emailId: z.string(), envelope: z.object({ mailFrom: addressSchema, rcptTo: z.array(addressSchema).min(1) }).nullable().optional() }).strict();

/** RFC 8620 §1.4 UTCDate, without fractional seconds. */
function utcDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 8621 §7.5: without an envelope, the sender is the identity and the recipients are To, Cc and Bcc. */
function envelopeFrom(identity: JmapIdentityRecord, headers: { to: unknown; cc: unknown; bcc: unknown }): SubmissionEnvelopeInput | null {
  const rcpt = new Map<string, SubmissionEnvelopeInput['rcptTo'][number]>();
  for (const list of [headers.to, headers.cc, headers.bcc]) {
    for (const a of (Array.isArray(list) ? list : []) as { email: string }[]) if (a.email.includes('@')) rcpt.set(a.email.toLowerCase(), { email: a.email, parameters: null });
  }
  return rcpt.size === 0 ? null : { mailFrom: { email: identity.email, parameters: null }, rcptTo: [...rcpt.values()] };
}

/** RFC 8621 §7.5: a refused sender is forbiddenFrom/forbiddenMailFrom, a rate limit forbiddenToSend; the SMTP reply is the description. */
function refusalError(outcome: Extract<SubmitOutcome, { ok: false }>): SetError {
  const description = `${outcome.code} ${outcome.enhancedCode} ${outcome.text}`;
  if (outcome.rule === 'sender_not_owned') return setError('forbiddenMailFrom', { description });
  if (outcome.rule === 'header_sender_not_owned') return setError('forbiddenFrom', { description });
  if (outcome.rule === 'too_many_recipients') return setError('tooManyRecipients', { description, maxRecipients: null });
  if (outcome.rule === 'unknown_user' || outcome.rule.startsWith('alias_')) return setError('invalidRecipients', { description, invalidRecipients: [] });
  if (outcome.code === 552) return setError('tooLarge', { description });
  return setError('forbiddenToSend', { description });
}

/** The status of each envelope recipient right after the send: held, queued for elsewhere, or delivered here. */
function initialStatus(envelope: SubmissionEnvelopeInput, outcome: Extract<SubmitOutcome, { ok: true }>, holdUntil: Date | null): Record<string, JmapDeliveryStatus> {
  const queued = new Set(outcome.queued.map((a) => a.toLowerCase()));
  return Object.fromEntries(envelope.rcptTo.map((r) => {
    if (holdUntil) return [r.email, { smtpReply: `250 2.0.0 held until ${utcDate(holdUntil)} (FUTURERELEASE)`, delivered: 'queued', displayed: 'unknown' }];
    if (queued.has(r.email.toLowerCase())) return [r.email, { smtpReply: `250 2.0.0 ${outcome.text}`, delivered: 'queued', displayed: 'unknown' }];
    return [r.email, { smtpReply: '250 2.0.0 delivered to mailbox', delivered: 'yes', displayed: 'unknown' }];
  }));
}

export function submissionMethods(): MethodTable<JmapSubmissionBackend> {
  return {
    ...identityMethods(),
    'EmailSubmission/get': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: async (args, ctx) => {
        const properties = selectProperties(args.properties, SUBMISSION_PROPERTIES);
        const wanted = checkGetIds(args.ids?.map((id) => ctx.createdIds.resolve(id) ?? id) ?? null, ctx.limits.maxObjectsInGet);
        const { list, state } = await ctx.backend.submissions(args.accountId, wanted ?? undefined);
        const ids = wanted ?? list.map((s) => s.id);
        const byId = new Map(list.map((s) => [s.id, s]));
        return { accountId: args.accountId, state: formatState(state), list: ids.flatMap((id) => (byId.has(id) ? [pickProperties(byId.get(id)! as unknown as Record<string, unknown>, properties)] : [])), notFound: ids.filter((id) => !byId.has(id)) };
      },
    }),
    'EmailSubmission/changes': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      handle: async (args, ctx) => {
        const { state } = await ctx.backend.submissions(args.accountId, []);
        return { ...(await pagedChanges(args, state, (since, limit) => ctx.backend.submissionChanges(args.accountId, since, limit))) };
      },
    }),
    'EmailSubmission/query': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: queryArgsSchema(submissionConditionSchema),
      handle: async (args, ctx) => {
        checkFilterDepth(args.filter);
        const { list, state } = await ctx.backend.submissions(args.accountId);
        const ids = querySubmissions(list, args.filter as Filter<SubmissionCondition> | null, args.sort);
        return { accountId: args.accountId, queryState: formatState(state), canCalculateChanges: true, ...pageQuery(ids, args) };
      },
    }),
    'EmailSubmission/queryChanges': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: queryChangesArgsSchema(submissionConditionSchema),
      handle: async (args, ctx) => {
        checkFilterDepth(args.filter);
        const { list, state } = await ctx.backend.submissions(args.accountId);
        const since = parseState(args.sinceQueryState, state);
        const changes = await ctx.backend.submissionChanges(args.accountId, since, MAX_CHANGES);
        if (changes.length > MAX_CHANGES) throw new MethodError('cannotCalculateChanges', 'too many changes; query again');
        const ids = querySubmissions(list, args.filter as Filter<SubmissionCondition> | null, args.sort);
        // RFC 8620 §5.6: every submission changed since is removed (it may have left the results or moved)
        // and, when it is in the results now, added back at its index.
        const changed = new Set(changes.map((c) => c.id));
        const removed = [...changed];
        const added = ids.flatMap((id, index) => (changed.has(id) ? [{ id, index }] : []));
        checkQueryChangesCount(removed.length, added.length, args.maxChanges);
        return { accountId: args.accountId, oldQueryState: args.sinceQueryState, newQueryState: formatState(state), removed, added, ...(args.calculateTotal ? { total: ids.length } : {}) };
      },
    }),
    'EmailSubmission/set': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'write',
      args: setArgsSchema.extend({ onSuccessUpdateEmail: z.record(z.string(), z.record(z.string(), z.unknown())).nullable().default(null), onSuccessDestroyEmail: z.array(z.string()).nullable().default(null) }),
      handle: async (args, ctx) => {
        const accountId = args.accountId;
        const backend = ctx.backend;
        const oldState = formatState((await backend.submissions(accountId, [])).state);
        checkSetPreconditions(args, oldState, ctx.limits.maxObjectsInSet);
        const identities = (await backend.identities(ctx.identity, accountId)).list;
        const created: Record<string, Record<string, unknown>> = {};
        const notCreated: Record<string, SetError> = {};
        // "#creationId" or id of each submission that succeeded → its email, for onSuccess*.
        const succeeded = new Map<string, string>();
        for (const [creationId, raw] of Object.entries(args.create ?? {})) {
          const parsed = createSchema.safeParse(raw);
          if (!parsed.success) {
            notCreated[creationId] = setError('invalidProperties', { properties: [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? 'envelope')))] });
            continue;
          }
          const identity = identities.find((i) => i.id === (ctx.createdIds.resolve(parsed.data.identityId) ?? parsed.data.identityId));
          if (!identity) {
            notCreated[creationId] = setError('invalidProperties', { properties: ['identityId'] });
            continue;
          }
          const emailRef = ctx.createdIds.resolve(parsed.data.emailId) ?? parsed.data.emailId;
          const emailId = parseObjectId('email', emailRef);
          const [email] = emailId === null ? [] : await backend.emails(accountId, [emailId]);
          if (!email) {
            // RFC 8621 §7.5 invalidEmail: the emailId does not refer to an email of the account.
            notCreated[creationId] = setError('invalidEmail', { properties: ['emailId'], description: 'no such email' });
            continue;
          }
          let envelope = parsed.data.envelope ?? null;
          if (envelope === null) {
            const got = await backend.emailBytes(accountId, email.id);
            const view = new EmailView(got!, '');
            envelope = envelopeFrom(identity, { to: view.headerProperty('to'), cc: view.headerProperty('cc'), bcc: view.headerProperty('bcc') });
            // RFC 8621 §7.5 noRecipients: no envelope given and none in the message.
            if (envelope === null) {
              notCreated[creationId] = setError('noRecipients');
              continue;
            }
          }
          const now = backend.now();
          const release = releaseTime(envelope.mailFrom.parameters, { now, maxDelaySeconds: backend.submissionLimits.maxDelayedSend });
          if (!release.ok) {
            notCreated[creationId] = setError('invalidProperties', { properties: ['envelope'], description: release.reply });
            continue;
          }
          const outcome = await backend.submit(ctx.identity, accountId, { emailId: email.id, envelope, holdUntil: release.holdUntil });
          if (!outcome.ok) {
            notCreated[creationId] = refusalError(outcome);
            continue;
          }
          // RFC 8621 §7: a held submission may be canceled until sendAt (pending); one sent at once is final.
          const record = await backend.recordSubmission(accountId, {
            identityId: identity.id, emailId: email.id, threadId: email.threadId, envelope, sendAt: release.holdUntil ?? now,
            undoStatus: release.holdUntil ? 'pending' : 'final', deliveryStatus: initialStatus(envelope, outcome, release.holdUntil), queueId: outcome.queueId,
          });
          ctx.createdIds.set(creationId, record.id);
          succeeded.set(`#${creationId}`, record.emailId);
          created[creationId] = { id: record.id, undoStatus: record.undoStatus, sendAt: record.sendAt, threadId: record.threadId, deliveryStatus: record.deliveryStatus, dsnBlobIds: [], mdnBlobIds: [] };
        }
        const { update, notUpdated } = splitWillDestroy(args.update, args.destroy);
        const refs = [...Object.keys(update), ...(args.destroy ?? [])].map((ref) => ctx.createdIds.resolve(ref) ?? ref);
        const existing = new Map((await backend.submissions(accountId, refs)).list.map((s) => [s.id, s]));
        const updated: Record<string, Record<string, unknown> | null> = {};
        for (const [ref, patch] of Object.entries(update)) {
          const id = ctx.createdIds.resolve(ref) ?? ref;
          const record = existing.get(id);
          if (!record) {
            notUpdated[ref] = setError('notFound');
            continue;
          }
          const patched = applyPatch(record as unknown as Record<string, unknown>, patch as Record<string, unknown>);
          if (!patched.ok) {
            notUpdated[ref] = patched.error;
            continue;
          }
          // RFC 8621 §7.5: only undoStatus may be changed, and only to "canceled".
          const next = patched.value as unknown as EmailSubmissionRecord;
          const others = SUBMISSION_PROPERTIES.filter((p) => p !== 'undoStatus' && JSON.stringify((next as unknown as Record<string, unknown>)[p]) !== JSON.stringify((record as unknown as Record<string, unknown>)[p]));
          if (others.length > 0 || (next.undoStatus !== record.undoStatus && next.undoStatus !== 'canceled')) {
            notUpdated[ref] = setError('invalidProperties', { properties: others.length > 0 ? others : ['undoStatus'], description: 'only undoStatus may be set, to "canceled"' });
            continue;
          }
          if (next.undoStatus === record.undoStatus) {
            updated[id] = null;
            succeeded.set(id, record.emailId);
            continue;
          }
          // RFC 8621 §7.5 cannotUnsend: the message has been released (or is being) and cannot be recalled.
          const outcome = record.undoStatus === 'pending' ? await backend.cancelSubmission(ctx.identity, accountId, id) : 'cannotUnsend';
          if (outcome === 'canceled') {
            updated[id] = null;
            succeeded.set(id, record.emailId);
          } else notUpdated[ref] = outcome === 'notFound' ? setError('notFound') : setError('cannotUnsend', { description: 'the message has already been sent' });
        }
        // RFC 8621 §7.5: destroying an EmailSubmission "MUST NOT affect the deliveries it represents"; it only
        // removes the record. A pending one is still sent at sendAt; canceling is the undoStatus update above.
        const destroyIds = (args.destroy ?? []).map((ref) => ({ ref, id: ctx.createdIds.resolve(ref) ?? ref }));
        const gone = new Set(await backend.destroySubmissions(accountId, destroyIds.map((d) => d.id)));
        const destroyed: string[] = [];
        const notDestroyed: Record<string, SetError> = {};
        for (const { ref, id } of destroyIds) {
          if (gone.has(id)) {
            destroyed.push(id);
            const emailId = existing.get(id)?.emailId;
            if (emailId) succeeded.set(id, emailId);
          } else notDestroyed[ref] = setError('notFound');
        }
        const newState = formatState((await backend.submissions(accountId, [])).state);
        const response = setResponse({ accountId, oldState, newState, created, updated, destroyed, notCreated, notUpdated, notDestroyed });
        // RFC 8621 §7.5: onSuccess* name submissions by "#creationId" or id and act on their emails.
        const emailUpdate: Record<string, unknown> = {};
        for (const [ref, patch] of Object.entries(args.onSuccessUpdateEmail ?? {})) if (succeeded.has(ref)) emailUpdate[succeeded.get(ref)!] = patch;
        const emailDestroy = (args.onSuccessDestroyEmail ?? []).flatMap((ref) => (succeeded.has(ref) ? [succeeded.get(ref)!] : []));
        if (Object.keys(emailUpdate).length > 0 || emailDestroy.length > 0) {
          const emailSet = emailSetMethods()['Email/set']!;
          const emailArgs = emailSet.args.parse({ accountId, update: emailUpdate, destroy: emailDestroy });
          ctx.followUp('Email/set', await emailSet.handle(emailArgs, ctx));
        }
        return { ...response };
      },
    }),
  };
}

/** For the store's numeric ids. */
export const submissionIdOf = (n: number): string => `S${n}`;
export const emailIdOf = (n: number): string => formatObjectId('email', n);
