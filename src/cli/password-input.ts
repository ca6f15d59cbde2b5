/**
 * Reading passwords for the CLI: all of stdin with --password-stdin (one trailing newline removed), or a
 * prompt on the terminal without echo, asked twice when setting a password.
 */
import { checkNewPassword } from '../admin/password-rules.ts';
import { UsageError } from '../core/errors.ts';
import type { CliIo, InputStream } from './context.ts';

export async function readAll(stdin: InputStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Reads one line from a TTY in raw mode, echoing nothing. Ctrl-C or Ctrl-D on an empty line cancels. */
function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const { stdin } = io;
  if (!stdin.setRawMode || !stdin.on || !stdin.removeListener) throw new UsageError('cannot read a password from this terminal; use --password-stdin', 2);
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume?.();
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err: Error | null): void => {
      stdin.removeListener!('data', onData);
      stdin.setRawMode!(false);
      stdin.pause?.();
      io.stderr.write('\n');
      if (err) reject(err); else resolve(text);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || (ch === '\u0004' && text === '')) return done(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch >= ' ') text += ch;
      }
    };
    stdin.on!('data', onData);
  });
}

/**
 * The new password: from stdin with `fromStdin`, else asked twice on the terminal, checked against the password rules.
 */
export async function readNewPassword(io: CliIo, options: { fromStdin: boolean; minLength: number }): Promise<string> {
  let password: string;
  if (options.fromStdin) {
    password = (await readAll(io.stdin)).toString('utf8').replace(/\r?\n$/, '');
  } else {
    if (!io.stdin.isTTY) throw new UsageError('no terminal to ask for the password on; pipe it in with --password-stdin', 2);
    password = await promptHidden(io, 'Password: ');
    const again = await promptHidden(io, 'Repeat password: ');
    if (again !== password) throw new UsageError('the passwords do not match');
  }
  checkNewPassword(password, options.minLength);
  return password;
}
