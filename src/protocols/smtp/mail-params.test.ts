/**
 * Unit tests of MAIL/RCPT argument parsing (path.ts) and ESMTP parameter checks (mail-params.ts):
 * RFC 5321 §4.1.2 paths and esmtp-value, RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 3461 DSN.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readMailParams, readRcptParams } from './mail-params.ts';
import { decodeXtext, isValidDomain, parseMailbox, parsePathArgument } from './path.ts';
import type { Reply } from './reply.ts';

function address(args: string, keyword: 'FROM' | 'TO' = 'FROM'): string | null {
  const r = parsePathArgument(args, keyword);
  if (!r.ok) assert.fail(`refused ${args}: ${r.reply.code} ${r.reply.lines.join(' ')}`);
  return r.path === null ? null : r.path.address;
}

function refusal(args: string, keyword: 'FROM' | 'TO' = 'FROM'): string {
  const r = parsePathArgument(args, keyword);
  assert.equal(r.ok, false, `accepted: ${args}`);
  return r.ok ? '' : `${r.reply.code} ${r.reply.enhancedCode}`;
}

describe('parsePathArgument: paths', () => {
  it('accepts plain, null and case-insensitive keywords, and lower-cases only the domain', () => {
    assert.equal(address('FROM:<Alice@Example.ORG>'), 'Alice@example.org');
    assert.equal(address('from:<a@b.example>'), 'a@b.example');
    assert.equal(address('FROM:<>'), null);
    assert.equal(address('To:<b@c.example>', 'TO'), 'b@c.example');
  });

  it('accepts "MAIL FROM: <a@b>" with a space after the colon (common client habit)', () => {
    assert.equal(address('FROM: <a@b.example>'), 'a@b.example');
    assert.equal(address('TO: <a@b.example>', 'TO'), 'a@b.example');
  });

  it('accepts quoted local parts, including a quoted ">" and escaped quotes', () => {
    assert.equal(address('FROM:<"john doe"@b.example>'), '"john doe"@b.example');
    assert.equal(address('FROM:<"a\\"b"@b.example>'), '"a\\"b"@b.example');
    const r = parsePathArgument('FROM:<"a>b"@x.example> SIZE=5', 'FROM');
    assert.ok(r.ok);
    assert.equal(r.path?.localPart, '"a>b"');
    assert.deepEqual([...r.params], [['SIZE', '5']]);
    assert.equal(refusal('FROM:<""@b.example>'), '501 5.1.3');
    assert.equal(refusal('FROM:<"abc@b.example>'), '501 5.5.4');
  });

  it('accepts IPv4 and IPv6 address literals, refuses malformed ones', () => {
    assert.equal(address('FROM:<a@[192.0.2.1]>'), 'a@[192.0.2.1]');
    assert.equal(address('FROM:<a@[IPv6:2001:db8::1]>'), 'a@[ipv6:2001:db8::1]');
    assert.equal(address('FROM:<a@[IPv6:2001:db8:0:0:0:0:0:1]>'), 'a@[ipv6:2001:db8:0:0:0:0:0:1]');
    assert.equal(address('FROM:<a@[IPv6:::ffff:192.0.2.1]>'), 'a@[ipv6:::ffff:192.0.2.1]');
    assert.equal(address('FROM:<a@[IPv6:1:2:3:4:5:6:192.0.2.1]>'), 'a@[ipv6:1:2:3:4:5:6:192.0.2.1]');
    for (const bad of ['[300.1.1.1]', '[1.2.3]', '[1.2.3.4 ]', '[]', '[IPv6:::::::::]', '[IPv6:1::2::3]', '[IPv6:12345::1]', '[IPv6:1:2:3:4:5:6:7:8:9]', '[IPv6:1:2:3:4:5:6:7:192.0.2.1]', '[tag:foo]', '[IPv6:1.2.3.4]']) {
      assert.equal(refusal(`FROM:<a@${bad}>`), '501 5.1.3', bad);
    }
  });

  it('accepts a source route and ignores it (RFC 5321 §4.1.1.3, App. C)', () => {
    const r = parsePathArgument('FROM:<@r1.example,@r2.example:u@c.example>', 'FROM');
    assert.ok(r.ok);
    assert.equal(r.path?.address, 'u@c.example');
    assert.deepEqual(r.path?.sourceRoute, ['r1.example', 'r2.example']);
    assert.equal(refusal('FROM:<@r1.example u@c.example>'), '501 5.1.3');
  });

  it('accepts <postmaster> only as a recipient, in any case (RFC 5321 §4.1.1.3)', () => {
    assert.equal(address('TO:<postmaster>', 'TO'), 'postmaster');
    assert.equal(address('TO:<PostMaster>', 'TO'), 'postmaster');
    assert.equal(refusal('FROM:<postmaster>'), '501 5.1.3');
    assert.equal(refusal('TO:<>', 'TO'), '501 5.1.3');
  });

  it('limits the local part to 64 octets (RFC 5321 §4.5.3.1.1) and the path to 256', () => {
    assert.equal(address(`FROM:<${'x'.repeat(64)}@c.example>`), `${'x'.repeat(64)}@c.example`);
    assert.equal(refusal(`FROM:<${'x'.repeat(65)}@c.example>`), '501 5.1.3');
    // Octets, not characters: 33 two-byte characters are 66 octets.
    assert.equal(refusal(`FROM:<${'é'.repeat(33)}@c.example>`), '501 5.1.3');
    assert.equal(refusal(`FROM:<a@${'d'.repeat(60)}.${'d'.repeat(60)}.${'d'.repeat(60)}.${'d'.repeat(60)}.${'d'.repeat(20)}>`), '501 5.1.3');
  });

  it('marks UTF-8 addresses as not ASCII (the command then requires SMTPUTF8), refuses U+FFFD', () => {
    const r = parsePathArgument('FROM:<jörg@bücher.example>', 'FROM');
    assert.ok(r.ok);
    assert.equal(r.path?.isAscii, false);
    assert.equal(r.path?.address, 'jörg@bücher.example');
    assert.equal(parseMailbox('a@b.example')?.isAscii, true);
    // What the engine makes of bytes that are not UTF-8.
    assert.equal(refusal('FROM:<j\uFFFDrg@b.example>'), '501 5.1.3');
  });

  it('refuses malformed paths with 501', () => {
    assert.equal(refusal('FROM:a@b.example'), '501 5.5.4');
    assert.equal(refusal('FROM <a@b.example>'), '501 5.5.4');
    assert.equal(refusal('TO:<a@b.example>'), '501 5.5.4'); // wrong keyword for MAIL
    assert.equal(refusal('FROM:<a@b.example'), '501 5.5.4');
    assert.equal(refusal('FROM:<a@b.example>SIZE=5'), '501 5.5.4');
    for (const bad of ['a@b@c.example', 'a@', '@b.example', 'a..b@c.example', '.a@c.example', 'a.@c.example', 'a b@c.example', 'a@-b.example', 'a@b-.example', 'a@b.example.', 'a@b_c.example', 'a@b..example', 'a,b@c.example']) {
      assert.equal(refusal(`FROM:<${bad}>`), '501 5.1.3', bad);
    }
  });
});

describe('parsePathArgument: ESMTP parameters', () => {
  it('splits parameters, upper-cases keywords, keeps values, and tolerates extra spaces', () => {
    const r = parsePathArgument('FROM:<a@b.example>  size=10 BODY=8bitmime  SMTPUTF8', 'FROM');
    assert.ok(r.ok);
    assert.deepEqual([...r.params], [['SIZE', '10'], ['BODY', '8bitmime'], ['SMTPUTF8', null]]);
  });

  it('refuses duplicate parameters, bad keywords and empty or invalid values with 501 5.5.4', () => {
    assert.equal(refusal('FROM:<a@b.example> SIZE=5 size=6'), '501 5.5.4');
    assert.equal(refusal('FROM:<a@b.example> =x'), '501 5.5.4');
    assert.equal(refusal('FROM:<a@b.example> -X=1'), '501 5.5.4');
    assert.equal(refusal('FROM:<a@b.example> SIZE='), '501 5.5.4');
    assert.equal(refusal('FROM:<a@b.example> ENVID=a=b'), '501 5.5.4');
    assert.equal(refusal('FROM:<a@b.example> ENVID=a\u0001b'), '501 5.5.4');
  });
});

function mailParams(args: string, max = 1000): ReturnType<typeof readMailParams> {
  const r = parsePathArgument(`FROM:<a@b.example> ${args}`, 'FROM');
  assert.ok(r.ok, args);
  return readMailParams(r.params, max);
}

function rcptParams(args: string): ReturnType<typeof readRcptParams> {
  const r = parsePathArgument(`TO:<a@b.example> ${args}`, 'TO');
  assert.ok(r.ok, args);
  return readRcptParams(r.params);
}

const code = (v: object): string => ('lines' in v ? `${(v as Reply).code} ${(v as Reply).enhancedCode}` : 'ok');

describe('readMailParams (MAIL FROM parameters)', () => {
  it('reads SIZE, BODY, SMTPUTF8, RET and ENVID', () => {
    assert.deepEqual(mailParams('SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=hdrs ENVID=QQ+2Bx'), { size: 1000, body: '8BITMIME', smtpUtf8: true, ret: 'HDRS', envid: 'QQ+x' });
    assert.deepEqual(mailParams('BODY=7bit RET=FULL'), { size: null, body: '7BIT', smtpUtf8: false, ret: 'FULL', envid: null });
  });

  it('refuses a declared SIZE over the limit with 552 5.3.4 (RFC 1870 §6)', () => {
    assert.equal(code(mailParams('SIZE=1001')), '552 5.3.4');
    assert.equal(code(mailParams('SIZE=99999999999999999999')), '552 5.3.4');
  });

  it('refuses malformed values with 501 5.5.4 and unknown parameters with 555 5.5.4', () => {
    for (const bad of ['SIZE=abc', 'SIZE=-1', 'BODY=X', 'SMTPUTF8=yes', 'RET=x', 'RET', 'ENVID=a+2b', `ENVID=${'a'.repeat(101)}`]) {
      assert.equal(code(mailParams(bad)), '501 5.5.4', bad);
    }
    assert.equal(code(mailParams('BODY=BINARYMIME')), '555 5.5.4');
    assert.equal(code(mailParams('XFOO=1')), '555 5.5.4');
    assert.equal(code(mailParams('XFOO')), '555 5.5.4');
  });

  it('accepts AUTH=<> without trusting it (RFC 4954 §5)', () => {
    assert.equal(code(mailParams('AUTH=<>')), 'ok');
  });
});

describe('readRcptParams (RCPT TO parameters, RFC 3461)', () => {
  it('reads NOTIFY lists and NEVER, in any case', () => {
    assert.deepEqual(rcptParams('NOTIFY=SUCCESS,FAILURE,DELAY'), { notify: ['SUCCESS', 'FAILURE', 'DELAY'], orcpt: null });
    assert.deepEqual(rcptParams('notify=never'), { notify: ['NEVER'], orcpt: null });
  });

  it('refuses NEVER combined with others, repeats, and empty lists', () => {
    for (const bad of ['NOTIFY=NEVER,SUCCESS', 'NOTIFY=SUCCESS,SUCCESS', 'NOTIFY', 'NOTIFY=SOMETIMES']) {
      assert.equal(code(rcptParams(bad)), '501 5.5.4', bad);
    }
  });

  it('decodes the ORCPT xtext and checks its addr-type', () => {
    assert.deepEqual(rcptParams('ORCPT=rfc822;a+40b.example NOTIFY=FAILURE'), { notify: ['FAILURE'], orcpt: 'rfc822;a@b.example' });
    for (const bad of ['ORCPT=x', 'ORCPT=rfc822;', 'ORCPT=;a@b', 'ORCPT=rfc822;a+4']) {
      assert.equal(code(rcptParams(bad)), '501 5.5.4', bad);
    }
  });

  it('refuses an unknown RCPT parameter with 555 5.5.4', () => {
    assert.equal(code(rcptParams('SIZE=1')), '555 5.5.4');
  });
});

describe('path helpers', () => {
  it('decodeXtext decodes +XX (upper-case hex only) and refuses bad bytes', () => {
    assert.equal(decodeXtext('a+2Bb+3Dc'), 'a+b=c');
    assert.equal(decodeXtext('a+2b'), null);
    assert.equal(decodeXtext('a b'), null);
    assert.equal(decodeXtext('a=b'), null);
  });

  it('isValidDomain follows RFC 5321 §4.1.2 label rules', () => {
    assert.equal(isValidDomain('a-b.example'), true);
    assert.equal(isValidDomain(`${'a'.repeat(63)}.example`), true);
    assert.equal(isValidDomain(`${'a'.repeat(64)}.example`), false);
    assert.equal(isValidDomain(''), false);
  });

  it('never throws and answers every input with a result or a 5xx reply (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.constantFrom<'FROM' | 'TO'>('FROM', 'TO'), (text, keyword) => {
        for (const args of [text, `${keyword}:${text}`, `${keyword}:<${text}>`]) {
          const r = parsePathArgument(args, keyword);
          if (!r.ok) {
            assert.ok(r.reply.code >= 500 && r.reply.code < 600);
            assert.ok(r.reply.enhancedCode?.startsWith('5.'));
            continue;
          }
          const params = keyword === 'FROM' ? readMailParams(r.params, 1000) : readRcptParams(r.params);
          if ('lines' in params) assert.ok(params.code >= 500 && params.code < 600 && params.enhancedCode?.startsWith('5.'));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
