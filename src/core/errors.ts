/**
 * Errors that carry their protocol reply: an SMTP code, an RFC 3463 enhanced status code,
 * and text that is safe to show a client (it never leaks configuration or internals).
 */

export class ProtocolError extends Error {
  readonly code: number;
  readonly enhancedCode: string;
  constructor(code: number, enhancedCode: string, safeText: string) {
    super(safeText);
    this.name = 'ProtocolError';
    this.code = code;
    this.enhancedCode = enhancedCode;
  }
  get isTemporary(): boolean {
    return this.code >= 400 && this.code < 500;
  }
}

/** A storage failure (disk full, database busy, I/O error): always temporary for the client (RFC 3463 4.3.0). */
export class StorageError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StorageError';
  }
}

/** A CLI or admin-level usage error: printed as is, exit code 1 or 2. */
export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UsageError';
    this.exitCode = exitCode;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
