/**
 * Validation of what an administrator types: domain names and addresses (RFC 5321 §4.1.2 syntax,
 * RFC 6531 UTF-8 local parts), turned into clear UsageErrors; lookups that must find what was named.
 */
import { domainToASCII } from 'node:url';
import { UsageError } from '../core/errors.ts';
import type { AccountRecord, AccountStore } from '../store/types.ts';
import { AdminError } from './errors.ts';

/** Lower-case ASCII (A-label) form of a domain, or a UsageError. */
export function parseDomain(text: string): string {
  const trimmed = text.trim().replace(/\.$/, '');
  const ascii = domainToASCII(trimmed.toLowerCase());
  // RFC 5321 §4.1.2 Domain: dot-separated labels of letters, digits and hyphens; §4.5.3.1.2: at most 255 octets.
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
  if (ascii === '' || ascii.length > 253 || !ascii.includes('.') || !ascii.split('.').every((l) => label.test(l))) {
    throw new UsageError(`${JSON.stringify(text)} is not a valid domain name (expected something like example.org)`);
  }
  return ascii;
}

// RFC 5321 §4.1.2 Dot-string; RFC 6531 §3.3 adds UTF-8 characters.
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10FFFF}-]+$/u;

export interface ParsedAddress {
  local: string;
  domain: string;
  /** local@domain, domain lower-cased; a catch-all is "@domain" (local is ""). */
  address: string;
}

/** `local@domain`; with `allowCatchAll`, `@domain` too. */
export function parseAddress(text: string, options: { allowCatchAll?: boolean } = {}): ParsedAddress {
  const at = text.lastIndexOf('@');
  const bad = (why: string): never => {
    throw new UsageError(`${JSON.stringify(text)} is not a valid address: ${why}`);
  };
  if (at < 0) return bad(options.allowCatchAll ? 'expected local@domain or @domain' : 'expected local@domain');
  const local = text.slice(0, at);
  let domain: string;
  try {
    domain = parseDomain(text.slice(at + 1));
  } catch {
    return bad(`${JSON.stringify(text.slice(at + 1))} is not a domain name`);
  }
  if (local === '') {
    if (options.allowCatchAll) return { local: '', domain, address: `@${domain}` };
    return bad('the local part before @ is empty');
  }
  // RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
  if (Buffer.byteLength(local) > 64) bad('the local part is longer than 64 octets');
  if (!local.split('.').every((atom) => ATOM.test(atom))) bad('the local part may hold letters, digits and !#$%&\'*+/=?^_`{|}~- separated by single dots');
  return { local, domain, address: `${local.toLowerCase()}@${domain}` };
}

/** Refuses domains that are not local, with the command that fixes it. */
export async function requireLocalDomain(store: Pick<AccountStore, 'hasDomain'>, domain: string): Promise<void> {
  if (!(await store.hasDomain(domain))) {
    throw new AdminError('not-found', `domain ${domain} is not a local domain; add it with: postamt domain add ${domain}`);
  }
}

export async function requireAccount(store: Pick<AccountStore, 'getAccount'>, address: string): Promise<AccountRecord> {
  const account = await store.getAccount(parseAddress(address).address);
  if (!account) throw new AdminError('not-found', `no such user: ${address}`);
  return account;
}
