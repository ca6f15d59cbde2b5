/**
 * Which envelope senders and From: addresses an authenticated user may use (submission, RFC 6409 §6.1):
 * their own address and its `+tag` forms, aliases that deliver to them, and whole domains an admin granted.
 */
import type { AccountRecord, AccountStore } from '../store/types.ts';

function split(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address.toLowerCase(), domain: '' } : { local: address.slice(0, at).toLowerCase(), domain: address.slice(at + 1).toLowerCase().replace(/\.$/, '') };
}

function withoutTag(local: string): string {
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

export async function maySendAs(account: AccountRecord, address: string, accounts: AccountStore): Promise<boolean> {
  if (address === '') return true; // the null reverse-path (e.g. a client sending a DSN)
  const { local, domain } = split(address);
  if (!domain) return false;
  if (account.sendAsDomains.map((d) => d.toLowerCase()).includes(domain)) return true;
  const base = `${withoutTag(local)}@${domain}`;
  if (base === account.address || `${local}@${domain}` === account.address) return true;
  for (const candidate of new Set([`${local}@${domain}`, base])) {
    const alias = await accounts.getAlias(candidate);
    if (alias && alias.targets.some((t) => t.toLowerCase() === account.address)) return true;
  }
  return false;
}
