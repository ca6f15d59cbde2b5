/**
 * What the HTTP application's middleware learns about a request and hands to the routes: the client (its
 * address and whether it used TLS, through a trusted proxy when there is one), the authenticated user, and
 * what the request log line should say.
 */
import type { HttpBindings } from '@hono/node-server';
import type { JmapIdentity } from '../protocols/jmap/backend.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';

export interface ClientInfo {
  /** The listener that took the connection ('http' or 'https'). */
  listener: string;
  /** The client's address: the peer, or the address a trusted proxy forwarded for. */
  ip: string;
  /** The peer itself (the proxy, when there is one). */
  peer: string;
  /** The client reached us over TLS (our https listener, or a trusted proxy that says so). */
  secure: boolean;
  /** The scheme and host the client used, for absolute URLs (Session resource). */
  origin: string;
  viaProxy: boolean;
}

/** An authenticated HTTP user: the login (account, app password, credential stamp) and the JMAP username. */
export interface HttpUser extends JmapIdentity, AuthIdentity {
  /** How the request proved who it is. */
  scheme: 'basic' | 'bearer' | 'cookie';
  /** The client's address (as ClientInfo.ip), for services that record where a request came from. */
  remoteAddress: string;
}

export interface RequestLogFields {
  /** JMAP method calls of the request ("Email/get", or "Email/get:notFound" when one failed). */
  calls?: string[];
  /** Why the request was refused, in a word (shown with 4xx/5xx). */
  reason?: string;
  /** A push connection opened ('eventsource', 'websocket'). */
  push?: string;
  /** Bytes uploaded or downloaded. */
  size?: number;
  [field: string]: unknown;
}

export type HttpEnv = {
  Bindings: HttpBindings;
  Variables: {
    client: ClientInfo;
    user: HttpUser | undefined;
    log: RequestLogFields;
  };
};
