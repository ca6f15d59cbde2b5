/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13): the session reports changes as they happen until the client
 * sends DONE.
 */
import type { OutputPart } from '../../engine.ts';
import type { CommandSpec } from '../command.ts';
import type { ImapSessionCore } from '../session-state.ts';

export const IDLE: CommandSpec = {
  states: ['authenticated', 'selected'],
  async handle(ctx, args) {
    args.end();
    const s = ctx.session;
    for (const l of await s.syncSelected({ allowExpunge: true })) ctx.untagged(l);
    s.mode = { kind: 'idle', tag: ctx.tag };
    ctx.raw('+ idling\r\n');
    return null;
  },
};

/** The client's line while idling: DONE ends IDLE with the pending changes and the tagged OK. */
export async function handleIdleLine(s: ImapSessionCore, line: string, out: OutputPart[]): Promise<void> {
  if (s.mode.kind !== 'idle') return;
  const tag = s.mode.tag;
  s.mode = { kind: 'command' };
  // RFC 9051 §6.3.13: only DONE ends IDLE.
  if (line.toUpperCase() === 'DONE') {
    for (const l of await s.syncSelected({ allowExpunge: true })) out.push(`* ${l}\r\n`);
    out.push(`${tag} OK IDLE terminated\r\n`);
  } else out.push(`${tag} BAD Expected DONE\r\n`);
}
