/**
 * `postamt message list|cat|append`: look at and add messages in a user's mailbox from the shell, through
 * the same account-scoped mail service as IMAP and JMAP (so the quota and mailbox rules are theirs).
 * `append` stores durably (it returns after the commit's fsync) and prints the new UID.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatSize } from '../config/values.ts';
import { decodeHeaderValue } from '../message/encoded-words.ts';
import { findHeaderEnd, headerValue, parseHeaderFields } from '../message/header-fields.ts';
import type { MailboxRecord } from '../store/types.ts';
import type { Config } from '../config/schema.ts';
import { MailAccessError, type AccountMail } from '../mail/access.ts';
import { StoreMailAccess } from '../mail/service.ts';
import { formatTable, println, withStore, type CliDeps, type CliStore, type InputStream } from './context.ts';
import { requireAccount } from '../admin/validate.ts';

/** Enough of the message to find From, Subject and Date without reading big bodies. */
const HEADER_PEEK_BYTES = 64 * 1024;

/** The account's mail as the mail service gives it to a login of that account, and the named mailbox in it. */
async function openMailbox(store: CliStore, config: Config, email: string, name: string): Promise<{ mail: AccountMail; mailbox: MailboxRecord }> {
  const account = await requireAccount(store, email);
  const mail = await new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: config.storage.quotaDefault }).open({ accountId: account.id });
  const mailbox = await mail.findMailbox(name);
  if (!mailbox) throw new UsageError(`${account.address} has no mailbox ${JSON.stringify(name)} (see postamt mailbox list ${account.address})`);
  return { mail, mailbox };
}

/** The mail service's refusals (over quota, mailbox gone) as the CLI says them. */
function usageErrorOf(err: unknown): unknown {
  if (!(err instanceof MailAccessError)) return err;
  return new UsageError(err.code === 'OVERQUOTA' ? `${err.message} (see postamt user quota)` : err.message);
}

function parseUid(text: string): number {
  const uid = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  // RFC 9051 §2.3.1.1: UIDs are non-zero 32-bit numbers.
  if (!(uid >= 1 && uid <= 0xffffffff)) throw new UsageError(`UID must be a number from 1 to 4294967295, got ${JSON.stringify(text)}`);
  return uid;
}

/**
 * Copies stdin into `write`, turning bare LF line ends into CRLF (RFC 5322 §2.1: lines end with CRLF;
 * .eml files on disk often use LF), refusing input above `maxBytes`. Returns the size written.
 */
export async function copyWithCrlf(input: InputStream, write: (chunk: Buffer) => void, maxBytes: number): Promise<number> {
  let previous = -1;
  let size = 0;
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    const parts: Buffer[] = [];
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x0a && (i > 0 ? chunk[i - 1] : previous) !== 0x0d) {
        parts.push(chunk.subarray(start, i), Buffer.from('\r'));
        start = i;
      }
    }
    parts.push(chunk.subarray(start));
    const converted = Buffer.concat(parts);
    size += converted.length;
    if (size > maxBytes) throw new UsageError(`the message is larger than limits.message_size (${formatSize(maxBytes)})`);
    if (chunk.length > 0) previous = chunk[chunk.length - 1]!;
    write(converted);
  }
  return size;
}

export function registerMessage(program: Command, deps: CliDeps): void {
  const group = program.command('message').description('list, print and add messages');

  group.command('list').argument('<email>').description('list the messages of a mailbox')
    .option('--mailbox <name>', 'mailbox', 'INBOX')
    .option('--json', 'print JSON')
    .action(async (email: string, opts: { mailbox: string; json?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store, config) => {
        const { mail, mailbox } = await openMailbox(store, config, email, opts.mailbox);
        const rows = [];
        for (const m of await mail.listMessages(mailbox.id)) {
          const head = await mail.readMessage(mailbox.id, m.uid, { start: 0, end: Math.min(m.size, HEADER_PEEK_BYTES) });
          if (!head) continue; // expunged meanwhile
          const fields = parseHeaderFields(head, 0, findHeaderEnd(head, 0, head.length).fieldsEnd, 500);
          const field = (name: string): string | null => {
            const value = headerValue(fields, name);
            return value === null ? null : decodeHeaderValue(value);
          };
          rows.push({ uid: m.uid, size: m.size, internalDate: m.internalDate.toISOString(), flags: m.flags, from: field('From'), subject: field('Subject'), date: field('Date'), messageId: field('Message-ID') });
        }
        if (opts.json) {
          println(deps.io.stdout, JSON.stringify(rows, null, 2));
          return;
        }
        if (rows.length === 0) return println(deps.io.stdout, `no messages in ${mailbox.name}`);
        const table = [['UID', 'SIZE', 'RECEIVED', 'FLAGS', 'FROM', 'SUBJECT'],
          ...rows.map((r) => [String(r.uid), String(r.size), r.internalDate.slice(0, 19).replace('T', ' '), r.flags.join(' ') || '-', r.from ?? '', r.subject ?? ''])];
        for (const line of formatTable(table)) println(deps.io.stdout, line);
      });
    });

  group.command('cat').argument('<email>').argument('<uid>').description('write the raw message bytes to stdout')
    .option('--mailbox <name>', 'mailbox', 'INBOX')
    .action(async (email: string, uidText: string, opts: { mailbox: string }, cmd: Command) => {
      const uid = parseUid(uidText);
      await withStore(cmd, deps, async (store, config) => {
        const { mail, mailbox } = await openMailbox(store, config, email, opts.mailbox);
        if (!(await mail.getMessage(mailbox.id, uid))) throw new UsageError(`no message with UID ${uid} in ${mailbox.name}`);
        for await (const chunk of mail.streamMessage(mailbox.id, uid)) deps.io.stdout.write(chunk);
      });
    });

  group.command('append').argument('<email>').description('store a message read from stdin (e.g. < file.eml); prints its UID')
    .option('--mailbox <name>', 'mailbox', 'INBOX')
    .option('--seen', 'mark the message as read')
    .action(async (email: string, opts: { mailbox: string; seen?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store, config) => {
        const { mail, mailbox } = await openMailbox(store, config, email, opts.mailbox);
        const tx = mail.beginAppend();
        let size: number;
        try {
          size = await copyWithCrlf(deps.io.stdin, (chunk) => tx.write(chunk), config.limits.messageSize);
        } catch (err) {
          tx.abort();
          throw err;
        }
        if (size === 0) {
          tx.abort();
          throw new UsageError('no message on stdin (use: postamt message append EMAIL < file.eml)');
        }
        const [stored] = await mail.commitAppends([{ tx, target: { mailboxId: mailbox.id, flags: opts.seen ? ['\\Seen'] : [] } }]).catch((err: unknown) => {
          throw usageErrorOf(err);
        });
        if (!stored) throw new Error('the mail service did not report the appended message');
        println(deps.io.stdout, String(stored.uid));
      });
    });
}
