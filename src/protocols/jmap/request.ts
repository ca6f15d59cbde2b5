/**
 * Turns an HTTP request body into a checked JMAP Request object (RFC 8620 §3.3) or a request-level problem
 * (RFC 8620 §3.6.1): content type, size, UTF-8 and JSON, nesting depth, then the Request's type signature.
 */
import { z } from 'zod';
import type { JmapLimits } from './capabilities.ts';
import { problem, type ProblemResult } from './problem.ts';

/**
 * A JSON object, passed through as the same object: zod's record parsing builds a copy through assignment,
 * which drops a member named "__proto__" that JSON.parse made an own property (Core/echo must return it).
 */
export const jsonObjectSchema = z.custom<Record<string, unknown>>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'expected an object');

/** RFC 8620 §3.2: an Invocation is [name, arguments, method call id]. */
const invocationSchema = z.tuple([z.string(), jsonObjectSchema, z.string()]);

/** RFC 8620 §3.3: createdIds is Id[Id]; checked member by member, kept as the same object. */
const createdIdsSchema = jsonObjectSchema.refine((o) => Object.values(o).every((v) => typeof v === 'string'), 'expected string values');

/** RFC 8620 §3.3: the Request object; unknown members are ignored. */
export const requestSchema = z.object({
  using: z.array(z.string()),
  methodCalls: z.array(invocationSchema),
  createdIds: (createdIdsSchema as z.ZodType<Record<string, string>>).optional(),
});
export type JmapRequest = z.infer<typeof requestSchema>;

export type ParseOutcome = { ok: true; request: JmapRequest } | { ok: false; problem: ProblemResult };

export interface RequestBody {
  /** The raw body; bytes are decoded as UTF-8 and refused if they are not (I-JSON, RFC 7493 §2.1). */
  body: string | Uint8Array;
  /** The Content-Type header, when the caller has one; anything but application/json is notJSON. */
  contentType?: string | null;
}

/** RFC 8620 §3.6.1 `limit` / maxSizeRequest: the HTTP layer can call this on Content-Length before reading. */
export function checkRequestSize(sizeBytes: number, limits: Pick<JmapLimits, 'maxSizeRequest'>): ProblemResult | null {
  if (sizeBytes <= limits.maxSizeRequest) return null;
  return problem('limit', `The request is larger than ${limits.maxSizeRequest} octets.`, 'maxSizeRequest');
}

export function parseRequest(input: RequestBody, limits: JmapLimits): ParseOutcome {
  // RFC 8620 §3.6.1 notJSON: "The content type of the request was not application/json".
  if (input.contentType != null && !isJsonContentType(input.contentType)) {
    return fail(problem('notJSON', 'The request content type is not application/json.'));
  }
  const size = typeof input.body === 'string' ? utf8Length(input.body) : input.body.byteLength;
  const tooBig = checkRequestSize(size, limits);
  if (tooBig) return fail(tooBig);
  let text: string;
  if (typeof input.body === 'string') text = input.body;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input.body);
    } catch {
      return fail(problem('notJSON', 'The request is not valid UTF-8.'));
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // RFC 8620 §3.6.1 notJSON: "the request did not parse as I-JSON".
    return fail(problem('notJSON', 'The request did not parse as JSON.'));
  }
  if (exceedsDepth(parsed, limits.maxJsonDepth)) {
    return fail(problem('limit', `The request nests deeper than ${limits.maxJsonDepth} levels.`, 'maxJsonDepth'));
  }
  const checked = requestSchema.safeParse(parsed);
  if (!checked.success) {
    // RFC 8620 §3.6.1 notRequest: JSON, but not the type signature of the Request object.
    return fail(problem('notRequest', `The request is not a JMAP Request object: ${describeIssues(checked.error)}.`));
  }
  return { ok: true, request: checked.data };
}

function fail(p: ProblemResult): ParseOutcome {
  return { ok: false, problem: p };
}

function isJsonContentType(value: string): boolean {
  return value.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** UTF-8 octets of a string without encoding it (lone surrogates count as the 3 octets of U+FFFD). */
function utf8Length(text: string): number {
  let octets = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) octets += 1;
    else if (unit < 0x800) octets += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      octets += 4;
      i++;
    } else octets += 3;
  }
  return octets;
}

/** Iterative, so a hostile nesting cannot overflow the stack here. */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** The first few zod issues as "path: message", about the client's own input only. */
export function describeIssues(error: z.ZodError, max = 3): string {
  return error.issues
    .slice(0, max)
    .map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
