/**
 * JMAP over WebSocket (RFC 8887): the upgrade at /jmap/ws is authenticated like any request and must ask
 * for the "jmap" subprotocol; then each text message is a Request (answered by a Response or RequestError
 * with its requestId), WebSocketPushEnable or WebSocketPushDisable; pushed StateChanges carry a pushState
 * that lets a reconnecting client hear what it missed.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context } from 'hono';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../core/log.ts';
import type { JmapBackend } from '../protocols/jmap/backend.ts';
import type { JmapEngine } from '../protocols/jmap/engine.ts';
import type { HttpEnv, HttpUser } from './context.ts';
import type { PushAdmission } from './event-source.ts';
import { problemResponse } from './problem.ts';
import type { PushHub, PushSubscriber, StateChange } from './push-hub.ts';

/** What the listener hands the application with an upgrade request. */
export interface UpgradeBindings {
  socket: Duplex;
  head: Buffer;
  /** Set once the WebSocket took the socket over. */
  done: boolean;
}

export type HttpEnvWithUpgrade = HttpEnv & { Bindings: { upgrade?: UpgradeBindings } };

export interface JmapWebSocketOptions<B extends JmapBackend> {
  engine: JmapEngine<B>;
  hub: PushHub;
  admission: PushAdmission;
  accountFor: (user: HttpUser) => number;
  /** Origins besides the server's own whose pages may open a WebSocket (http.cors_origins). */
  allowedOrigins: readonly string[];
  logger: Logger;
}

function encodePushState(states: Record<string, Record<string, string>>): string {
  return Buffer.from(JSON.stringify(states)).toString('base64url');
}

function decodePushState(token: unknown): Record<string, Record<string, string>> | null {
  if (typeof token !== 'string' || token.length > 4096) return null;
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    return value !== null && typeof value === 'object' ? (value as Record<string, Record<string, string>>) : null;
  } catch {
    return null;
  }
}

