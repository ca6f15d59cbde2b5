/**
 * Method-level errors (RFC 8620 §3.6.2) and the SetError types of /set and /copy (RFC 8620 §5.3, §5.4):
 * a handler throws `MethodError` and the engine answers `["error", {type, ...}, callId]`.
 */

/** RFC 8620 §3.6.2 general errors plus the per-method ones of §5 (requestTooLarge, stateMismatch, ...). */
export type MethodErrorType =
  | 'serverUnavailable'
  | 'serverFail'
  | 'serverPartialFail'
  | 'unknownMethod'
  | 'invalidArguments'
  | 'invalidResultReference'
  | 'forbidden'
  | 'accountNotFound'
  | 'accountNotSupportedByMethod'
  | 'accountReadOnly'
  | 'requestTooLarge'
  | 'cannotCalculateChanges'
  | 'stateMismatch'
  | 'fromAccountNotFound'
  | 'fromAccountNotSupportedByMethod'
  | 'anchorNotFound'
  | 'unsupportedSort'
  | 'unsupportedFilter'
  | 'tooManyChanges';

export class MethodError extends Error {
  readonly type: MethodErrorType;
  /** Extra properties of the error object; `description` is shown to the client, so it must be safe. */
  readonly extra: Record<string, unknown>;
  constructor(type: MethodErrorType, description?: string, extra: Record<string, unknown> = {}) {
    super(description ?? type);
    this.name = 'MethodError';
    this.type = type;
    this.extra = description === undefined ? { ...extra } : { description, ...extra };
  }
  toArguments(): Record<string, unknown> {
    return { type: this.type, ...this.extra };
  }
}

/** RFC 8620 §5.3 and §5.4 SetError types; data types add their own (RFC 8621 adds e.g. mailboxHasChild). */
export type SetErrorType =
  | 'forbidden'
  | 'overQuota'
  | 'tooLarge'
  | 'rateLimit'
  | 'notFound'
  | 'invalidPatch'
  | 'willDestroy'
  | 'invalidProperties'
  | 'singleton'
  | 'alreadyExists'
  | (string & {});

export interface SetError {
  type: SetErrorType;
  description?: string;
  /** RFC 8620 §5.3: with `invalidProperties`, the properties that were invalid. */
  properties?: string[];
  /** RFC 8620 §5.4: with `alreadyExists`, the id of the existing record. */
  existingId?: string;
  [extra: string]: unknown;
}

export function setError(type: SetErrorType, fields: Omit<SetError, 'type'> = {}): SetError {
  return { type, ...fields };
}
