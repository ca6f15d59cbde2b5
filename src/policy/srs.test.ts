import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Srs } from './srs.ts';

const DAY = 86_400_000;

describe('SRS', () => {
  let now = Date.UTC(2026, 10, 23);
  const srs = new Srs({ secret: 'k3y', domain: 'fwd.postamt.test', now: () => now });

  it('rewrites a sender to SRS0 and reverses it', () => {
    const rewritten = srs.forward('Alice.Smith@origin.example');
    assert.match(rewritten, /^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=origin\.example=Alice\.Smith@fwd\.postamt\.test$/);
    assert.deepEqual(srs.reverse(rewritten), { ok: true, address: 'Alice.Smith@origin.example' });
    assert.deepEqual(srs.reverse(rewritten.toLowerCase()), { ok: true, address: 'alice.smith@origin.example' }, 'case changes on the way back are tolerated');
  });

  it('turns a first hop SRS0 into SRS1 keeping the first hop, and reverses to that SRS0 address', () => {
    const other = new Srs({ secret: 'other', domain: 'hop1.example', now: () => now });
    const first = other.forward('bob@origin.example');
    const second = srs.forward(first);
    assert.match(second, /^SRS1=[^=]{4}=hop1\.example==[^=]{4}=[A-Z2-7]{2}=origin\.example=bob@fwd\.postamt\.test$/);
    assert.deepEqual(srs.reverse(second), { ok: true, address: first });
    assert.deepEqual(other.reverse(first), { ok: true, address: 'bob@origin.example' });
    const third = new Srs({ secret: 'third', domain: 'hop3.example', now: () => now }).forward(second);
    assert.match(third, /^SRS1=[^=]{4}=hop1\.example==/);
  });

  it('refuses forged hashes, expired timestamps and non-SRS addresses; keeps null and local senders', () => {
    const rewritten = srs.forward('alice@origin.example');
    const forged = rewritten.replace(/^SRS0=[^=]{4}/, 'SRS0=AAAA');
    assert.deepEqual(srs.reverse(forged), { ok: false, reason: 'bad-hash' });
    assert.deepEqual(srs.reverse('alice@origin.example'), { ok: false, reason: 'not-srs' });
    assert.deepEqual(srs.reverse('SRS0=broken@fwd.postamt.test'), { ok: false, reason: 'bad-syntax' });
    assert.equal(srs.forward(''), '');
    assert.equal(srs.forward('user@fwd.postamt.test'), 'user@fwd.postamt.test');
    now += 20 * DAY;
    assert.equal(srs.reverse(rewritten).ok, true);
    now += 2 * DAY;
    assert.deepEqual(srs.reverse(rewritten), { ok: false, reason: 'expired' });
  });

  it('accepts addresses signed with a previous secret after rotation', () => {
    const old = new Srs({ secret: 'old', domain: 'fwd.postamt.test', now: () => now });
    const rotated = new Srs({ secret: 'new', previousSecrets: ['old'], domain: 'fwd.postamt.test', now: () => now });
    assert.equal(rotated.reverse(old.forward('a@b.example')).ok, true);
  });
});
