import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CORE_CAPABILITY, MAIL_CAPABILITY, type JmapLimits } from '../capabilities.ts';
import { makeEngine, transcript } from '../testing/memory-backend.ts';
import { NoteStore, noteMethods } from '../testing/note-methods.ts';
import { changesResponse } from './changes.ts';
import { pageQuery } from './query.ts';
import { applyPatch } from './set.ts';

const USING = [CORE_CAPABILITY, MAIL_CAPABILITY];

function setup(limits: Partial<JmapLimits> = {}) {
  const store = new NoteStore();
  for (const title of ['delta', 'alpha', 'charlie', 'bravo']) store.create(title, title < 'c' ? ['early'] : []);
  const { engine } = makeEngine({ methods: noteMethods(store), limits });
  const run = async (methodCalls: unknown[]) => {
    const { status, body } = await transcript(engine, { using: USING, methodCalls });
    assert.equal(status, 200, JSON.stringify(body));
    return body.methodResponses as [string, Record<string, any>, string][];
  };
  return { store, run };
}

describe('/get (RFC 8620 §5.1)', () => {
  it('returns the asked records with id always included, notFound for the rest, and each duplicate id once', async () => {
    const { run } = setup();
    const [[name, args]] = await run([['Note/get', { accountId: 'A1', ids: ['N2', 'N9', 'N2', 'N9'], properties: ['title'] }, 'g']]);
    assert.equal(name, 'Note/get');
    assert.deepEqual(args, { accountId: 'A1', state: '4', list: [{ id: 'N2', title: 'alpha' }], notFound: ['N9'] });
  });

  it('answers an unknown property with invalidArguments', async () => {
    const { run } = setup();
    const [[, args]] = await run([['Note/get', { accountId: 'A1', ids: ['N1'], properties: ['colour'] }, 'g']]);
    assert.equal(args.type, 'invalidArguments');
  });

  it('answers more ids than maxObjectsInGet with requestTooLarge', async () => {
    const { run } = setup({ maxObjectsInGet: 2 });
    const [[, args]] = await run([['Note/get', { accountId: 'A1', ids: ['N1', 'N2', 'N3'] }, 'g']]);
    assert.equal(args.type, 'requestTooLarge');
  });

  it('returns every record for ids null, unless there are more than maxObjectsInGet', async () => {
    const [[, all]] = await setup().run([['Note/get', { accountId: 'A1', ids: null, properties: [] }, 'g']]);
    assert.deepEqual(all.list, [{ id: 'N1' }, { id: 'N2' }, { id: 'N3' }, { id: 'N4' }]);
    const [[, args]] = await setup({ maxObjectsInGet: 3 }).run([['Note/get', { accountId: 'A1' }, 'g']]);
    assert.equal(args.type, 'requestTooLarge');
  });

  it('resolves "#creationId" in ids to the record created earlier in the request', async () => {
    const responses = await setup().run([['Note/set', { accountId: 'A1', create: { k1: { title: 'new' } } }, 's'], ['Note/get', { accountId: 'A1', ids: ['#k1'] }, 'g']]);
    assert.deepEqual(responses[1]![1].list, [{ id: 'N5', title: 'new', tags: [] }]);
  });

  it('answers an id that is not a JMAP Id with invalidArguments', async () => {
    const { run } = setup();
    const [[, args]] = await run([['Note/get', { accountId: 'A1', ids: ['no spaces'] }, 'g']]);
    assert.equal(args.type, 'invalidArguments');
  });
});

describe('/changes (RFC 8620 §5.2)', () => {
  it('lists what changed since a state and pages with maxChanges', async () => {
    const { run } = setup();
    await run([['Note/set', { accountId: 'A1', update: { N1: { title: 'echo' } }, destroy: ['N3'] }, 's']]);
    const [[, all]] = await run([['Note/changes', { accountId: 'A1', sinceState: '4' }, 'c']]);
    assert.deepEqual(all, { accountId: 'A1', oldState: '4', newState: '6', hasMoreChanges: false, created: [], updated: ['N1'], destroyed: ['N3'] });
    const [[, first]] = await run([['Note/changes', { accountId: 'A1', sinceState: '4', maxChanges: 1 }, 'c']]);
    assert.equal(first.hasMoreChanges, true);
    assert.equal(first.newState, '5');
  });

  it('answers maxChanges 0 with invalidArguments', async () => {
    const { run } = setup();
    const [[, args]] = await run([['Note/changes', { accountId: 'A1', sinceState: '0', maxChanges: 0 }, 'c']]);
    assert.equal(args.type, 'invalidArguments');
  });

  it('answers a state too old or unknown with cannotCalculateChanges', async () => {
    const { store, run } = setup();
    store.oldestState = 2;
    const responses = await run([['Note/changes', { accountId: 'A1', sinceState: '1' }, 'c1'], ['Note/changes', { accountId: 'A1', sinceState: 'garbage' }, 'c2']]);
    assert.deepEqual(responses.map((r) => r[1].type), ['cannotCalculateChanges', 'cannotCalculateChanges']);
  });

  it('folds created+updated into created and drops created+destroyed', () => {
    assert.deepEqual(changesResponse({ accountId: 'A', oldState: '1', newState: '2', hasMoreChanges: false, created: ['a', 'b'], updated: ['a', 'c', 'c'], destroyed: ['b', 'd'] }), {
      accountId: 'A', oldState: '1', newState: '2', hasMoreChanges: false, created: ['a'], updated: ['c'], destroyed: ['d'],
    });
  });
});

