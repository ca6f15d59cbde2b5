import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replayCorpus } from './replay.ts';
import { checkJmapResult, jmapTarget } from './targets/jmap.ts';

describe('fuzz: JMAP engine', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(jmapTarget)) > 0);
  });

  it('the output checker rejects a serverFail and a malformed problem', () => {
    assert.throws(() => checkJmapResult({ kind: 'response', status: 200, contentType: 'application/json', calls: [], body: { methodResponses: [['error', { type: 'serverFail' }, 'c']], sessionState: 's' } }), /crashed/);
    assert.throws(() => checkJmapResult({ kind: 'problem', status: 400, contentType: 'application/problem+json', body: { type: 'urn:ietf:params:jmap:error:limit', status: 400, detail: 'x' } }));
  });
});
