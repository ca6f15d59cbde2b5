/**
 * The error classes of the layers below the protocol engines (storage, CLI, startup) and helpers to word
 * a caught error. Protocol engines answer bad input with replies, not exceptions: see HACKING.md.
 */

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

/**
 * The server cannot start as configured (a certificate file missing, a port taken, data_dir unwritable):
 * one line naming the config key, path or listener, printed without a stack trace.
 */
export class StartupError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StartupError';
  }
}

/** The short reason of a Node system error ("no such file", "permission denied"), else its message. */
export function systemReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EROFS': return 'read-only file system';
    case 'EADDRINUSE': return 'address already in use (another program listens there)';
    case 'EADDRNOTAVAIL': return 'address not available on this machine';
    default: return errorMessage(err);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
