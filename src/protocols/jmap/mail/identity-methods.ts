/**
 * Identity/get, /changes and /set (RFC 8621 §6): the account's own address is the primary identity (never
 * destroyed); others may be created for addresses the sender rights allow (aliases, granted domains) and
 * destroyed again. Name, Reply-To, Bcc and signatures of every identity are kept in the store.
 */
import { z } from 'zod';
import { SUBMISSION_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { setError, type SetError } from '../method-error.ts';
import { changesArgsSchema } from '../standard/changes.ts';
import { checkGetIds, getArgsSchema, pickProperties, selectProperties } from '../standard/get.ts';
import { applyPatch, checkSetPreconditions, setArgsSchema, setResponse, splitWillDestroy } from '../standard/set.ts';
import { formatState, pagedChanges } from './state.ts';
import type { IdentityFields, JmapIdentityRecord, JmapSubmissionBackend } from './submission-backend.ts';

export const IDENTITY_PROPERTIES = ['id', 'name', 'email', 'replyTo', 'bcc', 'textSignature', 'htmlSignature', 'mayDelete'];

const addressSchema = z.object({ name: z.string().max(998).nullable().default(null), email: z.string().min(3).max(512).regex(/^[^\s@<>]+@[^\s@<>]+$/, 'not an address') }).strict();

function fieldsSchema(maxSignatureSize: number) {
  return z.object({
    name: z.string().max(998),
    email: z.string().min(3).max(512).regex(/^[^\s@<>]+@[^\s@<>]+$/, 'not an address'),
    replyTo: z.array(addressSchema).max(100).nullable(),
    bcc: z.array(addressSchema).max(100).nullable(),
    textSignature: z.string().max(maxSignatureSize),
    htmlSignature: z.string().max(maxSignatureSize),
  }).strict();
}

/** The properties a zod failure names (the first path element of each issue). */
function invalid(error: z.ZodError, description?: string): SetError {
  return setError('invalidProperties', { properties: [...new Set(error.issues.map((i) => String(i.path[0] ?? '')))].filter(Boolean), ...(description ? { description } : {}) });
}

export function identityMethods(): MethodTable<JmapSubmissionBackend> {
  return {
    'Identity/get': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: async (args, ctx) => {
        const { list, state } = await ctx.backend.identities(ctx.identity, args.accountId);
        const properties = selectProperties(args.properties, IDENTITY_PROPERTIES);
        const ids = checkGetIds(args.ids?.map((id) => ctx.createdIds.resolve(id) ?? id) ?? null, ctx.limits.maxObjectsInGet) ?? list.map((i) => i.id);
        const byId = new Map(list.map((i) => [i.id, i]));
        return { accountId: args.accountId, state: formatState(state), list: ids.flatMap((id) => (byId.has(id) ? [pickProperties(byId.get(id)! as unknown as Record<string, unknown>, properties)] : [])), notFound: ids.filter((id) => !byId.has(id)) };
      },
    }),
    'Identity/changes': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      handle: async (args, ctx) => {
        const { state } = await ctx.backend.identities(ctx.identity, args.accountId);
        return { ...(await pagedChanges(args, state, (since, limit) => ctx.backend.identityChanges(args.accountId, since, limit))) };
      },
    }),
    'Identity/set': defineMethod({
      capability: SUBMISSION_CAPABILITY,
      account: 'write',
      args: setArgsSchema,
      handle: async (args, ctx) => {
        const accountId = args.accountId;
        const backend = ctx.backend;
        const limits = backend.submissionLimits;
        const before = await backend.identities(ctx.identity, accountId);
        const oldState = formatState(before.state);
        checkSetPreconditions(args, oldState, ctx.limits.maxObjectsInSet);
        const schema = fieldsSchema(limits.maxSignatureSize);
        let count = before.list.length;
        const created: Record<string, Record<string, unknown>> = {};
        const notCreated: Record<string, SetError> = {};
        for (const [creationId, raw] of Object.entries(args.create ?? {})) {
          // RFC 8620 §5.3: server-set properties may be given only with the value the server would set.
          const { id, mayDelete, ...rest } = raw as Record<string, unknown>;
          if (id !== undefined || (mayDelete !== undefined && mayDelete !== true)) {
            notCreated[creationId] = setError('invalidProperties', { properties: [id !== undefined ? 'id' : 'mayDelete'], description: 'server-set property' });
            continue;
          }
          const parsed = schema.safeParse({ name: '', replyTo: null, bcc: null, textSignature: '', htmlSignature: '', ...rest });
          if (!parsed.success) {
            notCreated[creationId] = invalid(parsed.error);
            continue;
          }
          // RFC 8621 §6.3 forbiddenFrom: the user may not send from this address (sender rights: RFC 6409 §6.1).
          if (!(await backend.maySendAs(ctx.identity, accountId, parsed.data.email))) {
            notCreated[creationId] = setError('forbiddenFrom', { description: `not allowed to send as ${parsed.data.email}` });
            continue;
          }
          // RFC 8620 §5.3 overQuota: a server limit on the number of objects.
          if (count >= limits.maxIdentities) {
            notCreated[creationId] = setError('overQuota', { description: `at most ${limits.maxIdentities} identities` });
            continue;
          }
          const record = await backend.createIdentity(accountId, parsed.data as IdentityFields);
          count++;
          ctx.createdIds.set(creationId, record.id);
          created[creationId] = { id: record.id, mayDelete: record.mayDelete, ...Object.fromEntries(Object.entries(record).filter(([k, v]) => !(k in rest) && k !== 'id' && k !== 'mayDelete' && v !== undefined)) };
        }
        const { update, notUpdated } = splitWillDestroy(args.update, args.destroy);
        const updated: Record<string, null> = {};
        const current = new Map((await backend.identities(ctx.identity, accountId)).list.map((i) => [i.id, i]));
        for (const [ref, patch] of Object.entries(update)) {
          const id = ctx.createdIds.resolve(ref) ?? ref;
          const identity = current.get(id);
          if (!identity) {
            notUpdated[ref] = setError('notFound');
            continue;
          }
          const patched = applyPatch(identity as unknown as Record<string, unknown>, patch as Record<string, unknown>);
          if (!patched.ok) {
            notUpdated[ref] = patched.error;
            continue;
          }
          const { id: newId, mayDelete, ...fields } = patched.value as unknown as JmapIdentityRecord;
          // RFC 8621 §6: email is immutable; id and mayDelete are server-set.
          const changedImmutable = ['email'].filter((k) => (fields as unknown as Record<string, unknown>)[k] !== (identity as unknown as Record<string, unknown>)[k]);
          if (newId !== identity.id || mayDelete !== identity.mayDelete || changedImmutable.length > 0) {
            notUpdated[ref] = setError('invalidProperties', { properties: newId !== identity.id ? ['id'] : mayDelete !== identity.mayDelete ? ['mayDelete'] : changedImmutable, description: 'immutable or server-set property' });
            continue;
          }
          const parsed = schema.safeParse(fields);
          if (!parsed.success) {
            notUpdated[ref] = invalid(parsed.error);
            continue;
          }
          if ((await backend.updateIdentity(accountId, id, parsed.data as IdentityFields)) === null) notUpdated[ref] = setError('notFound');
          else updated[id] = null;
        }
        const destroyed: string[] = [];
        const notDestroyed: Record<string, SetError> = {};
        for (const ref of args.destroy ?? []) {
          const id = ctx.createdIds.resolve(ref) ?? ref;
          const outcome = await backend.destroyIdentity(accountId, id);
          if (outcome === true) destroyed.push(id);
          // RFC 8621 §6: mayDelete false (the account's own address) is refused with forbidden.
          else notDestroyed[ref] = outcome === 'forbidden' ? setError('forbidden', { description: 'the account\'s own address cannot be removed' }) : setError('notFound');
        }
        const after = await backend.identities(ctx.identity, accountId);
        return { ...setResponse({ accountId, oldState, newState: formatState(after.state), created, updated, destroyed, notCreated, notUpdated, notDestroyed }) };
      },
    }),
  };
}
