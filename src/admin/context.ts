/**
 * What the administration service is built from: the store, the DKIM key files, password hashing, the
 * settings it applies, and the gate that checks every call's principal.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import type { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import type { SuppressionStore } from '../store/types.ts';
import type { AccountStore, MailStore, QueueStore, ScramCredentials } from '../store/types.ts';
import type { Gate } from './access.ts';

export interface PasswordFunctions {
  hashPassword(password: string): Promise<string>;
  /** With `salt`/`iterations`: derive with the account's own (app passwords must share them for SCRAM). */
  deriveScram(password: string, options?: { iterations?: number; salt?: string }): Promise<ScramCredentials>;
}

export type AdminStore = AccountStore & QueueStore & SuppressionStore & Pick<MailStore, 'listMailboxes' | 'counts' | 'accountUsage'>;

export type DkimKeyFiles = Pick<FileDkimKeyStore, 'addKey' | 'listKeys' | 'activeKeys' | 'setActive'>;

export interface AdminSettings {
  hostname: string;
  /** config `postmaster` ('' when unset): alias checks resolve postmaster@ as delivery does. */
  postmaster: string;
  minPasswordLength: number;
  scramIterations: number;
  quotaDefault: number;
}

export function adminSettings(config: Config): AdminSettings {
  return {
    hostname: config.hostname,
    postmaster: config.postmaster,
    minPasswordLength: config.auth.minPasswordLength,
    scramIterations: config.auth.scramIterations,
    quotaDefault: config.storage.quotaDefault,
  };
}

export interface AdminDeps {
  store: AdminStore;
  dkimKeys: DkimKeyFiles;
  passwords: PasswordFunctions;
  settings: AdminSettings;
  logger?: Logger;
  now?: () => Date;
}

/** What each part of the service works with. */
export interface AdminContext {
  store: AdminStore;
  dkimKeys: DkimKeyFiles;
  passwords: PasswordFunctions;
  settings: AdminSettings;
  logger: Logger;
  now: () => Date;
  gate: Gate;
}

/** A new password given at once (web), or read only once the other checks passed (the CLI asks on the terminal). */
export type NewPassword = string | (() => Promise<string>);
