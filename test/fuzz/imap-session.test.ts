import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replayCorpus } from './replay.ts';
import { imapSessionTarget } from './targets/imap-session.ts';

// The property-based soup for the session lives beside it (src/protocols/imap/session.fuzz.test.ts);
// here the coverage-found corpus is replayed so its findings stay fixed.
describe('fuzz: IMAP engine', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(imapSessionTarget)) > 0);
  });
});
