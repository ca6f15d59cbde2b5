import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createLogger } from '../../core/log.ts';
import { StorageError } from '../../core/errors.ts';
import { CORE_CAPABILITY, MAIL_CAPABILITY } from './capabilities.ts';
import { defineMethod, type MethodTable } from './method.ts';
import { MethodError } from './method-error.ts';
import { ALICE, makeEngine, transcript } from './testing/memory-backend.ts';

const USING = [CORE_CAPABILITY, MAIL_CAPABILITY];

/** Three emails in two threads, enough for the RFC 8620 §3.7 example chain. */
const EMAILS: Record<string, { threadId: string; subject: string }> = {
  M1: { threadId: 'T1', subject: 'one' },
  M2: { threadId: 'T2', subject: 'two' },
  M3: { threadId: 'T1', subject: 'three' },
};
const THREADS: Record<string, string[]> = { T1: ['M1', 'M3'], T2: ['M2'] };

const accountArgs = z.object({ accountId: z.string() });
const getArgs = z.object({ accountId: z.string(), ids: z.array(z.string()), properties: z.array(z.string()).optional() });

const TEST_METHODS: MethodTable = {
  'Email/query': defineMethod({
    capability: MAIL_CAPABILITY,
    account: 'read',
    args: accountArgs.extend({ limit: z.number().optional() }),
    handle: (args) => ({ accountId: args.accountId, queryState: 'q1', canCalculateChanges: false, position: 0, ids: ['M3', 'M2', 'M1'].slice(0, args.limit ?? 3) }),
  }),
  'Email/get': defineMethod({
    capability: MAIL_CAPABILITY,
    account: 'read',
    args: getArgs,
    handle: (args) => ({
      accountId: args.accountId,
      state: 's1',
      list: args.ids.filter((id) => EMAILS[id]).map((id) => Object.fromEntries([['id', id], ...(args.properties ?? ['threadId', 'subject']).map((p) => [p, EMAILS[id]![p as 'threadId']])])),
      notFound: args.ids.filter((id) => !EMAILS[id]),
    }),
  }),
  'Thread/get': defineMethod({
    capability: MAIL_CAPABILITY,
    account: 'read',
    args: getArgs,
    handle: (args) => ({ accountId: args.accountId, state: 's1', list: args.ids.filter((id) => THREADS[id]).map((id) => ({ id, emailIds: THREADS[id] })), notFound: [] }),
  }),
  'Test/create': defineMethod({
    capability: MAIL_CAPABILITY,
    account: 'write',
    args: accountArgs.extend({ create: z.record(z.string(), z.object({ parentId: z.string().optional() })) }),
    handle: (args, ctx) => {
      const created: Record<string, unknown> = {};
      const notCreated: Record<string, unknown> = {};
      let n = 100;
      for (const [creationId, record] of Object.entries(args.create)) {
        const parentId = record.parentId === undefined ? null : ctx.createdIds.resolve(record.parentId);
        if (parentId === undefined) {
          notCreated[creationId] = { type: 'invalidProperties', properties: ['parentId'] };
          continue;
        }
        const id = `X${n++}`;
        ctx.createdIds.set(creationId, id);
        created[creationId] = { id, parentId };
      }
      ctx.followUp('Test/audit', { count: Object.keys(created).length });
      return { accountId: args.accountId, created, notCreated };
    },
  }),
  'Test/crash': defineMethod({ capability: MAIL_CAPABILITY, account: 'none', args: z.object({}), handle: () => { throw new Error('SQLITE_CORRUPT at /var/lib/postamt/secret.db'); } }),
  'Test/unavailable': defineMethod({ capability: MAIL_CAPABILITY, account: 'none', args: z.object({}), handle: () => { throw new StorageError('database is locked'); } }),
  'Test/forbidden': defineMethod({ capability: MAIL_CAPABILITY, account: 'none', args: z.object({}), handle: () => { throw new MethodError('forbidden', 'not allowed to do that'); } }),
};

function engineWithTestMethods(options: Parameters<typeof makeEngine>[0] = {}) {
  return makeEngine({ methods: TEST_METHODS, ...options });
}

