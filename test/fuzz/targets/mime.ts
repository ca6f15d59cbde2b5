/**
 * MIME tree, IMAP BODYSTRUCTURE/BODY/ENVELOPE and SEARCH text over arbitrary message bytes: never
 * throws, bounded time, ordered in-buffer offsets, balanced parentheses in every IMAP rendering.
 */
import assert from 'node:assert/strict';
import { parseMimeTree } from '../../../src/message/mime-tree.ts';
import { messageText } from '../../../src/message/search-text.ts';
import { formatBodyStructure } from '../../../src/protocols/imap/bodystructure.ts';
import { formatEnvelope } from '../../../src/protocols/imap/envelope.ts';
import type { FuzzTarget } from '../engine/target.ts';
import { assertBalancedImap, assertPartOffsets, withinTime } from './checks.ts';

/** Generous for a 16 KiB input on a slow CI core; the parsers are meant to be linear. */
export const MIME_TIME_LIMIT_MS = 250;
const MAX_TEXT = 4096;

export function checkMessage(data: Buffer, options: { maxDepth?: number; maxParts?: number } = {}): void {
  withinTime(MIME_TIME_LIMIT_MS, 'parse + render', () => {
    const root = parseMimeTree(data, options);
    assertPartOffsets(root, data.length);
    for (const extensible of [true, false]) {
      for (const utf8 of [false, true]) {
        assertBalancedImap(formatBodyStructure(root, data, { extensible, utf8 }), `BODYSTRUCTURE extensible=${extensible} utf8=${utf8}`);
      }
    }
    assertBalancedImap(formatEnvelope(root, data, { utf8: false }), 'ENVELOPE');
    const text = messageText(data, root, { maxBytes: MAX_TEXT });
    // The budget caps the pieces; the "\n" joins add at most one code unit per piece.
    assert.ok(text.body.length <= 2 * MAX_TEXT + 1, `SEARCH text ${text.body.length} > budget ${MAX_TEXT}`);
  });
}

export const mimeTarget: FuzzTarget = {
  name: 'mime',
  maxLength: 16 * 1024,
  dictionary: [
    '\r\n', '\n', '\r\n\r\n', '\r\n--', '--', '--\r\n', ': ', ';', '=', '"', '(', ')', '\\',
    'Content-Type: ', 'multipart/mixed', 'multipart/digest', 'message/rfc822', 'message/global', 'text/plain', 'text/html',
    'boundary=', 'boundary="b"', '--b\r\n', '--b--\r\n', 'charset=', 'utf-8', 'iso-2022-jp', 'name*0*=', "name*=utf-8''%E2%82%AC",
    'Content-Transfer-Encoding: ', 'base64', 'quoted-printable', '=?utf-8?B?w6k=?=', '=?iso-8859-1?Q?a=E9?=',
    'Content-Disposition: attachment; filename=', 'Content-Language: en, de', 'From: ', 'To: ', 'Subject: ',
    '"A B" <a@b.c>', 'undisclosed:;', ' \t', '{5}\r\n', '\u00e9', '\u0000',
  ],
  seeds: [
    'Subject: hi\r\nFrom: "A" <a@example.org>\r\n\r\nbody\r\n',
    'Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b--\r\nepilogue\r\n',
    'Content-Type: multipart/alternative; boundary="x"\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\n\r\naGVsbG8=\r\n--x\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=C3=A9</p>\r\n--x--\r\n',
    'Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: x\r\n\r\ny\r\n--d--\r\n',
  ],
  run(data) {
    checkMessage(data);
  },
};
