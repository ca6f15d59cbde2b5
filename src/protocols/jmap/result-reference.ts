/**
 * Result references (RFC 8620 §3.7): arguments named "#name" whose value points into the response of an
 * earlier call in the same request. `resolveArguments` turns them into plain arguments or says why it cannot.
 */
import { z } from 'zod';
import { evaluatePointer } from './json-pointer.ts';

/** A response already produced in this request: [name, arguments, callId]. */
export type Invocation = [name: string, args: Record<string, unknown>, callId: string];

/** RFC 8620 §3.7: a ResultReference has resultOf, name and path, all strings. */
export const resultReferenceSchema = z.object({
  resultOf: z.string(),
  name: z.string(),
  path: z.string(),
});
export type ResultReference = z.infer<typeof resultReferenceSchema>;

export type ResolveOutcome =
  | { ok: true; args: Record<string, unknown> }
  | { ok: false; type: 'invalidArguments' | 'invalidResultReference'; description: string };

export function resolveArguments(args: Record<string, unknown>, previous: readonly Invocation[]): ResolveOutcome {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (!key.startsWith('#')) {
      setOwn(out, key, value);
      continue;
    }
    const name = key.slice(1);
    // RFC 8620 §3.7: the same argument in normal and referenced form is invalidArguments.
    if (Object.prototype.hasOwnProperty.call(args, name)) {
      return { ok: false, type: 'invalidArguments', description: `"${name}" is given both directly and as a result reference` };
    }
    const ref = resultReferenceSchema.safeParse(value);
    if (!ref.success) {
      return { ok: false, type: 'invalidResultReference', description: `"${key}" is not a ResultReference (resultOf, name, path)` };
    }
    const resolved = resolveReference(ref.data, previous);
    if (!resolved.ok) return { ok: false, type: 'invalidResultReference', description: `"${key}": ${resolved.reason}` };
    setOwn(out, name, resolved.value);
  }
  return { ok: true, args: out };
}

export function resolveReference(ref: ResultReference, previous: readonly Invocation[]): { ok: true; value: unknown } | { ok: false; reason: string } {
  // RFC 8620 §3.7 step 1: the first response with that method call id; none is a failure.
  const response = previous.find((r) => r[2] === ref.resultOf);
  if (response === undefined) return { ok: false, reason: `no earlier response with call id "${ref.resultOf}"` };
  // Step 2: its name must be identical to the reference's name (an "error" response never matches a method name).
  if (response[0] !== ref.name) return { ok: false, reason: `the response to "${ref.resultOf}" is "${response[0]}", not "${ref.name}"` };
  // Step 3: the path is a JSON Pointer into the response's arguments, with "*" mapping through arrays.
  const result = evaluatePointer(response[1], ref.path);
  return result.ok ? result : { ok: false, reason: `path ${JSON.stringify(ref.path)}: ${result.reason}` };
}

/** Defines an own data property even for "__proto__", so no argument name can reach the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
