/**
 * The JMAP EventSource endpoint (RFC 8620 §7.3): a text/event-stream of "state" events (StateChange) for
 * the types asked for, "ping" events at the interval asked for, closed after the first state event when
 * closeafter=state. Written straight to the socket, so an idle stream holds little more than its socket.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { HttpEnv, HttpUser } from './context.ts';
import { problemResponse } from './problem.ts';
import type { PushHub, StateChange } from './push-hub.ts';
import { API_CSP } from './security-headers.ts';
import { connectionInfo } from '../transport/http-listener.ts';

/** RFC 8620 §7.3: servers may bound ping; the bounds must allow 30 to 300 seconds. */
const MIN_PING_S = 1;
const MAX_PING_S = 3600;

export interface PushAdmission {
  /** Takes a push slot of the user, or null when they have as many open as allowed. */
  admit(user: HttpUser): (() => void) | null;
  /** Ends the stream when the login stops being valid (account removed, password changed). */
  watch(user: HttpUser, end: (reason: string) => void): () => void;
}

export function eventSourceHandler(options: { hub: PushHub; admission: PushAdmission; accountFor: (user: HttpUser) => number; secure: (c: Context<HttpEnv>) => boolean }) {
  const { hub } = options;
  return async (c: Context<HttpEnv>): Promise<Response> => {
    const user = c.var.user as HttpUser;
    // RFC 8620 §7.3 types: "*" or a comma-separated list of type names.
    const typesText = c.req.query('types') ?? '*';
    const types = typesText === '*' ? null : new Set(typesText.split(',').map((t) => t.trim()).filter(Boolean));
    const closeAfter = c.req.query('closeafter') ?? 'no';
    const pingText = c.req.query('ping') ?? '0';
    if ((closeAfter !== 'state' && closeAfter !== 'no') || !/^\d{1,6}$/.test(pingText)) {
      c.var.log.reason = 'bad-parameters';
      return problemResponse(c, 400, 'closeafter must be "state" or "no", ping a whole number of seconds.');
    }
    const requested = Number(pingText);
    const ping = requested === 0 ? 0 : Math.min(MAX_PING_S, Math.max(MIN_PING_S, requested));
    const release = options.admission.admit(user);
    if (!release) {
      c.var.log.reason = 'maxPushConnections';
      return problemResponse(c, 429, 'Too many push connections open for this user.');
    }
    const res = c.env.outgoing;
    const info = connectionInfo(c.env.incoming.socket);
    if (info) info.longLived = true;
    const headers: Record<string, string> = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-store',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': API_CSP,
    };
    if (options.secure(c)) headers['Strict-Transport-Security'] = 'max-age=31536000';
    res.writeHead(200, headers);
    // An idle stream must not be cut by the request or keep-alive timers meant for requests.
    c.env.incoming.socket.setTimeout(0);
    let timer: NodeJS.Timeout | null = null;
    let closed = false;
    const armPing = (): void => {
      if (ping === 0) return;
      if (timer) timer.refresh();
      else timer = setTimeout(() => {
        // RFC 8620 §7.3: a ping carries the interval actually used.
        write(`event: ping\ndata: {"interval":${ping}}\n\n`);
      }, ping * 1000);
    };
    const write = (text: string): void => {
      if (closed) return;
      res.write(text);
      armPing();
    };
    const end = (): void => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      hub.remove(sub);
      unwatch();
      release();
      res.end();
    };
    const sub = await hub.add({
      accountId: options.accountFor(user),
      types,
      send: (change: StateChange) => {
        write(`event: state\ndata: ${JSON.stringify(change)}\n\n`);
        if (closeAfter === 'state') end();
      },
    });
    let unwatch = (): void => undefined;
    if (res.destroyed) {
      end();
      return RESPONSE_ALREADY_SENT;
    }
    unwatch = options.admission.watch(user, end);
    res.once('close', end);
    // Flush the headers now: the client learns the stream is open before the first event.
    res.write(':\n\n');
    armPing();
    c.var.log.push = 'eventsource';
    return RESPONSE_ALREADY_SENT;
  };
}
