/**
 * Identity and EmailSubmission on the sending service: an identity is the account's address, and a
 * submission sends the stored email (Bcc fields removed) through `SubmissionService.submit`, the same path
 * as SMTP submission. Submissions are remembered in memory, per account, for EmailSubmission/get.
 */
import type { JmapIdentity } from '../protocols/jmap/backend.ts';
import type { EmailSubmissionRecord, JmapIdentityRecord, JmapSubmissionBackend, SubmissionEnvelopeInput, SubmitOutcome } from '../protocols/jmap/mail/submission-methods.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { AccountStore } from '../store/types.ts';
import type { SubmissionService } from '../submission/service.ts';
import { StoreJmapMailBackend, type StoreJmapMailOptions } from './jmap-mail-backend.ts';

/** Submissions remembered per account; older ones are forgotten (RFC 8621 §7 lets the server drop them). */
const MAX_REMEMBERED = 1000;

/** RFC 8621 §7.5: the Bcc header field is not sent; only the envelope carries those recipients. */
export function withoutBcc(message: Buffer): Buffer {
  const text = message.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const header = end < 0 ? text : text.slice(0, end + 1);
  const lines = header.split(/(?<=\n)/);
  const kept: string[] = [];
  let dropping = false;
  for (const line of lines) {
    const continued = line.startsWith(' ') || line.startsWith('\t');
    if (!continued) dropping = /^bcc\s*:/i.test(line);
    if (!dropping) kept.push(line);
  }
  if (kept.length === lines.length) return message;
  return Buffer.from(kept.join('') + (end < 0 ? '' : text.slice(end + 1)), 'latin1');
}

export class StoreJmapSubmissionBackend extends StoreJmapMailBackend implements JmapSubmissionBackend {
  private readonly submission: Pick<SubmissionService, 'submit'>;
  private readonly remembered = new Map<string, { list: EmailSubmissionRecord[]; made: number }>();
  private readonly accounts: Pick<AccountStore, 'getAccountById'>;

  constructor(options: StoreJmapMailOptions & { submission: Pick<SubmissionService, 'submit'>; accounts: Pick<AccountStore, 'getAccountById'> }) {
    super(options);
    this.submission = options.submission;
    this.accounts = options.accounts;
  }

  async identities(_identity: JmapIdentity, accountId: string): Promise<JmapIdentityRecord[]> {
    const id = this.options.storeAccountId(accountId);
    const account = id === null ? null : await this.accounts.getAccountById(id);
    if (!account) return [];
    return [{ id: `I${account.id}`, name: '', email: account.address, replyTo: null, bcc: null, textSignature: '', htmlSignature: '', mayDelete: false }];
  }

  async submit(identity: JmapIdentity, accountId: string, input: { emailId: number; envelope: SubmissionEnvelopeInput }): Promise<SubmitOutcome> {
    const bytes = await this.emailBytes(accountId, input.emailId);
    if (bytes === null) return { ok: false, code: 550, enhancedCode: '5.1.0', text: 'no such email' };
    const user = identity as JmapIdentity & AuthIdentity & { remoteAddress?: string };
    const result = await this.submission.submit(user, {
      sender: input.envelope.mailFrom.email,
      recipients: input.envelope.rcptTo.map((r) => ({ address: r.email })),
    }, withoutBcc(bytes), { origin: { remoteAddress: user.remoteAddress ?? '127.0.0.1', protocol: 'JMAP' } });
    return result.ok ? { ok: true, queueId: result.queueId, text: result.text } : { ok: false, code: result.code, enhancedCode: result.enhancedCode, text: result.text };
  }

  submissions(accountId: string): { list: EmailSubmissionRecord[]; state: string } {
    const entry = this.remembered.get(accountId);
    return { list: entry?.list ?? [], state: String(entry?.made ?? 0) };
  }

  recordSubmission(accountId: string, record: Omit<EmailSubmissionRecord, 'id'>): EmailSubmissionRecord {
    const entry = this.remembered.get(accountId) ?? { list: [], made: 0 };
    entry.made++;
    const full = { id: `S${entry.made}`, ...record };
    entry.list.push(full);
    if (entry.list.length > MAX_REMEMBERED) entry.list.shift();
    this.remembered.set(accountId, entry);
    return full;
  }
}
