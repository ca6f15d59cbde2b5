/**
 * RFC 5321 §4.1.2 path and parameter parsing for MAIL and RCPT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePathArgument } from './path.ts';

function ok(args: string, keyword: 'FROM' | 'TO' = 'FROM') {
  const r = parsePathArgument(args, keyword);
  if (!r.ok) assert.fail(`refused ${args}: ${r.reply.code} ${r.reply.lines.join(' ')}`);
  return r;
}

function refused(args: string, keyword: 'FROM' | 'TO' = 'FROM'): string {
  const r = parsePathArgument(args, keyword);
  assert.equal(r.ok, false, `accepted ${args}`);
  return r.ok ? '' : `${r.reply.code} ${r.reply.enhancedCode}`;
}

describe('SMTP path parsing', () => {
  it('keeps the local part case and lower-cases the domain', () => {
    assert.equal(ok('FROM:<John.Doe@Example.COM>').path?.address, 'John.Doe@example.com');
  });

  it('accepts the null path for MAIL only', () => {
    assert.equal(ok('FROM:<>').path, null);
    assert.equal(refused('TO:<>', 'TO'), '501 5.1.3');
  });

  it('accepts quoted local parts, address literals and <postmaster>', () => {
    assert.equal(ok('FROM:<"a b\\"c"@example.com>').path?.localPart, '"a b\\"c"');
    assert.equal(ok('TO:<u@[192.0.2.1]>', 'TO').path?.domain, '[192.0.2.1]');
    assert.equal(ok('TO:<u@[IPv6:2001:db8::1]>', 'TO').path?.domain, '[ipv6:2001:db8::1]');
    assert.equal(ok('TO:<POSTMASTER>', 'TO').path?.address, 'postmaster');
  });

  it('accepts and exposes source routes (RFC 5321 §4.1.1.3)', () => {
    const r = ok('FROM:<@a.example,@b.example:u@c.example>');
    assert.deepEqual(r.path?.sourceRoute, ['a.example', 'b.example']);
    assert.equal(r.path?.address, 'u@c.example');
  });

  it('reads ESMTP parameters, upper-casing keywords', () => {
    const r = ok('FROM:<a@example.com> size=100 BODY=8BITMIME SMTPUTF8');
    assert.deepEqual([...r.params], [['SIZE', '100'], ['BODY', '8BITMIME'], ['SMTPUTF8', null]]);
  });

  it('refuses malformed paths', () => {
    for (const bad of ['FROM:a@example.com', 'FROM:<a@example.com', 'FROM:<a..b@example.com>', 'FROM:<.a@example.com>', 'FROM:<a@-example.com>', 'FROM:<a@exa mple.com>', 'FROM:<a@[300.1.1.1]>', 'FROM:<@a:u@>', `FROM:<${'x'.repeat(65)}@example.com>`, 'FROM:<a@example.com>x']) {
      assert.match(refused(bad), /^501 5\.[15]\.[34]$/, bad);
    }
    assert.match(refused('FROM:<a@example.com> SIZE=1 SIZE=2'), /^501 /);
  });
});
