/**
 * `postamt queue list|show|retry|delete|bounce|hold|release`: the outbound queue, like postqueue/postsuper.
 * The work is done by the administration service (src/admin/queue.ts); this file parses arguments and
 * formats the answers.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { parseQueueId } from '../admin/queue.ts';
import type { QueueSummary } from '../queue/admin.ts';
import { formatTable, println, withAdmin, type CliDeps, type OutputStream } from './context.ts';

function printSummary(out: OutputStream, m: QueueSummary): void {
  const held = m.holdUntil && m.holdUntil > new Date() ? `  held until ${m.holdUntil.toISOString()} (delayed send)` : '';
  println(out, `${m.id}  ${m.size} bytes  ${m.createdAt.toISOString()}  from <${m.sender}>${held}`);
  for (const r of m.recipients) {
    const detail = r.state === 'queued' || r.state === 'deferred' ? `next ${r.nextAttemptAt.toISOString()}` : '';
    println(out, `    ${formatTable([[r.address, r.state, `attempts ${r.attempts}`, detail]])[0]}`);
    if (r.lastResult) println(out, `        ${r.lastResult}`);
  }
}

export function registerQueue(program: Command, deps: CliDeps): void {
  const group = program.command('queue').description('inspect and manage the outbound queue');
  const out = deps.io.stdout;

  group.command('list').description('list queued messages with their recipients').option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const items = await admin.queue.list(as);
        if (opts.json) return println(out, JSON.stringify(items, null, 2));
        if (items.length === 0) return println(out, 'queue is empty');
        for (const m of items) printSummary(out, m);
        println(out, `${items.length} message(s)`);
      });
    });

  group.command('show').argument('<id>').description('show one message: envelope, recipients and headers').option('--json', 'print JSON')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      parseQueueId(idText);
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const m = await admin.queue.show(as, idText);
        if (opts.json) return println(out, JSON.stringify(m, null, 2));
        printSummary(out, m);
        println(out, `origin ${m.origin}${m.envid ? `  envid ${m.envid}` : ''}${m.ret ? `  ret ${m.ret}` : ''}`);
        println(out);
        println(out, m.headers.replace(/\r\n/g, '\n').trimEnd());
      });
    });

  group.command('retry').argument('[id]').option('--all', 'every queued message').description('try pending recipients again now')
    .action(async (idText: string | undefined, opts: { all?: boolean }, cmd: Command) => {
      if ((idText === undefined) === (opts.all !== true)) throw new UsageError('give a queue id or --all', 2);
      if (idText !== undefined) parseQueueId(idText);
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const n = await admin.queue.retry(as, opts.all ? 'all' : idText!);
        println(out, `${n} recipient(s) scheduled for delivery now`);
      });
    });

  const simple = [
    ['delete', 'remove a message from the queue without notice', 'deleted'],
    ['hold', 'stop delivery attempts until release', 'held'],
    ['release', 'resume delivery of a held message', 'released'],
  ] as const;
  for (const [name, description, verb] of simple) {
    group.command(name).argument('<id>').description(description)
      .action(async (idText: string, _opts: unknown, cmd: Command) => {
        const id = parseQueueId(idText);
        await withAdmin(cmd, deps, async ({ admin, as }) => {
          const n = await admin.queue.act(as, name, id);
          println(out, name === 'delete' ? `deleted ${id}` : `${verb} ${n} recipient(s) of ${id}`);
        });
      });
  }

  group.command('bounce').argument('<id>').option('--reason <text>', 'text for the bounce').description('fail pending recipients now and notify the sender')
    .action(async (idText: string, opts: { reason?: string }, cmd: Command) => {
      const id = parseQueueId(idText);
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const result = await admin.queue.bounce(as, id, opts.reason);
        println(out, `bounced ${result.bounced} recipient(s) of ${id}${result.dsnQueueId ? `; notice queued as ${result.dsnQueueId}` : ''}`);
      });
    });
}