async function calls(methodCalls: unknown[], extra: Record<string, unknown> = {}) {
  const { engine } = engineWithTestMethods();
  const { status, body } = await transcript(engine, { using: USING, methodCalls, ...extra });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

describe('JMAP request-level errors (RFC 8620 §3.6.1)', () => {
  it('answers a body that is not JSON with notJSON, status 400', async () => {
    const { engine } = makeEngine();
    const { status, body } = await transcript(engine, '{"using": [');
    assert.equal(status, 400);
    assert.equal(body.type, 'urn:ietf:params:jmap:error:notJSON');
    assert.equal(body.status, 400);
  });

  it('answers a content type other than application/json with notJSON', async () => {
    const { engine } = makeEngine();
    const { body } = await transcript(engine, { using: [], methodCalls: [] }, 'text/plain');
    assert.equal(body.type, 'urn:ietf:params:jmap:error:notJSON');
    const ok = await transcript(engine, { using: [], methodCalls: [] }, 'application/json; charset=utf-8');
    assert.equal(ok.status, 200);
  });

  it('answers bytes that are not UTF-8 with notJSON', async () => {
    const { engine } = makeEngine();
    const result = await engine.handle(ALICE, { body: new Uint8Array([0x7b, 0xff, 0x7d]) });
    assert.equal(result.status, 400);
    assert.equal((result.body as { type: string }).type, 'urn:ietf:params:jmap:error:notJSON');
  });

  for (const [what, request] of [
    ['an array', '[]'],
    ['a missing using', '{"methodCalls": []}'],
    ['an invocation with two members', '{"using": [], "methodCalls": [["Core/echo", {}]]}'],
    ['arguments that are an array', '{"using": [], "methodCalls": [["Core/echo", [], "c1"]]}'],
    ['a call id that is a number', '{"using": [], "methodCalls": [["Core/echo", {}, 1]]}'],
    ['createdIds with a non-string value', '{"using": [], "methodCalls": [], "createdIds": {"k1": 5}}'],
  ] as const) {
    it(`answers ${what} with notRequest`, async () => {
      const { engine } = makeEngine();
      const { status, body } = await transcript(engine, request);
      assert.equal(status, 400);
      assert.equal(body.type, 'urn:ietf:params:jmap:error:notRequest');
      assert.match(body.detail, /not a JMAP Request object/);
    });
  }

  it('answers a capability the server does not support with unknownCapability naming it', async () => {
    const { engine } = makeEngine();
    const { status, body } = await transcript(engine, { using: [CORE_CAPABILITY, 'https://example.com/apis/foobar'], methodCalls: [] });
    assert.equal(status, 400);
    assert.equal(body.type, 'urn:ietf:params:jmap:error:unknownCapability');
    assert.match(body.detail, /https:\/\/example\.com\/apis\/foobar/);
  });

  it('answers more calls than maxCallsInRequest with a limit error naming the limit', async () => {
    const { engine } = makeEngine({ limits: { maxCallsInRequest: 2 } });
    const call = ['Core/echo', {}, 'c'];
    assert.equal((await transcript(engine, { using: USING, methodCalls: [call, call] })).status, 200);
    const { status, body } = await transcript(engine, { using: USING, methodCalls: [call, call, call] });
    assert.equal(status, 400);
    assert.deepEqual(body, { type: 'urn:ietf:params:jmap:error:limit', status: 400, detail: 'The request has more than 2 method calls.', limit: 'maxCallsInRequest' });
  });

  it('answers a body over maxSizeRequest with a limit error, counting UTF-8 octets', async () => {
    const { engine } = makeEngine({ limits: { maxSizeRequest: 70 } });
    const small = JSON.stringify({ using: [], methodCalls: [['Core/echo', { a: 'x' }, 'c']] });
    assert.equal((await transcript(engine, small)).status, 200);
    const big = JSON.stringify({ using: [], methodCalls: [['Core/echo', { a: 'ééééééééééé' }, 'c']] });
    assert.ok(big.length <= 70, 'fits in UTF-16 code units, not in octets');
    const { body } = await transcript(engine, big);
    assert.equal(body.limit, 'maxSizeRequest');
  });

  it('answers JSON nested deeper than maxJsonDepth with a limit error instead of walking it', async () => {
    const { engine } = makeEngine({ limits: { maxJsonDepth: 10 } });
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const { body } = await transcript(engine, `{"using": [], "methodCalls": [["Core/echo", {"a": ${deep}}, "c"]]}`);
    assert.equal(body.type, 'urn:ietf:params:jmap:error:limit');
    assert.equal(body.limit, 'maxJsonDepth');
  });

  it('answers a request over maxConcurrentRequests with a limit error and releases the slot afterwards', async () => {
    let inFlight = 0;
    let released = 0;
    const { engine } = makeEngine({
      admitRequest: () => {
        if (inFlight >= 1) return null;
        inFlight++;
        return () => { inFlight--; released++; };
      },
    });
    const request = { using: USING, methodCalls: [['Core/echo', {}, 'c']] };
    const [a, b] = await Promise.all([transcript(engine, request), transcript(engine, request)]);
    assert.equal(a.status, 200);
    assert.equal(b.body.limit, 'maxConcurrentRequests');
    assert.equal(released, 1);
    assert.equal((await transcript(engine, request)).status, 200);
  });

  it('logs each refusal with the user, the type and the reason', async () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (s: string) => void lines.push(s) } as unknown as NodeJS.WritableStream });
    const { engine } = makeEngine({ logger });
    await transcript(engine, '[]');
    const entry = JSON.parse(lines.join(''));
    assert.equal(entry.event, 'jmap.request_refused');
    assert.equal(entry.user, 'alice@example.org');
    assert.equal(entry.type, 'urn:ietf:params:jmap:error:notRequest');
  });
});

