import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardedReturn, isSenderAuthenticated } from './dsn-return.ts';
import type { InboundAuthResult } from './inbound-auth.ts';

function auth(spf: { result: string; domain: string }, dkim: { result: string; domain: string }[] = []): InboundAuthResult {
  return { spf: { ...spf, comment: '' }, dkim: dkim.map((d) => ({ ...d, selector: 's', aligned: false })) } as unknown as InboundAuthResult;
}

test('RET=FULL stays only for a sender that passed SPF for its domain or DKIM of its domain', () => {
  const sender = 'a@mail.example.org';
  assert.equal(forwardedReturn('FULL', { sender, trusted: false, auth: auth({ result: 'pass', domain: 'mail.example.org' }) }), 'FULL');
  assert.equal(forwardedReturn('FULL', { sender, trusted: false, auth: auth({ result: 'none', domain: 'mail.example.org' }, [{ result: 'pass', domain: 'example.org' }]) }), 'FULL');
  assert.equal(forwardedReturn('FULL', { sender, trusted: false, auth: auth({ result: 'softfail', domain: 'mail.example.org' }) }), 'HDRS');
  assert.equal(forwardedReturn('FULL', { sender, trusted: false, auth: auth({ result: 'none', domain: 'mail.example.org' }, [{ result: 'pass', domain: 'attacker.test' }]) }), 'HDRS', 'a signature of another domain');
  assert.equal(forwardedReturn('FULL', { sender, trusted: false, auth: auth({ result: 'pass', domain: 'helo.attacker.test' }) }), 'HDRS', 'SPF of another domain');
  assert.equal(forwardedReturn('FULL', { sender, trusted: false, auth: null }), 'HDRS', 'not checked at all');
  assert.equal(forwardedReturn('FULL', { sender, trusted: true, auth: null }), 'FULL', 'trusted networks');
  assert.equal(forwardedReturn(null, { sender, trusted: false, auth: null }), null);
  assert.equal(forwardedReturn('HDRS', { sender, trusted: true, auth: null }), 'HDRS');
  assert.equal(isSenderAuthenticated({ sender: '', trusted: false, auth: auth({ result: 'pass', domain: 'x.test' }) }), false);
});
