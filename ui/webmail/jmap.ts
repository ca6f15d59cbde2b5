/**
 * The webmail's only way to the server besides login and logout: JMAP (RFC 8620) with the session cookie and
 * the CSRF token header (read from the readable CSRF cookie the login set, so a reload keeps the session).
 */
export const MAIL = 'urn:ietf:params:jmap:mail';
export const SUBMISSION = 'urn:ietf:params:jmap:submission';
const CORE = 'urn:ietf:params:jmap:core';
export const VACATION = 'urn:ietf:params:jmap:vacationresponse';

export class SessionEnded extends Error {}

export function csrfToken(): string | null {
  const m = /(?:^|;\s*)postamt_csrf=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : null;
}

export interface Session {
  apiUrl: string;
  downloadUrl: string;
  uploadUrl: string;
  eventSourceUrl: string;
  username: string;
  accountId: string;
  /** The capabilities the server offers (RFC 8620 §2), e.g. whether it has VacationResponse. */
  capabilities: string[];
  /** RFC 8621 §1.3.2: the longest delayed send, in seconds (0: none), which undo send uses. */
  maxDelayedSend: number;
}

export async function login(address: string, password: string): Promise<{ ok: true } | { ok: false; status: number }> {
  const r = await fetch('/webmail/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ address, password }) });
  return r.ok ? { ok: true } : { ok: false, status: r.status };
}

export async function logout(): Promise<void> {
  await fetch('/webmail/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken() ?? '' } });
}

/** The user's own account settings (password, app passwords, sessions): JSON in and out, CSRF header on. */
export async function accountApi<R>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<R> {
  const r = await fetch(`/webmail/account/${path}`, {
    method,
    headers: { 'X-CSRF-Token': csrfToken() ?? '', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401) throw new SessionEnded();
  const data = await r.json().catch(() => ({})) as Record<string, unknown>;
  if (!r.ok) throw new Error(typeof data.detail === 'string' ? data.detail : `HTTP ${r.status}`);
  return data as R;
}

export async function loadSession(): Promise<Session> {
  const r = await fetch('/jmap/session', { headers: { Accept: 'application/json' } });
  if (r.status === 401) throw new SessionEnded();
  if (!r.ok) throw new Error(`session: HTTP ${r.status}`);
  const s = await r.json();
  const accountId = s.primaryAccounts[MAIL];
  const maxDelayedSend = Number(s.accounts?.[accountId]?.accountCapabilities?.[SUBMISSION]?.maxDelayedSend ?? 0) || 0;
  return { apiUrl: s.apiUrl, downloadUrl: s.downloadUrl, uploadUrl: s.uploadUrl, eventSourceUrl: s.eventSourceUrl, username: s.username, accountId, capabilities: Object.keys(s.capabilities ?? {}), maxDelayedSend };
}

/** A JMAP answer's arguments: JSON whose shape each caller knows from the method it called. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export type Invocation = [string, Record<string, unknown>, string];

export class Jmap {
  constructor(readonly session: Session) {}

  /**
   * One request; returns the responses by call id, throwing on a method error. An implicit call that follows
   * a method under its call id (RFC 8621 §7.5 onSuccessUpdateEmail's Email/set) does not replace its answer.
   */
  async call(calls: Invocation[]): Promise<Record<string, Json>> {
    const r = await fetch(this.session.apiUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() ?? '' },
      body: JSON.stringify({ using: [CORE, MAIL, SUBMISSION, ...this.session.capabilities.filter((c) => c === VACATION)], methodCalls: calls }),
    });
    if (r.status === 401) throw new SessionEnded();
    if (!r.ok) throw new Error(`JMAP: HTTP ${r.status}`);
    const body = await r.json();
    const out: Record<string, Json> = {};
    for (const [name, args, id] of body.methodResponses as Invocation[]) {
      if (name === 'error') throw Object.assign(new Error(`${id}: ${String(args.type)}`), { jmapType: args.type });
      if (!(id in out)) out[id] = args;
    }
    return out;
  }

  /** RFC 8620 §6.2: the download URL from the session's template. */
  downloadUrl(blobId: string, name: string, type: string): string {
    return this.session.downloadUrl
      .replace('{accountId}', encodeURIComponent(this.session.accountId))
      .replace('{blobId}', encodeURIComponent(blobId))
      .replace('{name}', encodeURIComponent(name || 'attachment'))
      .replace('{type}', encodeURIComponent(type || 'application/octet-stream'));
  }

  /**
   * RFC 8620 §6.1: uploads a file as a blob. XMLHttpRequest rather than fetch because only it reports upload
   * progress; the CSRF header goes with it like with every other state change.
   */
  upload(file: Blob, onProgress: (fraction: number) => void): Promise<{ blobId: string; type: string; size: number }> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.session.uploadUrl.replace('{accountId}', encodeURIComponent(this.session.accountId)));
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      xhr.setRequestHeader('X-CSRF-Token', csrfToken() ?? '');
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        if (xhr.status === 401) reject(new SessionEnded());
        else if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(JSON.parse(xhr.responseText)); } else reject(new Error(`upload: HTTP ${xhr.status}`));
      };
      xhr.onerror = () => reject(new Error('upload failed'));
      xhr.send(file);
    });
  }

  /** A blob's bytes (the download URL; a GET, the cookie alone authenticates it). */
  async blob(blobId: string, type = 'application/octet-stream'): Promise<Blob> {
    const r = await fetch(this.downloadUrl(blobId, 'blob', type));
    if (r.status === 401) throw new SessionEnded();
    if (!r.ok) throw new Error(`download: HTTP ${r.status}`);
    return r.blob();
  }
}
