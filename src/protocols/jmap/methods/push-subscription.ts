/**
 * PushSubscription/get and /set (RFC 8620 §7.2): no accountId and no state; the subscriptions are those of
 * the login credential of the request, which the backend enforces. The url and keys are never returned.
 */
import { z } from 'zod';
import { CORE_CAPABILITY } from '../capabilities.ts';
import type { JmapIdentity } from '../backend.ts';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { defineMethod, type MethodTable } from '../method.ts';

export interface JmapPushSubscription {
  id: string;
  deviceClientId: string;
  /** The code the client set back (null until it did). */
  verificationCode: string | null;
  /** RFC 8620 §1.4 UTCDate. */
  expires: string;
  types: string[] | null;
}

export interface PushSubscriptionCreate {
  deviceClientId: string;
  url: string;
  keys: { p256dh: string; auth: string } | null;
  expires: Date | null;
  types: string[] | null;
}

export interface PushSubscriptionUpdate {
  verificationCode?: string;
  expires?: Date | null;
  types?: string[] | null;
}

export interface PushSubscriptionBackend {
  /** The subscriptions made with the identity's credential. */
  pushSubscriptions(identity: JmapIdentity): Promise<JmapPushSubscription[]>;
  /** The new id and the expiry the server keeps, or why not. */
  createPushSubscription(identity: JmapIdentity, input: PushSubscriptionCreate): Promise<{ id: string; expires: string } | SetError>;
  /** What changed beyond the patch (a shortened expires), or why not; null when it is not the credential's. */
  updatePushSubscription(identity: JmapIdentity, id: string, patch: PushSubscriptionUpdate): Promise<{ expires?: string } | SetError | null>;
  destroyPushSubscription(identity: JmapIdentity, id: string): Promise<boolean>;
}

const PROPERTIES = ['id', 'deviceClientId', 'verificationCode', 'expires', 'types'] as const;
/** RFC 8620 §7.2.1: url and keys may be private to a device: asking for them is `forbidden`. */
const PRIVATE = ['url', 'keys'];
const CREATABLE = new Set(['deviceClientId', 'url', 'keys', 'verificationCode', 'expires', 'types']);
const UTC_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const BASE64URL = /^[A-Za-z0-9_-]+=*$/;

const getArgs = z.object({ ids: z.array(z.string()).nullable().optional(), properties: z.array(z.string()).nullable().optional() }).strict();
const setArgs = z.object({
  create: z.record(z.string(), z.record(z.string(), z.unknown())).nullable().optional(),
  update: z.record(z.string(), z.record(z.string(), z.unknown())).nullable().optional(),
  destroy: z.array(z.string()).nullable().optional(),
}).strict();

function isTypes(v: unknown): v is string[] | null {
  return v === null || (Array.isArray(v) && v.every((t) => typeof t === 'string'));
}

function parseExpires(v: unknown): Date | null | undefined {
  if (v === null) return null;
  if (typeof v !== 'string' || !UTC_DATE.test(v)) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function parseCreate(raw: Record<string, unknown>): PushSubscriptionCreate | SetError {
  const bad = Object.keys(raw).filter((k) => !CREATABLE.has(k));
  if (bad.length > 0) return setError('invalidProperties', { properties: bad, description: 'Unknown or server-set properties.' });
  const invalid: string[] = [];
  if (typeof raw.deviceClientId !== 'string' || raw.deviceClientId === '' || raw.deviceClientId.length > 255) invalid.push('deviceClientId');
  if (typeof raw.url !== 'string' || raw.url.length > 2048) invalid.push('url');
  const keys = raw.keys ?? null;
  const keysOk = keys === null || (typeof keys === 'object' && !Array.isArray(keys) && Object.keys(keys).every((k) => k === 'p256dh' || k === 'auth')
    && typeof (keys as Record<string, unknown>).p256dh === 'string' && BASE64URL.test((keys as Record<string, string>).p256dh)
    && typeof (keys as Record<string, unknown>).auth === 'string' && BASE64URL.test((keys as Record<string, string>).auth));
  if (!keysOk) invalid.push('keys');
  // RFC 8620 §7.2: the verificationCode must be null on create; the server makes one and posts it to the url.
  if (raw.verificationCode !== undefined && raw.verificationCode !== null) invalid.push('verificationCode');
  const expires = raw.expires === undefined ? null : parseExpires(raw.expires);
  if (expires === undefined) invalid.push('expires');
  const types = raw.types ?? null;
  if (!isTypes(types)) invalid.push('types');
  if (invalid.length > 0) return setError('invalidProperties', { properties: invalid });
  return { deviceClientId: raw.deviceClientId as string, url: raw.url as string, keys: keys as PushSubscriptionCreate['keys'], expires: expires as Date | null, types: types as string[] | null };
}

function parseUpdate(raw: Record<string, unknown>): PushSubscriptionUpdate | SetError {
  const patch: PushSubscriptionUpdate = {};
  const invalid: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'verificationCode' && typeof value === 'string') patch.verificationCode = value;
    else if (key === 'expires' && parseExpires(value) !== undefined) patch.expires = parseExpires(value);
    else if (key === 'types' && isTypes(value)) patch.types = value;
    // RFC 8620 §7.2: url and keys (and the id and deviceClientId) are immutable: invalidProperties.
    else invalid.push(key);
  }
  if (invalid.length > 0) return setError('invalidProperties', { properties: invalid });
  return patch;
}

