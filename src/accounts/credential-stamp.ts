/**
 * The fingerprint of an account's password that a login carries (AuthIdentity.credential): sessions
 * compare it with the account's current one to notice that the password was changed after they logged in.
 */
import { createHash } from 'node:crypto';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { AccountRecord } from '../store/types.ts';

export function credentialStamp(account: Pick<AccountRecord, 'passwordHash'>): string {
  return createHash('sha256').update(account.passwordHash).digest('base64url').slice(0, 22);
}

/** Why a login is no longer good for `account` (null: it still is); app passwords are checked by the caller. */
export function loginProblem(identity: AuthIdentity, account: AccountRecord | null): string | null {
  if (account === null || account.id !== identity.accountId) return 'account removed';
  if (account.disabled) return 'account disabled';
  if (identity.credential !== undefined && identity.credential !== credentialStamp(account)) return 'password changed';
  return null;
}