describe('JMAP method calls (RFC 8620 §3.2-§3.6.2)', () => {
  it('echoes Core/echo arguments back under the same call id (RFC 8620 §4.1)', async () => {
    const body = await calls([['Core/echo', { hello: true, high: 5, nested: { list: [1, 'two'] } }, 'b3ff']]);
    assert.deepEqual(body, { methodResponses: [['Core/echo', { hello: true, high: 5, nested: { list: [1, 'two'] } }, 'b3ff']], sessionState: 'session-1' });
  });

  it('echoes an argument named "__proto__" and keeps a "__proto__" creation id', async () => {
    const { engine } = makeEngine();
    const { body } = await transcript(engine, '{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"__proto__":{"p":1},"a":1},"c"]],"createdIds":{"__proto__":"X1"}}');
    assert.equal(JSON.stringify(body), '{"methodResponses":[["Core/echo",{"__proto__":{"p":1},"a":1},"c"]],"sessionState":"session-1","createdIds":{"__proto__":"X1"}}');
    assert.equal(({} as Record<string, unknown>).p, undefined);
  });

  it('answers an unknown method with unknownMethod and goes on with the next call', async () => {
    const body = await calls([['Foo/bar', {}, 'c1'], ['Core/echo', { x: 1 }, 'c2']]);
    assert.deepEqual(body.methodResponses, [['error', { type: 'unknownMethod' }, 'c1'], ['Core/echo', { x: 1 }, 'c2']]);
  });

  it('answers a method whose capability is not in using with unknownMethod', async () => {
    const { engine } = engineWithTestMethods();
    const { body } = await transcript(engine, { using: [CORE_CAPABILITY], methodCalls: [['Email/query', { accountId: 'A1' }, 'c1']] });
    assert.deepEqual(body.methodResponses, [['error', { type: 'unknownMethod' }, 'c1']]);
  });

  it('does not find methods on the prototype of the table', async () => {
    const body = await calls([['constructor', {}, 'c1'], ['__proto__', {}, 'c2'], ['toString', {}, 'c3']]);
    assert.deepEqual(body.methodResponses.map((r: unknown[]) => r[1]), [{ type: 'unknownMethod' }, { type: 'unknownMethod' }, { type: 'unknownMethod' }]);
  });

  it('answers arguments of the wrong type with invalidArguments and a description', async () => {
    const body = await calls([['Email/get', { accountId: 'A1', ids: 'M1' }, 'c1']]);
    const [name, args, callId] = body.methodResponses[0];
    assert.equal(name, 'error');
    assert.equal(callId, 'c1');
    assert.equal(args.type, 'invalidArguments');
    assert.match(args.description, /^ids: /);
  });

  it('answers an account the user cannot reach with accountNotFound', async () => {
    const body = await calls([['Email/query', { accountId: 'B9' }, 'c1'], ['Email/query', { accountId: '__proto__' }, 'c2']]);
    assert.deepEqual(body.methodResponses, [['error', { type: 'accountNotFound' }, 'c1'], ['error', { type: 'accountNotFound' }, 'c2']]);
  });

  it('answers an account without the method data type with accountNotSupportedByMethod', async () => {
    const body = await calls([['Email/query', { accountId: 'N1' }, 'c1']]);
    assert.deepEqual(body.methodResponses, [['error', { type: 'accountNotSupportedByMethod' }, 'c1']]);
  });

  it('answers a changing method on a read-only account with accountReadOnly, but lets reads through', async () => {
    const body = await calls([['Test/create', { accountId: 'S1', create: { k1: {} } }, 'c1'], ['Email/query', { accountId: 'S1' }, 'c2']]);
    assert.deepEqual(body.methodResponses[0], ['error', { type: 'accountReadOnly' }, 'c1']);
    assert.equal(body.methodResponses[1][0], 'Email/query');
  });

  it('answers a handler crash with serverFail, leaks nothing, logs it, and goes on', async () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (s: string) => void lines.push(s) } as unknown as NodeJS.WritableStream });
    const { engine } = engineWithTestMethods({ logger });
    const { body } = await transcript(engine, { using: USING, methodCalls: [['Test/crash', {}, 'c1'], ['Core/echo', {}, 'c2']] });
    assert.deepEqual(body.methodResponses, [['error', { type: 'serverFail' }, 'c1'], ['Core/echo', {}, 'c2']]);
    assert.doesNotMatch(JSON.stringify(body), /SQLITE|secret/);
    const entry = lines.map((l) => JSON.parse(l)).find((e) => e.event === 'jmap.method_failed');
    assert.equal(entry.method, 'Test/crash');
    assert.equal(entry.user, 'alice@example.org');
    assert.match(entry.err.message, /SQLITE_CORRUPT/);
  });

  it('answers a storage failure with serverUnavailable', async () => {
    const body = await calls([['Test/unavailable', {}, 'c1']]);
    assert.deepEqual(body.methodResponses, [['error', { type: 'serverUnavailable' }, 'c1']]);
  });

  it('passes a handler MethodError through as is (forbidden with its description)', async () => {
    const body = await calls([['Test/forbidden', {}, 'c1']]);
    assert.deepEqual(body.methodResponses, [['error', { type: 'forbidden', description: 'not allowed to do that' }, 'c1']]);
  });

  it('answers a Session state failure with a 503 problem and no internals', async () => {
    const { engine, backend } = makeEngine();
    backend.sessionState = async () => { throw new Error('disk on fire'); };
    const { status, body } = await transcript(engine, { using: USING, methodCalls: [] });
    assert.equal(status, 503);
    assert.doesNotMatch(JSON.stringify(body), /fire/);
  });

  it('returns sessionState from the backend in every response (RFC 8620 §3.4)', async () => {
    const { engine, backend } = makeEngine();
    backend.state = 'abc';
    const { body } = await transcript(engine, { using: [], methodCalls: [] });
    assert.deepEqual(body, { methodResponses: [], sessionState: 'abc' });
  });
});

