/**
 * The JMAP EventSource (RFC 8620 §7.3) of a test server read over https: its events as they arrive, with
 * their time, and a wait for the next one that matches.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { TestServer } from './server.ts';

export interface PushEvent {
  event: string;
  data: any;
  at: number;
}

export interface EventStream {
  /** The events not yet taken by next(), in arrival order. */
  events: PushEvent[];
  /** Takes the first event that matches (waits up to timeoutMs for one). */
  next(predicate?: (e: { event: string; data: any }) => boolean, timeoutMs?: number): Promise<PushEvent>;
  ended: Promise<void>;
  close(): void;
}

/** Opens /jmap/eventsource?`query` with the Authorization header `auth`; resolves on the 200 response. */
export function openEventSource(t: TestServer, query: string, auth: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: t.ports.https, servername: 'localhost', ca: t.ca, path: `/jmap/eventsource?${query}`, headers: { Authorization: auth, Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      assert.match(res.headers['content-type']!, /^text\/event-stream/);
      const events: PushEvent[] = [];
      const waiters: (() => void)[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) events.push({ event, data: data ? JSON.parse(data) : null, at: Date.now() });
        }
        for (const w of waiters.splice(0)) w();
      });
      const ended = new Promise<void>((r) => res.on('end', () => r()));
      resolve({
        events,
        ended,
        close: () => req.destroy(),
        async next(predicate = () => true, timeoutMs = 5000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const found = events.find(predicate);
            if (found) {
              events.splice(events.indexOf(found), 1);
              return found;
            }
            if (Date.now() > deadline) throw new Error(`no event in ${timeoutMs} ms (have ${JSON.stringify(events)})`);
            await new Promise<void>((r) => {
              waiters.push(r);
              setTimeout(r, 100);
            });
          }
        },
      });
    });
    req.on('error', reject);
  });
}
