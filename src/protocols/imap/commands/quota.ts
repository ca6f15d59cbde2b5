/**
 * QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT and SETQUOTA over one quota root "" per account, with the
 * STORAGE resource only; limits are set by the administrator.
 */
import { no, ok, type CommandContext, type CommandSpec } from '../command.ts';
import { decodeMailboxName } from '../mailbox-name.ts';
import { formatAString, formatString } from '../response.ts';

const AUTHED = ['authenticated', 'selected'] as const;

export const GETQUOTAROOT: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    const wire = args.astring('mailbox');
    args.end();
    const s = ctx.session;
    const name = decodeMailboxName(wire, { utf8: s.utf8Names });
    if (name === null || (await s.account!.status(name)) === null) return no('No such mailbox', 'NONEXISTENT');
    // RFC 9208 §4.3: one quota root "" for the whole account.
    ctx.untagged(`QUOTAROOT ${formatAString(wire, { utf8: s.utf8Names })} ""`);
    await quotaLine(ctx);
    return ok('GETQUOTAROOT completed');
  },
};

export const GETQUOTA: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    const root = args.astring('quota root');
    args.end();
    if (root !== '') return no('No such quota root', 'NONEXISTENT');
    await quotaLine(ctx);
    return ok('GETQUOTA completed');
  },
};

export const SETQUOTA: CommandSpec = {
  states: AUTHED,
  async handle() {
    return no('Quota is set by the administrator', 'NOPERM');
  },
};

async function quotaLine(ctx: CommandContext): Promise<void> {
  const q = await ctx.session.account!.quota();
  // RFC 9208 §5.1: STORAGE is in units of 1024 octets.
  const used = Math.ceil(q.usedBytes / 1024);
  if (q.limitBytes === null) ctx.untagged(`QUOTA ${formatString('')} ()`);
  else ctx.untagged(`QUOTA "" (STORAGE ${used} ${Math.floor(q.limitBytes / 1024)})`);
}
