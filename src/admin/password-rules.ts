/**
 * What a new password must be, wherever it is set (CLI, admin UI, a user's own settings): not empty, at
 * least auth.min_password_length characters, no line break or NUL (no login protocol could send one).
 */
import { UsageError } from '../core/errors.ts';

export function checkNewPassword(password: string, minLength: number): void {
  if (password === '') throw new UsageError('the password is empty');
  const length = [...password].length;
  if (length < minLength) throw new UsageError(`the password has ${length} characters; at least ${minLength} are required (auth.min_password_length)`);
  if (/[\r\n\0]/.test(password)) throw new UsageError('the password may not contain line breaks or NUL');
}