describe('/set (RFC 8620 §5.3)', () => {
  it('creates, updates by "#creationId", destroys, and returns null for empty result maps', async () => {
    const { run } = setup();
    const [[, args]] = await run([['Note/set', { accountId: 'A1', ifInState: '4', create: { k1: { title: 'new' } }, update: { '#k1': { title: 'newer' } } }, 's']]);
    assert.deepEqual(args, { accountId: 'A1', oldState: '4', newState: '6', created: { k1: { id: 'N5' } }, updated: { '#k1': null }, destroyed: null, notCreated: null, notUpdated: null, notDestroyed: null });
  });

  it('answers a stale ifInState with stateMismatch and changes nothing', async () => {
    const { store, run } = setup();
    const [[name, args]] = await run([['Note/set', { accountId: 'A1', ifInState: '3', destroy: ['N1'] }, 's']]);
    assert.equal(name, 'error');
    assert.equal(args.type, 'stateMismatch');
    assert.ok(store.notes.has('N1'));
  });

  it('answers more objects than maxObjectsInSet with requestTooLarge', async () => {
    const { run } = setup({ maxObjectsInSet: 2 });
    const [[, args]] = await run([['Note/set', { accountId: 'A1', create: { a: { title: 'a' } }, destroy: ['N1', 'N2'] }, 's']]);
    assert.equal(args.type, 'requestTooLarge');
  });

  it('answers update+destroy of one id with willDestroy, and bad records with SetErrors', async () => {
    const { run } = setup();
    const [[, args]] = await run([['Note/set', { accountId: 'A1', create: { bad: { title: 5 } }, update: { N1: { title: 'x' }, N9: { title: 'y' }, N2: { 'tags/0': 'z' } }, destroy: ['N1', 'N8'] }, 's']]);
    assert.deepEqual(args.notCreated, { bad: { type: 'invalidProperties', properties: ['title'] } });
    assert.equal(args.notUpdated.N1.type, 'willDestroy');
    assert.equal(args.notUpdated.N9.type, 'notFound');
    assert.equal(args.notUpdated.N2.type, 'invalidPatch');
    assert.deepEqual(args.destroyed, ['N1']);
    assert.deepEqual(args.notDestroyed, { N8: { type: 'notFound' } });
  });

  it('answers /set on a read-only account with accountReadOnly', async () => {
    const { run } = setup();
    const [[, args]] = await run([['Note/set', { accountId: 'S1', destroy: ['N1'] }, 's']]);
    assert.equal(args.type, 'accountReadOnly');
  });
});

describe('PatchObject (RFC 8620 §5.3)', () => {
  const record = { title: 'a', keywords: { seen: true }, list: [1, 2], 'a/b': 1 };
  it('sets, adds and removes members through pointers', () => {
    assert.deepEqual(applyPatch(record, { title: 'b', 'keywords/flagged': true, 'keywords/seen': null, 'a~1b': 2, missing: null }), {
      ok: true, value: { title: 'b', keywords: { flagged: true }, list: [1, 2], 'a/b': 2 },
    });
    assert.deepEqual(record.keywords, { seen: true }, 'the original is untouched');
  });
  for (const [what, patch] of [
    ['points inside an array', { 'list/0': 5 }],
    ['goes through a missing parent', { 'nothing/here': 1 }],
    ['has one key a prefix of another', { keywords: {}, 'keywords/seen': false }],
    ['has a bad "~" escape', { 'keywords/~2': 1 }],
  ] as const) {
    it(`is invalidPatch when it ${what}`, () => {
      const result = applyPatch(record, patch);
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.type, 'invalidPatch');
    });
  }
});