export function pushSubscriptionMethods(backend: PushSubscriptionBackend): MethodTable {
  return {
    'PushSubscription/get': defineMethod({
      capability: CORE_CAPABILITY,
      account: 'none',
      args: getArgs,
      async handle(args, ctx) {
        const properties = args.properties ?? null;
        if (properties !== null) {
          // RFC 8620 §7.2.1: asking for url or keys is forbidden; an unknown property is invalidArguments.
          if (properties.some((p) => PRIVATE.includes(p))) throw new MethodError('forbidden', 'The url and keys of a push subscription are never returned.');
          const unknown = properties.filter((p) => !(PROPERTIES as readonly string[]).includes(p));
          if (unknown.length > 0) throw new MethodError('invalidArguments', `Unknown properties: ${unknown.join(', ')}`);
        }
        const wanted = new Set<string>(properties ?? PROPERTIES);
        wanted.add('id');
        const all = await backend.pushSubscriptions(ctx.identity);
        const ids = args.ids ?? null;
        if (ids !== null && ids.length > ctx.limits.maxObjectsInGet) throw new MethodError('requestTooLarge', `At most ${ctx.limits.maxObjectsInGet} ids.`);
        const byId = new Map(all.map((s) => [s.id, s]));
        const list: Record<string, unknown>[] = [];
        const notFound: string[] = [];
        const pick = (s: JmapPushSubscription): Record<string, unknown> => Object.fromEntries(Object.entries(s).filter(([k]) => wanted.has(k)));
        if (ids === null) for (const s of all) list.push(pick(s));
        else {
          for (const id of [...new Set(ids)]) {
            const s = byId.get(id);
            if (s) list.push(pick(s));
            else notFound.push(id);
          }
        }
        return { list, notFound };
      },
    }),
    'PushSubscription/set': defineMethod({
      capability: CORE_CAPABILITY,
      account: 'none',
      args: setArgs,
      async handle(args, ctx) {
        const create = args.create ?? {};
        const update = args.update ?? {};
        const destroy = args.destroy ?? [];
        if (Object.keys(create).length + Object.keys(update).length + destroy.length > ctx.limits.maxObjectsInSet) throw new MethodError('requestTooLarge', `At most ${ctx.limits.maxObjectsInSet} objects.`);
        const created: Record<string, unknown> = {};
        const notCreated: Record<string, SetError> = {};
        const updated: Record<string, unknown> = {};
        const notUpdated: Record<string, SetError> = {};
        const destroyed: string[] = [];
        const notDestroyed: Record<string, SetError> = {};
        for (const [creationId, raw] of Object.entries(create)) {
          const input = parseCreate(raw);
          if ('type' in input) {
            notCreated[creationId] = input;
            continue;
          }
          const result = await backend.createPushSubscription(ctx.identity, input);
          if ('type' in result) notCreated[creationId] = result;
          else {
            ctx.createdIds.set(creationId, result.id);
            created[creationId] = result;
          }
        }
        for (const [ref, raw] of Object.entries(update)) {
          const id = ctx.createdIds.resolve(ref);
          const patch = parseUpdate(raw);
          if (id === undefined) notUpdated[ref] = setError('notFound');
          else if ('type' in patch) notUpdated[ref] = patch;
          else {
            const result = await backend.updatePushSubscription(ctx.identity, id, patch);
            if (result === null) notUpdated[ref] = setError('notFound');
            else if ('type' in result) notUpdated[ref] = result as SetError;
            else updated[id] = Object.keys(result).length > 0 ? result : null;
          }
        }
        for (const ref of destroy) {
          const id = ctx.createdIds.resolve(ref);
          if (id !== undefined && (await backend.destroyPushSubscription(ctx.identity, id))) destroyed.push(id);
          else notDestroyed[ref] = setError('notFound');
        }
        // RFC 8620 §7.2.2: like a standard /set, without accountId, oldState and newState.
        return { created, notCreated, updated, notUpdated, destroyed, notDestroyed };
      },
    }),
  };
}
