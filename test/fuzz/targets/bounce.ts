/** Bounce reports (RFC 3464 and the common text formats): never throws, bounded time, sane output. */
import assert from 'node:assert/strict';
import { parseBounce } from '../../../src/queue/bounce-parse.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { withinTime } from './checks.ts';

export const BOUNCE_TIME_LIMIT_MS = 250;

export function checkBounce(data: Buffer | string, limitMs = BOUNCE_TIME_LIMIT_MS): void {
  withinTime(limitMs, 'parseBounce', () => {
    const parsed = parseBounce(data);
    if (parsed === null) return;
    assert.ok(parsed.recipients.length > 0, 'a parsed bounce names at least one recipient');
    for (const r of parsed.recipients) {
      assert.equal(r.address, r.address.toLowerCase());
      assert.ok(r.status === null || /^\d\.\d{1,3}\.\d{1,3}$/.test(r.status), `status ${r.status}`);
      assert.ok(['failed', 'delayed', 'delivered', 'relayed', 'expanded'].includes(r.action) || parsed.format === 'rfc3464', `action ${r.action}`);
    }
  });
}

export const bounceTarget: FuzzTarget = {
  name: 'bounce',
  maxLength: 16 * 1024,
  dictionary: [
    '\r\n', '\n', '\r\n\r\n', 'Content-Type: message/delivery-status\r\n', 'Content-Type: message/global-delivery-status\r\n', '--b\r\n',
    'Final-Recipient: rfc822; ', 'Original-Recipient: ', 'Action: failed', 'Status: 5.1.1', 'Diagnostic-Code: smtp; 550 ',
    'This is the mail system at host', 'qmail-send program', 'could not be delivered to one or more of its recipients', '  a@b.c\r\n    ',
    '<a@b.c>', '<a@b.c>: ', '550 5.1.1 ', '550-', '=\r\n', '=3D', ' (expanded from <x@y>)', '@', '<', '>',
  ],
  seeds: [
    'From: MAILER-DAEMON\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; alice@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n--b--\r\n',
    'Subject: Undelivered\r\n\r\nThis is the mail system at host mx.example.org.\r\n\r\n<bob@example.net>: host mx[192.0.2.1] said: 550 5.1.1\r\n    User unknown\r\n',
    'Subject: failure notice\r\n\r\nHi. This is the qmail-send program at example.org.\r\n\r\n<carol@example.com>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n',
    'Subject: Mail delivery failed\r\n\r\nThis message was created automatically by mail delivery software.\r\n\r\nA message that you sent could not be delivered to one or more of its\r\nrecipients. This is a permanent error.\r\n\r\n  dave@example.org\r\n    host mx: 550 5.1.1 unknown\r\n',
    'Subject: x\r\n\r\n550 5.1.1 <erin@example.org>... User unknown\r\n',
  ],
  run(data) {
    checkBounce(data);
  },
};