describe('JMAP result references (RFC 8620 §3.7)', () => {
  it('runs the RFC 8620 §3.7 example: Email/query → Email/get → Thread/get → Email/get with flattening', async () => {
    const body = await calls([
      ['Email/query', { accountId: 'A1', limit: 2 }, 't0'],
      ['Email/get', { accountId: 'A1', '#ids': { resultOf: 't0', name: 'Email/query', path: '/ids' }, properties: ['threadId'] }, 't1'],
      ['Thread/get', { accountId: 'A1', '#ids': { resultOf: 't1', name: 'Email/get', path: '/list/*/threadId' } }, 't2'],
      ['Email/get', { accountId: 'A1', '#ids': { resultOf: 't2', name: 'Thread/get', path: '/list/*/emailIds' }, properties: ['subject'] }, 't3'],
    ]);
    assert.deepEqual(body.methodResponses[1][1].list, [{ id: 'M3', threadId: 'T1' }, { id: 'M2', threadId: 'T2' }]);
    assert.deepEqual(body.methodResponses[2][1].list, [{ id: 'T1', emailIds: ['M1', 'M3'] }, { id: 'T2', emailIds: ['M2'] }]);
    // The emailIds arrays of both threads come out as one flat list of ids.
    assert.deepEqual(body.methodResponses[3][1].list.map((e: { id: string }) => e.id), ['M1', 'M3', 'M2']);
  });

  it('passes a resolved reference through Core/echo unchanged', async () => {
    const body = await calls([
      ['Core/echo', { a: { 'b/c': [10, 20], 'm~n': 'tilde' } }, 'e1'],
      ['Core/echo', { '#x': { resultOf: 'e1', name: 'Core/echo', path: '/a/b~1c/1' }, '#y': { resultOf: 'e1', name: 'Core/echo', path: '/a/m~0n' }, '#all': { resultOf: 'e1', name: 'Core/echo', path: '' } }, 'e2'],
    ]);
    assert.deepEqual(body.methodResponses[1], ['Core/echo', { x: 20, y: 'tilde', all: { a: { 'b/c': [10, 20], 'm~n': 'tilde' } } }, 'e2']);
  });

  for (const [what, ref] of [
    ['a call id that never answered', { resultOf: 'nope', name: 'Core/echo', path: '/a' }],
    ['a call id answered later', { resultOf: 'later', name: 'Core/echo', path: '/a' }],
    ['a name other than the response', { resultOf: 'e1', name: 'Email/get', path: '/a' }],
    ['a path to a missing member', { resultOf: 'e1', name: 'Core/echo', path: '/b' }],
    ['a path past the end of an array', { resultOf: 'e1', name: 'Core/echo', path: '/list/5' }],
    ['an array index with a leading zero', { resultOf: 'e1', name: 'Core/echo', path: '/list/01' }],
    ['the "-" array index', { resultOf: 'e1', name: 'Core/echo', path: '/list/-' }],
    ['a path without a leading slash', { resultOf: 'e1', name: 'Core/echo', path: 'a' }],
    ['a "*" over an object', { resultOf: 'e1', name: 'Core/echo', path: '/a/*' }],
    ['a "*" whose items lack the member', { resultOf: 'e1', name: 'Core/echo', path: '/list/*/x' }],
    ['a reference missing its path', { resultOf: 'e1', name: 'Core/echo' }],
    ['a reference that is a string', '/a'],
  ] as const) {
    it(`answers a reference to ${what} with invalidResultReference`, async () => {
      const body = await calls([
        ['Core/echo', { a: { k: 1 }, list: [1, 2] }, 'e1'],
        ['Core/echo', { '#v': ref }, 'e2'],
        ['Core/echo', {}, 'later'],
      ]);
      assert.equal(body.methodResponses[1][0], 'error');
      assert.equal(body.methodResponses[1][1].type, 'invalidResultReference');
      assert.equal(body.methodResponses[1][2], 'e2');
    });
  }

  it('answers a reference to an error response with invalidResultReference', async () => {
    const body = await calls([['Foo/bar', { ids: [] }, 'e1'], ['Core/echo', { '#v': { resultOf: 'e1', name: 'Foo/bar', path: '/ids' } }, 'e2']]);
    assert.equal(body.methodResponses[1][1].type, 'invalidResultReference');
  });

  it('answers an argument given both with and without "#" with invalidArguments', async () => {
    const body = await calls([['Core/echo', { ids: [1] }, 'e1'], ['Core/echo', { ids: [], '#ids': { resultOf: 'e1', name: 'Core/echo', path: '/ids' } }, 'e2']]);
    assert.deepEqual(body.methodResponses[1][0], 'error');
    assert.equal(body.methodResponses[1][1].type, 'invalidArguments');
  });

  it('uses the first response with the call id when a call id repeats', async () => {
    const body = await calls([['Core/echo', { v: 1 }, 'dup'], ['Core/echo', { v: 2 }, 'dup'], ['Core/echo', { '#v': { resultOf: 'dup', name: 'Core/echo', path: '/v' } }, 'e3']]);
    assert.deepEqual(body.methodResponses[2], ['Core/echo', { v: 1 }, 'e3']);
  });

  it('maps "*" through nested arrays and flattens one level per "*"', async () => {
    const body = await calls([
      ['Core/echo', { rows: [{ cells: [[1, 2], [3]] }, { cells: [[4]] }] }, 'e1'],
      ['Core/echo', { '#once': { resultOf: 'e1', name: 'Core/echo', path: '/rows/*/cells' }, '#twice': { resultOf: 'e1', name: 'Core/echo', path: '/rows/*/cells/*' } }, 'e2'],
    ]);
    assert.deepEqual(body.methodResponses[1][1], { once: [[1, 2], [3], [4]], twice: [1, 2, 3, 4] });
  });

  it('checks the resolved value against the method schema (a reference to a string where ids is a list)', async () => {
    const body = await calls([['Email/query', { accountId: 'A1' }, 't0'], ['Email/get', { accountId: 'A1', '#ids': { resultOf: 't0', name: 'Email/query', path: '/queryState' } }, 't1']]);
    assert.equal(body.methodResponses[1][1].type, 'invalidArguments');
  });
});

