/**
 * Which envelope senders and From: addresses an authenticated user may use (submission, RFC 6409 §6.1):
 * their own address and its `+tag` forms, aliases that deliver to them, and whole domains an admin granted.
 */
import { parseAddressList } from '../message/address.ts';
import type { HeaderField } from '../message/header-fields.ts';
import type { AccountRecord, AccountStore } from '../store/types.ts';

function split(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address.toLowerCase(), domain: '' } : { local: address.slice(0, at).toLowerCase(), domain: address.slice(at + 1).toLowerCase().replace(/\.$/, '') };
}

function withoutTag(local: string): string {
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

export async function maySendAs(account: AccountRecord, address: string, accounts: Pick<AccountStore, 'getAlias'>): Promise<boolean> {
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

export type HeaderSenderVerdict = { ok: true } | { ok: false; code: number; enhancedCode: string; text: string };

/**
 * RFC 6409 §6.1 / §8: every address in every From: and Sender: field must be one the user may send as; a
 * second field or a long list must not hide a foreign address behind allowed ones. A message listing more
 * than `maxAddresses` addresses in these fields together is refused as a whole, so each one is checked
 * without unbounded work (each distinct address is looked up once).
 */
export async function checkHeaderSenders(account: AccountRecord, fields: readonly HeaderField[], accounts: Pick<AccountStore, 'getAlias'>, options: { maxAddresses: number }): Promise<HeaderSenderVerdict> {
  const listed: { field: string; address: string }[] = [];
  for (const field of fields) {
    const name = field.name.toLowerCase();
    if (name !== 'from' && name !== 'sender') continue;
    // One over the limit is enough to know the message is refused; the parser stops there.
    for (const item of parseAddressList(field.value, { maxAddresses: options.maxAddresses + 1 - listed.length })) {
      for (const mailbox of item.kind === 'group' ? item.members : [item]) listed.push({ field: field.name, address: mailbox.address });
    }
    if (listed.length > options.maxAddresses) {
      return { ok: false, code: 550, enhancedCode: '5.7.1', text: `From: and Sender: list more than ${options.maxAddresses} addresses` };
    }
  }
  const verdicts = new Map<string, boolean>();
  for (const { field, address } of listed) {
    const key = address.toLowerCase();
    let allowed = verdicts.get(key);
    if (allowed === undefined) {
      allowed = await maySendAs(account, address, accounts);
      verdicts.set(key, allowed);
    }
    if (!allowed) return { ok: false, code: 553, enhancedCode: '5.7.1', text: `${field}: address <${address}> not owned by user ${account.address}` };
  }
  return { ok: true };
}
