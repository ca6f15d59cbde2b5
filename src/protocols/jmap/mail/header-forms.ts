/**
 * The parsed forms of header fields (RFC 8621 §4.1.2): Raw, Text, Addresses, GroupedAddresses, MessageIds,
 * Date and URLs, the `header:Name:asForm:all` property syntax, and which forms each known field allows.
 */
import { parseAddressList } from '../../../message/address.ts';
import { decodeHeaderValue } from '../../../message/encoded-words.ts';
import type { RawHeaderField } from '../../../message/header-fields.ts';

export type HeaderForm = 'Raw' | 'Text' | 'Addresses' | 'GroupedAddresses' | 'MessageIds' | 'Date' | 'URLs';

export interface HeaderProperty {
  /** The field name as the client wrote it (the response uses the property name as given). */
  name: string;
  form: HeaderForm;
  all: boolean;
}

export interface EmailAddress {
  name: string | null;
  email: string;
}

const ADDRESS_FIELDS = ['from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'resent-from', 'resent-sender', 'resent-reply-to', 'resent-to', 'resent-cc', 'resent-bcc'];
const ID_FIELDS = ['message-id', 'in-reply-to', 'references', 'resent-message-id'];
const DATE_FIELDS = ['date', 'resent-date'];
const URL_FIELDS = ['list-help', 'list-unsubscribe', 'list-subscribe', 'list-post', 'list-owner', 'list-archive'];
const TEXT_FIELDS = ['subject', 'comments', 'keywords', 'list-id'];

/** RFC 8621 §4.1.2: a form a known field does not allow is invalidArguments; unknown fields allow all. */
function formAllowed(name: string, form: HeaderForm): boolean {
  const lower = name.toLowerCase();
  if (form === 'Raw') return true;
  const known = [...ADDRESS_FIELDS, ...ID_FIELDS, ...DATE_FIELDS, ...URL_FIELDS, ...TEXT_FIELDS];
  if (!known.includes(lower)) return true;
  if (form === 'Text') return TEXT_FIELDS.includes(lower);
  if (form === 'Addresses' || form === 'GroupedAddresses') return ADDRESS_FIELDS.includes(lower);
  if (form === 'MessageIds') return ID_FIELDS.includes(lower);
  if (form === 'Date') return DATE_FIELDS.includes(lower);
  return URL_FIELDS.includes(lower);
}

/** Parses "header:Name[:asForm][:all]"; null when the property is not a valid header property. */
export function parseHeaderProperty(property: string): HeaderProperty | null {
  const parts = property.split(':');
  if (parts[0] !== 'header' || parts.length < 2 || parts.length > 4) return null;
  const name = parts[1]!;
  // RFC 5322 §2.2: a field name is printable US-ASCII except colon.
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) return null;
  let form: HeaderForm = 'Raw';
  let all = false;
  for (const extra of parts.slice(2)) {
    if (extra === 'all' && !all) {
      all = true;
      continue;
    }
    const m = /^as(Raw|Text|Addresses|GroupedAddresses|MessageIds|Date|URLs)$/.exec(extra);
    if (!m || all || form !== 'Raw' || extra !== parts[2]) return null;
    form = m[1] as HeaderForm;
  }
  if (!formAllowed(name, form)) return null;
  return { name, form, all };
}

function unfold(raw: string): string {
  return raw.replace(/\r?\n(?=[ \t])/g, '');
}

/** RFC 8621 §4.1.2.2 Text: unfolded, RFC 2047 decoded, leading and trailing whitespace trimmed. */
export function asText(raw: string): string {
  return decodeHeaderValue(unfold(raw)).trim();
}

function toEmailAddress(m: { name: string | null; address: string }): EmailAddress {
  return { name: m.name !== null && m.name !== '' ? decodeHeaderValue(m.name) : null, email: m.address };
}

/** RFC 8621 §4.1.2.3 Addresses: groups flattened into their members. */
export function asAddresses(raw: string): EmailAddress[] {
  const out: EmailAddress[] = [];
  for (const a of parseAddressList(unfold(raw), { maxAddresses: 1000 })) {
    if (a.kind === 'mailbox') out.push(toEmailAddress(a));
    else for (const m of a.members) out.push(toEmailAddress(m));
  }
  return out;
}

/** RFC 8621 §4.1.2.4 GroupedAddresses: addresses outside a group form groups with a null name. */
export function asGroupedAddresses(raw: string): { name: string | null; addresses: EmailAddress[] }[] {
  const out: { name: string | null; addresses: EmailAddress[] }[] = [];
  for (const a of parseAddressList(unfold(raw), { maxAddresses: 1000 })) {
    if (a.kind === 'group') out.push({ name: decodeHeaderValue(a.name), addresses: a.members.map(toEmailAddress) });
    else {
      const last = out[out.length - 1];
      if (last && last.name === null) last.addresses.push(toEmailAddress(a));
      else out.push({ name: null, addresses: [toEmailAddress(a)] });
    }
  }
  return out;
}

/** RFC 8621 §4.1.2.5 MessageIds: the ids without angle brackets, or null when none parses. */
export function asMessageIds(raw: string): string[] | null {
  const ids = [...unfold(raw).matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
  if (ids.length > 0) return ids;
  const bare = unfold(raw).trim();
  return /^[^<>\s@]+@[^<>\s@]+$/.test(bare) ? [bare] : null;
}

/** RFC 8621 §4.1.2.6 Date: an RFC 3339 date, or null when the value does not parse. */
export function asDate(raw: string): string | null {
  const ms = Date.parse(unfold(raw).replace(/\([^)]*\)/g, ' ').trim());
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.000Z$/, 'Z') : null;
}

/** RFC 8621 §4.1.2.7 URLs: the <...> list of RFC 2369, or null. */
export function asURLs(raw: string): string[] | null {
  const urls = [...unfold(raw).matchAll(/<([^<>]*)>/g)].map((m) => m[1]!.replace(/\s+/g, ''));
  return urls.length > 0 ? urls : null;
}

export function headerForm(raw: string, form: HeaderForm): unknown {
  switch (form) {
    case 'Raw': return raw;
    case 'Text': return asText(raw);
    case 'Addresses': return asAddresses(raw);
    case 'GroupedAddresses': return asGroupedAddresses(raw);
    case 'MessageIds': return asMessageIds(raw);
    case 'Date': return asDate(raw);
    case 'URLs': return asURLs(raw);
  }
}

/** RFC 8621 §4.1.3: the value of a header property: the last field of that name, or all of them in order. */
export function headerPropertyValue(fields: readonly RawHeaderField[], property: HeaderProperty): unknown {
  const lower = property.name.toLowerCase();
  const matching = fields.filter((f) => f.name.toLowerCase() === lower);
  if (property.all) return matching.map((f) => headerForm(f.raw, property.form));
  const last = matching[matching.length - 1];
  if (last === undefined) return null;
  return headerForm(last.raw, property.form);
}
