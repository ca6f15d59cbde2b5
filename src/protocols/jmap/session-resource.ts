/**
 * The JMAP Session resource (RFC 8620 §2): capabilities with the Core limits, the user's accounts, primary
 * accounts, username, the URL templates and the session state, built from the engine and its backend.
 */
import type { JmapAccount, JmapBackend, JmapIdentity } from './backend.ts';
import type { JmapEngine } from './engine.ts';

export interface SessionUrls {
  /** RFC 8620 §2: absolute URL of the API endpoint. */
  apiUrl: string;
  /** RFC 8620 §2: must contain {accountId}, {blobId}, {type} and {name} (RFC 6570 level 1). */
  downloadUrl: string;
  /** RFC 8620 §2: must contain {accountId}. */
  uploadUrl: string;
  /** RFC 8620 §2: must contain {types}, {closeafter} and {ping}. */
  eventSourceUrl: string;
}

/** RFC 8620 §2: the Session object. */
export interface JmapSession {
  capabilities: Record<string, Record<string, unknown>>;
  accounts: Record<string, JmapAccount>;
  primaryAccounts: Record<string, string>;
  username: string;
  apiUrl: string;
  downloadUrl: string;
  uploadUrl: string;
  eventSourceUrl: string;
  state: string;
}

const REQUIRED_VARIABLES: Record<Exclude<keyof SessionUrls, 'apiUrl'>, readonly string[]> = {
  downloadUrl: ['accountId', 'blobId', 'type', 'name'],
  uploadUrl: ['accountId'],
  eventSourceUrl: ['types', 'closeafter', 'ping'],
};

/** Checks the URL templates once, at startup: a template missing a variable is a configuration error. */
export function checkSessionUrls(urls: SessionUrls): void {
  for (const [key, variables] of Object.entries(REQUIRED_VARIABLES) as [keyof typeof REQUIRED_VARIABLES, readonly string[]][]) {
    for (const v of variables) {
      if (!urls[key].includes(`{${v}}`)) throw new Error(`JMAP ${key} must contain {${v}} (RFC 8620 §2)`);
    }
  }
}

export async function buildSession<B extends JmapBackend>(options: {
  engine: JmapEngine<B>;
  backend: B;
  identity: JmapIdentity;
  urls: SessionUrls;
}): Promise<JmapSession> {
  const { engine, backend, identity, urls } = options;
  const [accounts, primaryAccounts, state] = await Promise.all([
    backend.accountsFor(identity),
    backend.primaryAccountsFor(identity),
    backend.sessionState(identity),
  ]);
  return {
    // RFC 8620 §2: server capabilities, Core always present with its limits.
    capabilities: structuredClone(engine.capabilities) as Record<string, Record<string, unknown>>,
    accounts,
    // RFC 8620 §2 primaryAccounts: only capabilities the server supports, pointing at accounts listed above.
    primaryAccounts: Object.fromEntries(
      Object.entries(primaryAccounts).filter(([cap, id]) => Object.prototype.hasOwnProperty.call(engine.capabilities, cap) && Object.prototype.hasOwnProperty.call(accounts, id)),
    ),
    username: identity.username,
    apiUrl: urls.apiUrl,
    downloadUrl: urls.downloadUrl,
    uploadUrl: urls.uploadUrl,
    eventSourceUrl: urls.eventSourceUrl,
    state,
  };
}

/** RFC 8620 §6.2: fills the downloadUrl template (RFC 6570 level 1, so every value is percent-encoded). */
export function expandUrlTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? encodeUnreserved(values[name]!) : whole,
  );
}

/** RFC 6570 §3.2.2 simple expansion: everything but unreserved characters is percent-encoded. */
function encodeUnreserved(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
