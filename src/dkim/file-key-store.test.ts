import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FileDkimKeyStore } from './file-key-store.ts';
import { tempDir } from '../../test/harness/temp-dir.ts';

describe('FileDkimKeyStore', () => {
  it('refuses domains and selectors that are not DNS names (no path traversal)', async () => {
    const store = new FileDkimKeyStore({ dataDir: tempDir('postamt-dkim-store-') });
    await assert.rejects(store.addKey('../etc', 's', 'rsa', 'x', 'y'), /invalid domain/);
    await assert.rejects(store.addKey('example.test', '../../x', 'rsa', 'x', 'y'), /invalid selector/);
    await assert.rejects(store.addKey('example.test', 'a/b', 'rsa', 'x', 'y'), /invalid selector/);
  });

  it('signs with the newest active key of each algorithm', async () => {
    let t = Date.UTC(2026, 0, 1);
    const store = new FileDkimKeyStore({ dataDir: tempDir('postamt-dkim-store-'), now: () => new Date((t += 1000)) });
    await store.addKey('example.test', 'old', 'rsa', 'pem-old', 'p1');
    await store.addKey('example.test', 'ed', 'ed25519', 'pem-ed', 'p2');
    await store.addKey('example.test', 'new', 'rsa', 'pem-new', 'p3');
    await store.addKey('other.test', 'x', 'rsa', 'pem-x', 'p4');
    assert.deepEqual((await store.activeKeys('example.test')).map((k) => k.selector), ['new', 'ed']);
    assert.deepEqual((await store.listKeys('example.test')).map((k) => k.selector), ['new', 'ed', 'old']);
    assert.equal((await store.listKeys()).length, 4);
    await store.setActive('example.test', 'new', false);
    assert.deepEqual((await store.activeKeys('example.test')).map((k) => `${k.selector}:${k.privateKeyPem}`), ['ed:pem-ed', 'old:pem-old']);
  });
});
