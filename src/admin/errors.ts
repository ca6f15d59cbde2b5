/**
 * The administration service's refusals, typed so that each front end maps them its own way: the CLI to an
 * exit code and a one-line message, HTTP to a status (forbidden 403, not-found 404, conflict 409, invalid 400).
 */
import { UsageError } from '../core/errors.ts';

export type AdminErrorKind = 'forbidden' | 'not-found' | 'conflict' | 'invalid';

export class AdminError extends UsageError {
  readonly kind: AdminErrorKind;
  constructor(kind: AdminErrorKind, message: string, exitCode = 1) {
    super(message, exitCode);
    this.name = 'AdminError';
    this.kind = kind;
  }
}

/** The kind of a refusal from the service: AdminErrors carry it; any other UsageError is bad input. Null for a failure. */
export function adminErrorKind(err: unknown): AdminErrorKind | null {
  if (err instanceof AdminError) return err.kind;
  return err instanceof UsageError ? 'invalid' : null;
}
