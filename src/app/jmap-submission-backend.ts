/**
 * Identity and EmailSubmission on the store and the sending service: identities are the account's own
 * address (the primary one) and those created for addresses its sender rights allow; a submission sends the
 * stored email (Bcc fields removed) through `SubmissionService.submit`, the same path as SMTP submission,
 * at once or held in the queue until sendAt, and is kept in the store (every process and node sees it).
 */
import type { Logger } from '../core/log.ts';
import { formatObjectId } from '../core/object-ids.ts';
import { maySendAs } from '../policy/sender-rights.ts';
import type { JmapIdentity } from '../protocols/jmap/backend.ts';
import type { EmailSubmissionRecord, IdentityFields, JmapIdentityRecord, JmapSubmissionBackend, NewSubmission, SubmissionEnvelopeInput, SubmissionLimits, SubmitOutcome } from '../protocols/jmap/mail/submission-backend.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import { cancelHeldMessage } from '../queue/delayed-send.ts';
import type { EmailSubmissionRecord as StoredSubmission, IdentityRecord, Store } from '../store/types.ts';
import type { SubmissionService } from '../submission/service.ts';
import { StoreJmapMailBackend, type StoreJmapMailOptions } from './jmap-mail-backend.ts';

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

/** RFC 8620 §1.4 UTCDate, without fractional seconds. */
function utcDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export type SubmissionStorePart = Pick<Store, 'getAccountById' | 'getAlias' | 'objectState' | 'accountObjectChanges' | 'listIdentities' | 'createIdentity' | 'updateIdentity' | 'destroyIdentity'
  | 'addSubmission' | 'listSubmissions' | 'updateSubmission' | 'destroySubmissions' | 'cancelHeldMessage'>;

export class StoreJmapSubmissionBackend extends StoreJmapMailBackend implements JmapSubmissionBackend {
  readonly submissionLimits: SubmissionLimits;
  private readonly submission: Pick<SubmissionService, 'submit'>;
  private readonly store: SubmissionStorePart;
  private readonly logger: Logger;
  private readonly clock: () => Date;

  constructor(options: StoreJmapMailOptions & { submission: Pick<SubmissionService, 'submit'>; store: SubmissionStorePart; limits: SubmissionLimits; logger: Logger; now?: () => Date }) {
    super(options);
    this.submission = options.submission;
    this.store = options.store;
    this.submissionLimits = options.limits;
    this.logger = options.logger;
    this.clock = options.now ?? (() => new Date());
  }

  now(): Date {
    return this.clock();
  }

  private idOf(accountId: string): number {
    const id = this.options.storeAccountId(accountId);
    // The engine checked the account against the login before the method ran.
    if (id === null) throw new Error(`no store account behind ${accountId}`);
    return id;
  }

  /** Primary: "I<account>"; others "I<account>-<n>". */
  private identityId(record: Pick<IdentityRecord, 'accountId' | 'id' | 'primary'>): string {
    return record.primary ? `I${record.accountId}` : `I${record.accountId}-${record.id}`;
  }

  /** The store id of one of the account's identity ids: 'primary', a number, or null for another account's or a malformed one. */
  private identityNumber(account: number, id: string): number | 'primary' | null {
    if (id === `I${account}`) return 'primary';
    const m = /^I(\d+)-(\d{1,15})$/.exec(id);
    return m && Number(m[1]) === account ? Number(m[2]) : null;
  }

  private toJmapIdentity(record: IdentityRecord): JmapIdentityRecord {
    const { name, email, replyTo, bcc, textSignature, htmlSignature } = record;
    return { id: this.identityId(record), name, email, replyTo, bcc, textSignature, htmlSignature, mayDelete: !record.primary };
  }

  async identities(_identity: JmapIdentity, accountId: string): Promise<{ list: JmapIdentityRecord[]; state: number }> {
    const id = this.idOf(accountId);
    const [account, stored, state] = await Promise.all([this.store.getAccountById(id), this.store.listIdentities(id), this.store.objectState(id, 'Identity')]);
    if (!account) return { list: [], state };
    // The primary identity exists before it is first changed (stored then); its address follows the account's.
    const primary = stored.find((i) => i.primary) ?? { accountId: id, id: 0, primary: true, name: '', replyTo: null, bcc: null, textSignature: '', htmlSignature: '', email: account.address };
    const list = [{ ...primary, email: account.address }, ...stored.filter((i) => !i.primary)];
    return { list: list.map((i) => this.toJmapIdentity(i)), state };
  }

  async identityChanges(accountId: string, sinceState: number, limit: number) {
    const account = this.idOf(accountId);
    // The primary identity's row (never destroyed) is named by the account; the others by their row.
    const [changes, stored] = await Promise.all([this.store.accountObjectChanges(account, 'Identity', sinceState, limit), this.store.listIdentities(account)]);
    const primaryRow = stored.find((i) => i.primary)?.id;
    // The primary identity existed before its row was written: for a client it is only ever updated.
    return changes.map((c) => ({ ...c, created: c.created && c.id !== primaryRow, id: this.identityId({ accountId: account, id: c.id, primary: c.id === primaryRow }) }));
  }

