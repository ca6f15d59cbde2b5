/**
 * Request-level errors (RFC 8620 §3.6.1) as RFC 7807 problem details, returned as data (status + body) for
 * the HTTP layer to send with `Content-Type: application/problem+json`.
 */

export type RequestErrorType = 'unknownCapability' | 'notJSON' | 'notRequest' | 'limit';

export interface ProblemDetails {
  type: string;
  status: number;
  detail: string;
  /** RFC 8620 §3.6.1: present on `limit` errors, naming the limit that was exceeded. */
  limit?: string;
}

export interface ProblemResult {
  kind: 'problem';
  status: number;
  contentType: 'application/problem+json';
  body: ProblemDetails;
}

export const REQUEST_ERROR_PREFIX = 'urn:ietf:params:jmap:error:';

/**
 * RFC 8620 §3.6.1 shows these with status 400 and leaves the status to HTTP; every JMAP-typed request error
 * is answered 400 here, since each one means the client must change the request before retrying.
 */
export function problem(type: RequestErrorType, detail: string, limit?: string): ProblemResult {
  const body: ProblemDetails = { type: REQUEST_ERROR_PREFIX + type, status: 400, detail };
  if (limit !== undefined) body.limit = limit;
  return { kind: 'problem', status: 400, contentType: 'application/problem+json', body };
}

/**
 * Not a JMAP request error: the server could not answer at all (the Session state could not be read). RFC 7807
 * §4.2 "about:blank" with the HTTP status, and no detail that could leak internals.
 */
export function serverProblem(): ProblemResult {
  return { kind: 'problem', status: 503, contentType: 'application/problem+json', body: { type: 'about:blank', status: 503, detail: 'The server is temporarily unavailable.' } };
}