export function jmapWebSocket<B extends JmapBackend>(options: JmapWebSocketOptions<B>) {
  const { engine, hub, logger } = options;
  // RFC 8887 §4.2: the subprotocol is "jmap"; the largest message is the largest request (maxSizeRequest).
  const wss = new WebSocketServer({ noServer: true, maxPayload: engine.limits.maxSizeRequest, handleProtocols: (protocols) => (protocols.has('jmap') ? 'jmap' : false) });
  const allowed = new Set(options.allowedOrigins.map((o) => o.toLowerCase()));
  const open = new Set<WebSocket>();

  const handler = async (c: Context<HttpEnvWithUpgrade>): Promise<Response> => {
    const upgrade = c.env.upgrade;
    if (!upgrade || c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
      c.var.log.reason = 'not-websocket';
      return problemResponse(c as unknown as Context<HttpEnv>, 400, 'This is the JMAP WebSocket endpoint (RFC 8887): connect with Upgrade: websocket.');
    }
    const protocols = (c.req.header('Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim());
    if (!protocols.includes('jmap')) {
      c.var.log.reason = 'no-jmap-subprotocol';
      return problemResponse(c as unknown as Context<HttpEnv>, 400, 'The WebSocket subprotocol "jmap" is required (RFC 8887 §4.2).');
    }
    // Browsers send Origin with every WebSocket: a page of another site must not use a login the browser holds.
    const origin = c.req.header('Origin');
    if (origin !== undefined && !allowed.has(origin.toLowerCase()) && origin.toLowerCase() !== c.var.client.origin.toLowerCase() && !sameHost(origin, c.req.header('Host'))) {
      c.var.log.reason = 'origin-refused';
      return problemResponse(c as unknown as Context<HttpEnv>, 403, 'WebSocket connections from this origin are not allowed.');
    }
    const user = c.var.user as HttpUser;
    const release = options.admission.admit(user);
    if (!release) {
      c.var.log.reason = 'maxPushConnections';
      return problemResponse(c as unknown as Context<HttpEnv>, 429, 'Too many push connections open for this user.');
    }
    upgrade.done = true;
    c.var.log.push = 'websocket';
    wss.handleUpgrade(c.env.incoming as IncomingMessage, upgrade.socket, upgrade.head, (ws) => serve(ws, user, release));
    return c.body(null, 200);
  };

  function serve(ws: WebSocket, user: HttpUser, release: () => void): void {
    open.add(ws);
    const accountId = options.accountFor(user);
    let sub: PushSubscriber | null = null;
    const sendJson = (value: unknown): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(value));
    };
    const stopPush = (): void => {
      if (sub) hub.remove(sub);
      sub = null;
    };
    const unwatch = options.admission.watch(user, (reason) => ws.close(1008, reason.slice(0, 100)));
    ws.on('close', () => {
      open.delete(ws);
      stopPush();
      unwatch();
      release();
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      void handleMessage(isBinary ? null : data.toString()).catch((err: unknown) => {
        logger.error({ event: 'http.error', path: '/jmap/ws', err }, 'WebSocket message failed');
        ws.close(1011);
      });
    });

    async function handleMessage(text: string | null): Promise<void> {
      let message: unknown;
      try {
        message = text === null ? undefined : JSON.parse(text);
      } catch {
        message = undefined;
      }
      const type = message !== null && typeof message === 'object' ? (message as Record<string, unknown>)['@type'] : undefined;
      const requestId = message !== null && typeof message === 'object' ? (message as Record<string, unknown>).id : undefined;
      const withId = typeof requestId === 'string' ? { requestId } : {};
      if (message === undefined) {
        // RFC 8887 §4.3.4: a message that is not JSON gets a RequestError (RFC 8620 §3.6.1 notJSON).
        sendJson({ '@type': 'RequestError', type: 'urn:ietf:params:jmap:error:notJSON', status: 400, detail: 'The message did not parse as JSON text.' });
        return;
      }
      if (type === 'Request') {
        const started = performance.now();
        const result = await engine.handle(user, { body: text!, contentType: 'application/json' });
        const calls = result.kind === 'response' ? result.calls.map((call) => (call.error ? `${call.name}:${call.error}` : call.name)) : undefined;
        logger.info({ event: 'http.request', listener: 'ws', ip: user.remoteAddress, method: 'WS', path: '/jmap/ws', status: result.status, ms: Math.round((performance.now() - started) * 10) / 10, user: user.username, calls, reason: result.kind === 'problem' ? result.body.type : undefined }, 'http.request');
        // RFC 8887 §4.3.3, §4.3.4: the answer carries the request's id.
        if (result.kind === 'problem') sendJson({ '@type': 'RequestError', ...withId, ...result.body });
        else sendJson({ '@type': 'Response', ...withId, ...result.body });
        return;
      }
      if (type === 'WebSocketPushEnable') {
        const dataTypes = (message as Record<string, unknown>).dataTypes;
        const types = Array.isArray(dataTypes) ? new Set(dataTypes.filter((t): t is string => typeof t === 'string')) : null;
        stopPush();
        const current = await hub.current(accountId, types);
        const jmapId = hub.accountIdOf(accountId);
        // RFC 8887 §4.3.5.2: with a pushState, what changed since that token is sent at once.
        const before = decodePushState((message as Record<string, unknown>).pushState)?.[jmapId];
        const last = before ? { ...before } : { ...current };
        sub = await hub.add({
          accountId,
          types,
          last,
          send: (change: StateChange) => {
            const all = { [jmapId]: { ...(sub?.last ?? {}) } };
            sendJson({ ...change, pushState: encodePushState(all) });
          },
        });
        return;
      }
      if (type === 'WebSocketPushDisable') {
        stopPush();
        return;
      }
      sendJson({ '@type': 'RequestError', ...withId, type: 'urn:ietf:params:jmap:error:notRequest', status: 400, detail: 'Expected a Request, WebSocketPushEnable or WebSocketPushDisable object.' });
    }
  }

  return {
    handler,
    /** Closes every JMAP WebSocket (server stop): 1001 "going away". */
    closeAll(): void {
      for (const ws of open) ws.close(1001, 'server stopping');
      wss.close();
    },
  };
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
