/**
 * Thread/get and Thread/changes (RFC 8621 §3): a thread's emails, oldest received first, as the store
 * grouped them at delivery.
 */
import { formatObjectId, parseObjectId } from '../../../core/object-ids.ts';
import { MAIL_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError } from '../method-error.ts';
import { changesArgsSchema } from '../standard/changes.ts';
import { checkGetIds, getArgsSchema, pickProperties, selectProperties } from '../standard/get.ts';
import type { JmapMailBackend } from './backend.ts';
import { formatState, mailChanges } from './state.ts';

export function threadMethods(): MethodTable<JmapMailBackend> {
  return {
    'Thread/get': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: async (args, ctx) => {
        // RFC 8621 §3.1: Thread/get with ids null is not supported (there is no list of every thread).
        if (args.ids === null) throw new MethodError('requestTooLarge', 'ask for thread ids');
        const ids = checkGetIds(args.ids.map((id) => ctx.createdIds.resolve(id) ?? id), ctx.limits.maxObjectsInGet)!;
        const properties = selectProperties(args.properties, ['id', 'emailIds']);
        const state = await ctx.backend.mailState(args.accountId);
        const numeric = ids.map((id) => parseObjectId('thread', id));
        const threads = await ctx.backend.threads(args.accountId, numeric.filter((n): n is number => n !== null));
        const list = [];
        const notFound = [];
        for (let i = 0; i < ids.length; i++) {
          const emails = numeric[i] === null ? undefined : threads.get(numeric[i]!);
          if (emails === undefined) notFound.push(ids[i]!);
          else list.push(pickProperties({ id: ids[i]!, emailIds: emails.map((e) => formatObjectId('email', e)) }, properties));
        }
        return { accountId: args.accountId, state: formatState(state), list, notFound };
      },
    }),
    'Thread/changes': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      handle: async (args, ctx) => ({ ...(await mailChanges(ctx.backend, args.accountId, 'Thread', args)) }),
    }),
  };
}