describe('/query (RFC 8620 §5.5)', () => {
  it('filters with nested operators, sorts, and returns total when asked', async () => {
    const { run } = setup();
    const filter = { operator: 'AND', conditions: [{ hasTag: 'early' }, { operator: 'NOT', conditions: [{ titleContains: 'bra' }] }] };
    const [[, args]] = await run([['Note/query', { accountId: 'A1', filter, sort: [{ property: 'title' }], calculateTotal: true }, 'q']]);
    assert.deepEqual(args, { accountId: 'A1', queryState: '4', canCalculateChanges: true, position: 0, ids: ['N2'], total: 1, limit: 10 });
  });

  it('pages by negative position and by anchor with anchorOffset, ignoring position', async () => {
    const { run } = setup();
    const sort = [{ property: 'title', isAscending: true }]; // alpha N2, bravo N4, charlie N3, delta N1
    const responses = await run([
      ['Note/query', { accountId: 'A1', sort, position: -3, limit: 2 }, 'a'],
      ['Note/query', { accountId: 'A1', sort, anchor: 'N3', anchorOffset: -1, position: 3, limit: 2 }, 'b'],
      ['Note/query', { accountId: 'A1', sort, anchor: 'N4', anchorOffset: -5 }, 'c'],
      ['Note/query', { accountId: 'A1', sort, position: -10, limit: 1 }, 'd'],
      ['Note/query', { accountId: 'A1', sort, position: 7 }, 'e'],
    ]);
    assert.deepEqual(responses.map((r) => [r[1].position, r[1].ids]), [[1, ['N4', 'N3']], [1, ['N4', 'N3']], [0, ['N2', 'N4', 'N3', 'N1']], [0, ['N2']], [7, []]]);
  });

  it('answers an anchor not in the results with anchorNotFound', async () => {
    const { run } = setup();
    const [[, args]] = await run([['Note/query', { accountId: 'A1', anchor: 'N99' }, 'q']]);
    assert.equal(args.type, 'anchorNotFound');
  });

  it('answers a negative limit or a malformed filter with invalidArguments', async () => {
    const { run } = setup();
    const responses = await run([
      ['Note/query', { accountId: 'A1', limit: -1 }, 'a'],
      ['Note/query', { accountId: 'A1', filter: { operator: 'XOR', conditions: [] } }, 'b'],
      ['Note/query', { accountId: 'A1', sort: [{ isAscending: true }] }, 'c'],
    ]);
    assert.deepEqual(responses.map((r) => r[1].type), ['invalidArguments', 'invalidArguments', 'invalidArguments']);
  });

  it('answers an unsortable property or unknown collation with unsupportedSort, and a filter it cannot run with unsupportedFilter', async () => {
    const { run } = setup();
    const responses = await run([
      ['Note/query', { accountId: 'A1', sort: [{ property: 'size' }] }, 'a'],
      ['Note/query', { accountId: 'A1', sort: [{ property: 'title', collation: 'i;klingon' }] }, 'b'],
      ['Note/query', { accountId: 'A1', filter: { titleContains: '' } }, 'c'],
    ]);
    assert.deepEqual(responses.map((r) => r[1].type), ['unsupportedSort', 'unsupportedSort', 'unsupportedFilter']);
  });

  it('clamps the limit to the server maximum and says so', () => {
    const ids = Array.from({ length: 30 }, (_, i) => `M${i}`);
    const page = pageQuery(ids, { position: 0, anchor: null, anchorOffset: 0, limit: 25, calculateTotal: false }, { maxLimit: 10 });
    assert.equal(page.ids.length, 10);
    assert.equal(page.limit, 10);
    assert.equal(pageQuery(ids, { position: 0, anchor: null, anchorOffset: 0, limit: 5, calculateTotal: false }, { maxLimit: 10 }).limit, undefined);
  });
});

describe('/queryChanges (RFC 8620 §5.6)', () => {
  it('reports removed and added with indexes since a query state', async () => {
    const { run } = setup();
    await run([['Note/set', { accountId: 'A1', create: { k: { title: 'aardvark' } }, destroy: ['N4'] }, 's']]);
    const [[, args]] = await run([['Note/queryChanges', { accountId: 'A1', sinceQueryState: '4', sort: [{ property: 'title' }], calculateTotal: true }, 'q']]);
    assert.deepEqual(args, { accountId: 'A1', oldQueryState: '4', newQueryState: '6', removed: ['N5', 'N4'], added: [{ id: 'N5', index: 0 }], total: 4 });
  });

  it('answers more changes than maxChanges with tooManyChanges, and an old state with cannotCalculateChanges', async () => {
    const { store, run } = setup();
    store.oldestState = 1;
    const responses = await run([
      ['Note/queryChanges', { accountId: 'A1', sinceQueryState: '2', maxChanges: 1 }, 'a'],
      ['Note/queryChanges', { accountId: 'A1', sinceQueryState: '0' }, 'b'],
    ]);
    assert.deepEqual(responses.map((r) => r[1].type), ['tooManyChanges', 'cannotCalculateChanges']);
  });
});
