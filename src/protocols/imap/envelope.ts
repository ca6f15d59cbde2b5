// IMAP ENVELOPE (RFC 9051 §7.5.2) from a parsed MIME header. Values are sent raw (RFC 2047 words
// not decoded).
import { parseAddressList, type AddressOrGroup } from '../../message/address.ts';
import type { MimePart } from '../../message/mime-tree.ts';
import { headerValue } from '../../message/header-fields.ts';
import { formatNString, type ImapStringOptions } from './response.ts';

const DEFAULT_OPTIONS: ImapStringOptions = { utf8: false };

/** RFC 9051 §7.5.2 address list: "(" 1*address ")" or NIL; groups use RFC 5322 group syntax
 *  as (NIL NIL "name" NIL) ... (NIL NIL NIL NIL). */
export function formatAddressList(list: AddressOrGroup[], options: ImapStringOptions = DEFAULT_OPTIONS): string {
  if (list.length === 0) return 'NIL';
  const s = (v: string | null): string => formatNString(v, options);
  let out = '(';
  for (const item of list) {
    if (item.kind === 'group') {
      out += `(NIL NIL ${s(item.name)} NIL)`;
      for (const m of item.members) out += `(${s(m.name)} ${s(m.route)} ${s(m.localPart)} ${s(m.domain ?? '')})`;
      out += '(NIL NIL NIL NIL)';
    } else {
      // A NIL host would mean "group start": an address without a domain gets "" instead.
      out += `(${s(item.name)} ${s(item.route)} ${s(item.localPart)} ${s(item.domain ?? '')})`;
    }
  }
  return out + ')';
}

export function formatEnvelope(root: MimePart, _message: Buffer, options: ImapStringOptions = DEFAULT_OPTIONS): string {
  const h = (name: string): string | null => headerValue(root.headers, name);
  const addresses = (name: string): AddressOrGroup[] => {
    const v = h(name);
    return v === null ? [] : parseAddressList(v);
  };
  const from = addresses('from');
  let sender = addresses('sender');
  let replyTo = addresses('reply-to');
  // RFC 9051 §7.5.2: absent or empty Sender/Reply-To default to From.
  if (sender.length === 0) sender = from;
  if (replyTo.length === 0) replyTo = from;
  const n = (v: string | null): string => formatNString(v, options);
  const a = (l: AddressOrGroup[]): string => formatAddressList(l, options);
  return '(' + [
    n(h('date')),
    n(h('subject')),
    a(from),
    a(sender),
    a(replyTo),
    a(addresses('to')),
    a(addresses('cc')),
    a(addresses('bcc')),
    n(h('in-reply-to')),
    n(h('message-id')),
  ].join(' ') + ')';
}