  async maySendAs(_identity: JmapIdentity, accountId: string, email: string): Promise<boolean> {
    const account = await this.store.getAccountById(this.idOf(accountId));
    return account !== null && (await maySendAs(account, email, this.store));
  }

  async createIdentity(accountId: string, fields: IdentityFields): Promise<JmapIdentityRecord> {
    return this.toJmapIdentity(await this.store.createIdentity(this.idOf(accountId), fields));
  }

  async updateIdentity(accountId: string, id: string, fields: IdentityFields): Promise<JmapIdentityRecord | null> {
    const account = this.idOf(accountId);
    const n = this.identityNumber(account, id);
    if (n === null) return null;
    const record = await this.store.updateIdentity(account, n, fields);
    return record === null ? null : this.toJmapIdentity(record);
  }

  async destroyIdentity(accountId: string, id: string): Promise<true | 'notFound' | 'forbidden'> {
    const account = this.idOf(accountId);
    const n = this.identityNumber(account, id);
    if (n === 'primary') return 'forbidden';
    if (n === null) return 'notFound';
    return (await this.store.destroyIdentity(account, n)) ? true : 'notFound';
  }

  async submit(identity: JmapIdentity, accountId: string, input: { emailId: number; envelope: SubmissionEnvelopeInput; holdUntil: Date | null }): Promise<SubmitOutcome> {
    const bytes = await this.emailBytes(accountId, input.emailId);
    if (bytes === null) return { ok: false, code: 550, enhancedCode: '5.1.0', text: 'no such email', rule: 'no_such_email' };
    const user = identity as JmapIdentity & AuthIdentity & { remoteAddress?: string };
    const result = await this.submission.submit(user, {
      sender: input.envelope.mailFrom.email,
      recipients: input.envelope.rcptTo.map((r) => ({ address: r.email })),
    }, withoutBcc(bytes), { origin: { remoteAddress: user.remoteAddress ?? '127.0.0.1', protocol: 'JMAP' }, holdUntil: input.holdUntil });
    return result.ok ? { ok: true, queueId: result.queueId, text: result.text, queued: result.queued } : { ok: false, code: result.code, enhancedCode: result.enhancedCode, text: result.text, rule: result.rule };
  }

  /** The JMAP view; a pending submission whose release time has come is final (RFC 8621 §7: it can no longer be canceled). */
  private toJmapSubmission(s: StoredSubmission): EmailSubmissionRecord {
    const undoStatus = s.undoStatus === 'pending' && s.sendAt <= this.clock() ? 'final' : s.undoStatus;
    return {
      id: `S${s.id}`, identityId: s.identityId, emailId: formatObjectId('email', s.emailId), threadId: formatObjectId('thread', s.threadId), envelope: s.envelope,
      sendAt: utcDate(s.sendAt), undoStatus, deliveryStatus: s.deliveryStatus, dsnBlobIds: [], mdnBlobIds: [],
    };
  }

  async submissions(accountId: string, ids?: readonly string[]): Promise<{ list: EmailSubmissionRecord[]; state: number }> {
    const account = this.idOf(accountId);
    const numbers = ids?.flatMap((id) => (/^S\d{1,15}$/.test(id) ? [Number(id.slice(1))] : []));
    const [list, state] = await Promise.all([numbers?.length === 0 ? [] : this.store.listSubmissions(account, numbers), this.store.objectState(account, 'EmailSubmission')]);
    return { list: list.map((s) => this.toJmapSubmission(s)), state };
  }

  async submissionChanges(accountId: string, sinceState: number, limit: number) {
    return (await this.store.accountObjectChanges(this.idOf(accountId), 'EmailSubmission', sinceState, limit)).map((c) => ({ ...c, id: `S${c.id}` }));
  }

  async recordSubmission(accountId: string, record: NewSubmission): Promise<EmailSubmissionRecord> {
    return this.toJmapSubmission(await this.store.addSubmission({ accountId: this.idOf(accountId), ...record }));
  }

  async cancelSubmission(identity: JmapIdentity, accountId: string, id: string): Promise<'canceled' | 'cannotUnsend' | 'notFound'> {
    const account = this.idOf(accountId);
    const [record] = /^S\d{1,15}$/.test(id) ? await this.store.listSubmissions(account, [Number(id.slice(1))]) : [];
    if (!record) return 'notFound';
    if (record.undoStatus === 'canceled') return 'canceled';
    if (record.undoStatus !== 'pending' || record.queueId === null) return 'cannotUnsend';
    // The queue's service removes it only while nothing was or can be attempted.
    if (!(await cancelHeldMessage({ store: this.store, logger: this.logger }, record.queueId, { now: this.clock(), user: identity.username }))) return 'cannotUnsend';
    await this.store.updateSubmission(account, record.id, { undoStatus: 'canceled' });
    return 'canceled';
  }

  async destroySubmissions(accountId: string, ids: readonly string[]): Promise<string[]> {
    const numbers = ids.flatMap((id) => (/^S\d{1,15}$/.test(id) ? [Number(id.slice(1))] : []));
    if (numbers.length === 0) return [];
    return (await this.store.destroySubmissions(this.idOf(accountId), numbers)).map((n) => `S${n}`);
  }
}
