import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { concurrencyLimiter } from './concurrency.ts';
import { ALICE, makeEngine, transcript } from './testing/memory-backend.ts';

describe('maxConcurrentRequests limiter (RFC 8620 §2)', () => {
  it('admits up to the limit per user, then refuses until a slot is released', () => {
    const admit = concurrencyLimiter(2);
    const bob = { username: 'bob@example.org' };
    const a = admit(ALICE)!;
    const b = admit(ALICE)!;
    assert.equal(admit(ALICE), null);
    assert.ok(admit(bob), 'other users have their own slots');
    a();
    a(); // a second release frees nothing more
    const c = admit(ALICE);
    assert.ok(c);
    assert.equal(admit(ALICE), null);
    b();
    c!();
  });

  it('makes the engine answer the over-limit request with a limit problem naming maxConcurrentRequests', async () => {
    const { engine, backend } = makeEngine({ admitRequest: concurrencyLimiter(1), limits: { maxConcurrentRequests: 1 } });
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const original = backend.sessionState.bind(backend);
    backend.sessionState = async () => { await blocked; return original(); };
    const request = { using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', {}, 'c']] };
    const first = transcript(engine, request);
    const second = await transcript(engine, request);
    assert.equal(second.status, 400);
    assert.equal(second.body.limit, 'maxConcurrentRequests');
    assert.match(second.body.detail, /at most 1/);
    unblock();
    assert.equal((await first).status, 200);
    assert.equal((await transcript(engine, request)).status, 200, 'the slot is free again');
  });
});
