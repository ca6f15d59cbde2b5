/**
 * What the webmail does to mail, as JMAP calls: keywords, moves (archive, spam, Trash), destroying, emptying
 * a folder, creating a role folder when there is none, folder create/rename/delete, and submitting a draft.
 */
import type { Jmap } from './jmap.ts';
import type { Mailbox } from './types.ts';

type Patch = Record<string, unknown>;

export class MailActions {
  constructor(private readonly jmap: Jmap) {}
  private get accountId(): string { return this.jmap.session.accountId; }

  private async update(patches: Record<string, Patch>): Promise<void> {
    const r = await this.jmap.call([['Email/set', { accountId: this.accountId, update: patches }, 'u']]);
    const failed = Object.values(r.u.notUpdated ?? {}) as { type: string; description?: string }[];
    if (failed.length) throw new Error(failed[0]!.description ?? failed[0]!.type);
  }

  setKeyword(ids: string[], keyword: string, on: boolean): Promise<void> {
    return this.update(Object.fromEntries(ids.map((id) => [id, { [`keywords/${keyword}`]: on ? true : null }])));
  }

  /** Out of `from` (or out of every folder when null) into `to`; extra keyword changes ride along. */
  move(ids: string[], from: string | null, to: string, keywords: Record<string, boolean | null> = {}): Promise<void> {
    const kw = Object.fromEntries(Object.entries(keywords).map(([k, v]) => [`keywords/${k}`, v]));
    return this.update(Object.fromEntries(ids.map((id) => [id, from && from !== to ? { [`mailboxIds/${from}`]: null, [`mailboxIds/${to}`]: true, ...kw } : { mailboxIds: { [to]: true }, ...kw }])));
  }

  async destroy(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) await this.jmap.call([['Email/set', { accountId: this.accountId, destroy: ids.slice(i, i + 500) }, 'd']]);
  }

  /** Every email of a folder destroyed, a query page at a time (RFC 8620 §5.5 limits a query's page). */
  async empty(mailboxId: string): Promise<void> {
    for (;;) {
      const r = await this.jmap.call([['Email/query', { accountId: this.accountId, filter: { inMailbox: mailboxId }, limit: 500 }, 'q']]);
      const ids = r.q.ids as string[];
      if (ids.length === 0) return;
      await this.destroy(ids);
    }
  }

  /** The folder with this role, made (with `name`) when the account has none. */
  async folderFor(mailboxes: Mailbox[], role: string, name: string): Promise<string> {
    const have = mailboxes.find((m) => m.role === role);
    if (have) return have.id;
    const r = await this.jmap.call([['Mailbox/set', { accountId: this.accountId, create: { n: { name, role, parentId: null } } }, 'm']]);
    const created = r.m.created?.n as { id: string } | undefined;
    if (!created) throw new Error(r.m.notCreated?.n?.description ?? r.m.notCreated?.n?.type ?? 'cannot create folder');
    return created.id;
  }

  /** The emails of these threads that are in `mailboxId` (all of them when null). */
  async threadEmails(threadIds: string[], mailboxId: string | null): Promise<string[]> {
    const r = await this.jmap.call([
      ['Thread/get', { accountId: this.accountId, ids: [...new Set(threadIds)] }, 't'],
      ['Email/get', { accountId: this.accountId, '#ids': { resultOf: 't', name: 'Thread/get', path: '/list/*/emailIds' }, properties: ['mailboxIds'] }, 'g'],
    ]);
    return (r.g.list as { id: string; mailboxIds: Record<string, boolean> }[]).filter((e) => mailboxId === null || e.mailboxIds[mailboxId]).map((e) => e.id);
  }

  async mailboxSet(args: Record<string, unknown>): Promise<string | null> {
    const r = await this.jmap.call([['Mailbox/set', { accountId: this.accountId, ...args }, 'm']]);
    const err = Object.values({ ...r.m.notCreated, ...r.m.notUpdated, ...r.m.notDestroyed })[0] as { type: string; description?: string } | undefined;
    return err ? (err.description ?? err.type) : null;
  }

  /**
   * RFC 8621 §7.5: submit the saved draft; on success it leaves Drafts for Sent and loses $draft. With
   * `holdSeconds`, the server holds it that long (RFC 4865 HOLDFOR) and it can be canceled meanwhile.
   * Returns the submission's id.
   */
  async submit(options: { draftId: string; identityId: string; from: string; recipients: string[]; holdSeconds: number; drafts: string; sent: string | null; answered: string | null }): Promise<string> {
    const moved: Patch = options.sent ? { [`mailboxIds/${options.drafts}`]: null, [`mailboxIds/${options.sent}`]: true, 'keywords/$draft': null } : { 'keywords/$draft': null };
    const envelope = {
      mailFrom: { email: options.from, parameters: options.holdSeconds > 0 ? { HOLDFOR: String(options.holdSeconds) } : null },
      rcptTo: options.recipients.map((email) => ({ email, parameters: null })),
    };
    const calls: [string, Record<string, unknown>, string][] = [['EmailSubmission/set', {
      accountId: this.accountId, create: { sub: { identityId: options.identityId, emailId: options.draftId, envelope } }, onSuccessUpdateEmail: { '#sub': moved },
    }, 's']];
    if (options.answered) calls.push(['Email/set', { accountId: this.accountId, update: { [options.answered]: { 'keywords/$answered': true } } }, 'a']);
    const r = await this.jmap.call(calls);
    const failed = r.s.notCreated?.sub as { type: string; description?: string } | undefined;
    if (failed) throw new Error(failed.description ?? failed.type);
    return (r.s.created.sub as { id: string }).id;
  }

  /**
   * Undo send: cancels the held submission on the server (RFC 8621 §7.5 undoStatus "canceled") and puts the
   * draft back in Drafts; false when it was already sent (cannotUnsend).
   */
  async cancel(options: { submissionId: string; drafts: string; sent: string | null; answered: string | null }): Promise<boolean> {
    const back: Patch = options.sent ? { [`mailboxIds/${options.sent}`]: null, [`mailboxIds/${options.drafts}`]: true, 'keywords/$draft': true } : { 'keywords/$draft': true };
    const r = await this.jmap.call([['EmailSubmission/set', { accountId: this.accountId, update: { [options.submissionId]: { undoStatus: 'canceled' } }, onSuccessUpdateEmail: { [options.submissionId]: back } }, 'c']]);
    if (!r.c.updated || !(options.submissionId in r.c.updated)) return false;
    if (options.answered) await this.jmap.call([['Email/set', { accountId: this.accountId, update: { [options.answered]: { 'keywords/$answered': null } } }, 'a']]);
    return true;
  }
}
