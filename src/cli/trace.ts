/**
 * `postamt trace`: the timeline of messages from the message trace (received or refused, stored, queued,
 * each delivery attempt, DSNs), found by Message-ID, sender, recipient, queue id, time and result.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { parseDuration } from '../config/values.ts';
import { formatTimelines } from '../trace/format.ts';
import { TraceService, type TraceSearch } from '../trace/service.ts';
import { println, withStore, type CliDeps } from './context.ts';

interface TraceOptions {
  messageId?: string;
  sender?: string;
  recipient?: string;
  queueId?: string;
  since?: string;
  until?: string;
  result?: string;
  limit?: string;
  json?: boolean;
}

/** A time given as an ISO date or a duration back from now ("2h", "30m", "7d"). */
export function parseTime(text: string, option: string, now = Date.now()): Date {
  if (/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/.test(text.trim())) return new Date(now - parseDuration(text.trim()));
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`${option} ${JSON.stringify(text)}: expected a date (2026-12-01T10:00Z) or a duration back from now (2h, 7d)`);
  return new Date(t);
}

export function registerTrace(program: Command, deps: CliDeps): void {
  program.command('trace').description('show what happened to messages (the message trace)')
    .option('--message-id <id>', 'the Message-ID (with or without <>)')
    .option('--sender <address>', 'the envelope sender ("" for the null sender)')
    .option('--recipient <address>', 'an envelope recipient')
    .option('--queue-id <id>', 'the queue id (the id in "250 Ok: queued as ...")')
    .option('--since <time>', 'events since a date or for a duration back from now (2h, 7d)')
    .option('--until <time>', 'events before a date or a duration back from now')
    .option('--result <result>', 'accepted, rejected, tempfail, delivered, deferred, bounced')
    .option('--limit <n>', 'messages at most (newest first)', '20')
    .option('--json', 'print JSON')
    .action(async (opts: TraceOptions, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${JSON.stringify(opts.limit)}: expected a positive whole number`);
      const query: TraceSearch = { limit };
      if (opts.messageId) query.messageId = opts.messageId;
      if (opts.sender !== undefined) query.sender = opts.sender.replace(/^<|>$/g, '');
      if (opts.recipient) query.recipient = opts.recipient.replace(/^<|>$/g, '');
      if (opts.queueId) query.queueId = opts.queueId;
      if (opts.since) query.since = parseTime(opts.since, '--since');
      if (opts.until) query.until = parseTime(opts.until, '--until');
      if (opts.result) query.result = opts.result;
      await withStore(cmd, deps, async (store) => {
        const timelines = await new TraceService({ store }).search({ kind: 'everything' }, query);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(timelines, null, 2));
        if (timelines.length === 0) return println(deps.io.stdout, 'no traced message matches');
        for (const line of formatTimelines(timelines)) println(deps.io.stdout, line);
      });
    });
}
