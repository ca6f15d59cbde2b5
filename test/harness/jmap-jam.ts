/**
 * jmap-jam, a JMAP client from npm, against a test server over plain http from loopback (it uses the global
 * fetch, which trusts only public CAs): with a Bearer token a login issued, or with Basic credentials.
 */
import JamClient from 'jmap-jam';
import type { TestServer } from './server.ts';

/**
 * A client for `address`: with `password`, Basic credentials (the server must allow plaintext from loopback);
 * without, a Bearer token issued for the account as a login would.
 */
export async function jamClient(t: TestServer, options: { address: string; password?: string }): Promise<JamClient> {
  const sessionUrl = `http://127.0.0.1:${t.ports.http}/.well-known/jmap`;
  if (options.password === undefined) {
    const account = await t.server.services.store.getAccount(options.address);
    if (!account) throw new Error(`no account ${options.address}`);
    const { token } = await t.server.http.tokens.issue({ accountId: account.id, address: options.address }, 'jmap-jam test');
    return new JamClient({ bearerToken: token, sessionUrl });
  }
  // jmap-jam sends only Bearer tokens: its header is replaced, and the session the constructor fetched with
  // the Bearer header is fetched again with Basic.
  const jam = new JamClient({ sessionUrl, bearerToken: 'unused' });
  const basic = `Basic ${Buffer.from(`${options.address}:${options.password}`).toString('base64')}`;
  (jam as unknown as { authHeader: string }).authHeader = basic;
  jam.session.catch(() => undefined);
  jam.session = JamClient.loadSession(sessionUrl, basic);
  return jam;
}

/** The arguments of a jmap-jam call's response, untyped: for what the client is not typed for. */
export async function first(call: Promise<unknown>): Promise<any> {
  return ((await call) as unknown[])[0];
}
