/**
 * Ends logged-in sessions (IMAP, POP3, submission) whose login stopped being valid: the account was removed
 * or disabled, its password changed, or the app password used was removed, whichever process made the change
 * (the store's change feed). A session is checked when it registers, when its account changes and at every
 * feed reset; the check reads the account, so a change missed or heard twice does no harm.
 */
import { loginProblem } from './credential-stamp.ts';
import type { Logger } from '../core/log.ts';
import type { AuthIdentity, LoginSession, LoginWatcher } from '../protocols/sasl/types.ts';
import type { AccountStore, ChangeFeed } from '../store/types.ts';
import { isAccountDataEvent } from '../store/types.ts';

interface Watched {
  identity: AuthIdentity;
  session: LoginSession;
  revoke: (reason: string) => void;
  done: boolean;
}

export class AccountLoginWatcher implements LoginWatcher {
  private readonly store: Pick<AccountStore, 'getAccountById' | 'listAppPasswords'> & ChangeFeed;
  private readonly logger: Logger;
  private readonly byAccount = new Map<number, Set<Watched>>();
  private unsubscribe: (() => void) | null = null;

  constructor(options: { store: Pick<AccountStore, 'getAccountById' | 'listAppPasswords'> & ChangeFeed; logger: Logger }) {
    this.store = options.store;
    this.logger = options.logger;
  }

  /** Sessions being watched (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.byAccount.values()) n += set.size;
    return n;
  }

  start(): void {
    this.unsubscribe ??= this.store.subscribe((change) => {
      if (change.kind === 'account' && change.event !== 'added' && !isAccountDataEvent(change.event)) void this.check(change.accountId);
      else if (change.kind === 'reset') for (const accountId of this.byAccount.keys()) void this.check(accountId);
    });
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  watch(identity: AuthIdentity, session: LoginSession, revoke: (reason: string) => void): () => void {
    const entry: Watched = { identity, session, revoke, done: false };
    let set = this.byAccount.get(identity.accountId);
    if (set === undefined) this.byAccount.set(identity.accountId, (set = new Set()));
    set.add(entry);
    // The account may have changed between the password check and this registration.
    void this.check(identity.accountId, [entry]);
    return () => this.drop(entry);
  }

  private drop(entry: Watched): void {
    entry.done = true;
    const set = this.byAccount.get(entry.identity.accountId);
    if (set === undefined) return;
    set.delete(entry);
    if (set.size === 0) this.byAccount.delete(entry.identity.accountId);
  }

  private async check(accountId: number, only?: Watched[]): Promise<void> {
    const entries = only ?? [...(this.byAccount.get(accountId) ?? [])];
    if (entries.length === 0) return;
    try {
      const account = await this.store.getAccountById(accountId);
      let appIds: Set<number> | null = null;
      for (const entry of entries) {
        if (entry.done) continue;
        let reason = loginProblem(entry.identity, account);
        if (reason === null && entry.identity.appPasswordId !== undefined) {
          appIds ??= new Set((await this.store.listAppPasswords(accountId)).map((a) => a.id));
          if (!appIds.has(entry.identity.appPasswordId)) reason = 'app password removed';
        }
        if (reason === null || entry.done) continue;
        this.drop(entry);
        this.logger.info({ event: 'auth.session_ended', protocol: entry.session.protocol, session: entry.session.sessionId, account: entry.identity.address, reason }, 'login no longer valid: session ended');
        try {
          entry.revoke(reason);
        } catch (err) {
          this.logger.warn({ event: 'auth.session_end_failed', session: entry.session.sessionId, err }, 'ending a session failed');
        }
      }
    } catch (err) {
      // The store failed to answer: the next change or reset checks again.
      this.logger.warn({ event: 'auth.session_check_failed', accountId, err }, 'checking logged-in sessions failed');
    }
  }
}