describe('JMAP creation ids (RFC 8620 §3.3, §5.3)', () => {
  it('resolves "#k" against records created earlier in the same request', async () => {
    const body = await calls([
      ['Test/create', { accountId: 'A1', create: { k1: {} } }, 'c1'],
      ['Test/create', { accountId: 'A1', create: { k2: { parentId: '#k1' }, k3: { parentId: '#nope' } } }, 'c2'],
    ]);
    assert.deepEqual(body.methodResponses[2][1].created, { k2: { id: 'X100', parentId: 'X100' } });
    assert.deepEqual(body.methodResponses[2][1].notCreated, { k3: { type: 'invalidProperties', properties: ['parentId'] } });
    assert.equal(body.createdIds, undefined, 'no createdIds in the response when the request had none');
  });

  it('resolves "#k" from the request createdIds and returns the grown map', async () => {
    const body = await calls([['Test/create', { accountId: 'A1', create: { k2: { parentId: '#k0' } } }, 'c1']], { createdIds: { k0: 'P7' } });
    assert.deepEqual(body.methodResponses[0][1].created, { k2: { id: 'X100', parentId: 'P7' } });
    assert.deepEqual(body.createdIds, { k0: 'P7', k2: 'X100' });
  });

  it('returns an empty createdIds when the request sent an empty one', async () => {
    const body = await calls([['Core/echo', {}, 'c1']], { createdIds: {} });
    assert.deepEqual(body.createdIds, {});
  });

  it('puts implicit follow-up responses after the call with the same call id', async () => {
    const body = await calls([['Test/create', { accountId: 'A1', create: { k1: {} } }, 'c1'], ['Core/echo', { '#n': { resultOf: 'c1', name: 'Test/create', path: '/created/k1/id' } }, 'c2']]);
    assert.deepEqual(body.methodResponses.map((r: unknown[]) => [r[0], r[2]]), [['Test/create', 'c1'], ['Test/audit', 'c1'], ['Core/echo', 'c2']]);
    assert.deepEqual(body.methodResponses[2][1], { n: 'X100' });
  });
});
