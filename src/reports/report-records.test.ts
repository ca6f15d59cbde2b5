import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mailtoAddresses, parseTlsRptRecord } from './tlsrpt-format.ts';
import { authorizesExternal, parseDmarcRecord } from './dmarc-format.ts';

test('_smtp._tls: one v=TLSRPTv1 record, its rua URIs; mailto: addresses only are sent to (RFC 8460 §3)', () => {
  assert.deepEqual(parseTlsRptRecord([['v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.com/x']]), ['mailto:a@example.com', 'https://r.example.com/x']);
  assert.equal(parseTlsRptRecord([['v=TLSRPTv1; rua=mailto:a@x.test'], ['v=TLSRPTv1; rua=mailto:b@x.test']]), null);
  assert.equal(parseTlsRptRecord([['v=spf1 -all']]), null);
  assert.deepEqual(mailtoAddresses(['mailto:a@example.com', 'https://r.example.com/x', 'mailto:tls%2Breports@example.com?subject=x']), ['a@example.com', 'tls+reports@example.com']);
});

test('_dmarc record tags and the §7.1 authorization record (RFC 7489)', () => {
  const r = parseDmarcRecord([['v=DMARC1; p=reject; sp=none; adkim=s; pct=50; rua=mailto:d@example.com, mailto:e@other.test']]);
  assert.deepEqual(r, { p: 'reject', sp: 'none', adkim: 's', aspf: 'r', pct: 50, rua: ['mailto:d@example.com', 'mailto:e@other.test'] });
  assert.equal(parseDmarcRecord([['v=spf1 -all']]), null);
  assert.ok(authorizesExternal([['v=DMARC1']]));
  assert.ok(!authorizesExternal([['v=spf1']]));
  assert.ok(!authorizesExternal([]));
});
