/** RFC 5322 address lists and their IMAP ENVELOPE rendering: never throws, bounded, consistent fields. */
import assert from 'node:assert/strict';
import { parseAddressList, type NamedAddress } from '../../../src/message/address.ts';
import { formatAddressList } from '../../../src/protocols/imap/envelope.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { assertBalancedImap, withinTime } from './checks.ts';

export const ADDRESS_TIME_LIMIT_MS = 200;

export function checkAddressList(value: string, maxAddresses = 50): void {
  withinTime(ADDRESS_TIME_LIMIT_MS, 'parseAddressList', () => {
    const list = parseAddressList(value, { maxAddresses });
    let mailboxes = 0;
    const check = (m: NamedAddress): void => {
      mailboxes++;
      assert.equal(m.kind, 'mailbox');
      assert.equal(m.address, m.domain === null ? m.localPart : `${m.localPart}@${m.domain}`);
    };
    for (const item of list) {
      if (item.kind === 'group') item.members.forEach(check);
      else check(item);
    }
    assert.ok(mailboxes <= maxAddresses, `${mailboxes} mailboxes returned, limit ${maxAddresses}`);
    assertBalancedImap(formatAddressList(list, { utf8: false }), 'address list');
    assertBalancedImap(formatAddressList(list, { utf8: true }), 'address list (utf8)');
  });
}

export const addressTarget: FuzzTarget = {
  name: 'address',
  maxLength: 8192,
  dictionary: ['<', '>', '@', ',', ';', ':', '.', '[', ']', '"', '\\', '(', ')', '((', '))', ' ', '\r\n ', 'a@b.c', '"x y"', '@route,@r2:', 'group:', ':;', '=?utf-8?q?a?=', '\u00e9', '\u0000', '[1.2.3.4]'],
  seeds: ['"Alice A." <alice@example.org>, bob@example.net (Bob)', 'undisclosed-recipients:;', 'team: a@b.c, "d e" <f@g.h>;, <@r1,@r2:x@y.z>', '(comment (nested)) a.b@[192.0.2.1]'],
  run(data) {
    checkAddressList(data.toString('utf8'));
  },
};
