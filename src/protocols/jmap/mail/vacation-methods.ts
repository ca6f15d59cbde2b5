/**
 * VacationResponse/get and /set (RFC 8621 §8): one object per account, id "singleton", that can be
 * neither created nor destroyed; the server answers incoming mail with it while it is enabled.
 */
import { z } from 'zod';
import type { JmapBackend } from '../backend.ts';
import { VACATION_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { setError, type SetError } from '../method-error.ts';
import { checkGetIds, getArgsSchema, pickProperties, selectProperties } from '../standard/get.ts';
import { utcDateSchema } from '../standard/primitives.ts';
import { applyPatch, checkSetPreconditions, setArgsSchema, setResponse } from '../standard/set.ts';

/** RFC 8621 §8: the one id a VacationResponse has. */
export const VACATION_ID = 'singleton';

export interface JmapVacation {
  isEnabled: boolean;
  /** UTCDate strings (RFC 8620 §1.4) or null. */
  fromDate: string | null;
  toDate: string | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

export interface JmapVacationBackend extends JmapBackend {
  vacation(accountId: string): Promise<{ value: JmapVacation; state: string }>;
  /** Stores the whole object (durable on return) and gives the new state. */
  setVacation(accountId: string, value: JmapVacation): Promise<{ state: string }>;
}

const PROPERTIES = ['id', 'isEnabled', 'fromDate', 'toDate', 'subject', 'textBody', 'htmlBody'];

const vacationSchema = z.object({
  id: z.literal(VACATION_ID),
  isEnabled: z.boolean(),
  fromDate: utcDateSchema.nullable(),
  toDate: utcDateSchema.nullable(),
  subject: z.string().max(998).nullable(),
  textBody: z.string().max(1_000_000).nullable(),
  htmlBody: z.string().max(1_000_000).nullable(),
}).strict();

export function vacationMethods(): MethodTable<JmapVacationBackend> {
  return {
    'VacationResponse/get': defineMethod({
      capability: VACATION_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: async (args, ctx) => {
        const { value, state } = await ctx.backend.vacation(args.accountId);
        const properties = selectProperties(args.properties, PROPERTIES);
        const ids = checkGetIds(args.ids, ctx.limits.maxObjectsInGet) ?? [VACATION_ID];
        return {
          accountId: args.accountId,
          state,
          list: ids.filter((id) => id === VACATION_ID).map(() => pickProperties({ id: VACATION_ID, ...value }, properties)),
          notFound: ids.filter((id) => id !== VACATION_ID),
        };
      },
    }),
    'VacationResponse/set': defineMethod({
      capability: VACATION_CAPABILITY,
      account: 'write',
      args: setArgsSchema,
      handle: async (args, ctx) => {
        const current = await ctx.backend.vacation(args.accountId);
        checkSetPreconditions(args, current.state, ctx.limits.maxObjectsInSet);
        // RFC 8621 §8.2: the singleton cannot be created or destroyed.
        const notCreated: Record<string, SetError> = Object.fromEntries(Object.keys(args.create ?? {}).map((k) => [k, setError('singleton')]));
        const notDestroyed: Record<string, SetError> = Object.fromEntries((args.destroy ?? []).map((id) => [id, setError(id === VACATION_ID ? 'singleton' : 'notFound')]));
        const notUpdated: Record<string, SetError> = {};
        const updated: Record<string, null> = {};
        let state = current.state;
        for (const [id, patch] of Object.entries(args.update ?? {})) {
          if (id !== VACATION_ID) {
            notUpdated[id] = setError('notFound');
            continue;
          }
          const patched = applyPatch({ id: VACATION_ID, ...current.value }, patch);
          if (!patched.ok) {
            notUpdated[id] = patched.error;
            continue;
          }
          // RFC 8620 §5.3: a property of the wrong type, an unknown one, or a changed id is invalidProperties.
          const checked = vacationSchema.safeParse({ id: VACATION_ID, isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null, ...patched.value });
          if (!checked.success) {
            notUpdated[id] = setError('invalidProperties', { properties: [...new Set(checked.error.issues.map((i) => String(i.path[0] ?? Object.keys(patch)[0])))] });
            continue;
          }
          const { id: _id, ...value } = checked.data;
          state = (await ctx.backend.setVacation(args.accountId, value)).state;
          updated[id] = null;
        }
        return { ...setResponse({ accountId: args.accountId, oldState: current.state, newState: state, updated, notCreated, notUpdated, notDestroyed }) };
      },
    }),
  };
}
