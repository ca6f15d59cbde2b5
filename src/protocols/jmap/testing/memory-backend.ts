/**
 * An in-memory JmapBackend and engine factory for the engine's transcript tests: accounts per user, a
 * read-only shared account, and a mail-less account, with no store behind them.
 */
import { silentLogger, type Logger } from '../../../core/log.ts';
import type { JmapAccount, JmapBackend, JmapIdentity } from '../backend.ts';
import { CORE_CAPABILITY, MAIL_CAPABILITY, type JmapLimits } from '../capabilities.ts';
import { JmapEngine } from '../engine.ts';
import type { MethodTable } from '../method.ts';
import { CORE_METHODS } from '../methods/index.ts';
import type { JmapRequest } from '../request.ts';

export const ALICE: JmapIdentity = { username: 'alice@example.org' };

export class MemoryJmapBackend implements JmapBackend {
  readonly accounts = new Map<string, Record<string, JmapAccount>>();
  state = 'session-1';

  constructor() {
    this.accounts.set(ALICE.username, {
      A1: { name: 'alice@example.org', isPersonal: true, isReadOnly: false, accountCapabilities: { [CORE_CAPABILITY]: {}, [MAIL_CAPABILITY]: {} } },
      S1: { name: 'shared@example.org', isPersonal: false, isReadOnly: true, accountCapabilities: { [CORE_CAPABILITY]: {}, [MAIL_CAPABILITY]: {} } },
      N1: { name: 'no-mail', isPersonal: false, isReadOnly: false, accountCapabilities: { [CORE_CAPABILITY]: {} } },
    });
  }

  async accountsFor(identity: JmapIdentity): Promise<Record<string, JmapAccount>> {
    return { ...(this.accounts.get(identity.username) ?? {}) };
  }
  async accountFor(identity: JmapIdentity, accountId: string): Promise<JmapAccount | null> {
    const accounts = this.accounts.get(identity.username) ?? {};
    return Object.prototype.hasOwnProperty.call(accounts, accountId) ? accounts[accountId]! : null;
  }
  async primaryAccountsFor(identity: JmapIdentity): Promise<Record<string, string>> {
    return this.accounts.has(identity.username) ? { [CORE_CAPABILITY]: 'A1', [MAIL_CAPABILITY]: 'A1' } : {};
  }
  async sessionState(): Promise<string> {
    return this.state;
  }
}

export function makeEngine(options: { methods?: MethodTable; limits?: Partial<JmapLimits>; logger?: Logger; admitRequest?: (i: JmapIdentity) => (() => void) | null } = {}) {
  const backend = new MemoryJmapBackend();
  const engine = new JmapEngine({
    backend,
    methods: { ...CORE_METHODS, ...options.methods },
    capabilities: { [MAIL_CAPABILITY]: {} },
    limits: options.limits,
    logger: options.logger ?? silentLogger(),
    admitRequest: options.admitRequest,
  });
  return { backend, engine };
}

/** Sends a request object (or raw text) and returns what the HTTP layer would send: status and parsed body. */
export async function transcript(engine: JmapEngine, request: JmapRequest | Record<string, unknown> | string, contentType: string | null = 'application/json') {
  const result = await engine.handle(ALICE, { body: typeof request === 'string' ? request : JSON.stringify(request), contentType });
  return { status: result.status, body: JSON.parse(JSON.stringify(result.body)) as Record<string, any>, result };
}
