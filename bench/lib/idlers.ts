/**
 * Bench helper: opens idle IMAP connections the way a mail client parks one: LOGIN, optionally
 * COMPRESS DEFLATE (RFC 4978), SELECT, IDLE, over plain TCP or implicit TLS, 50 at a time. Only the
 * replies the steps wait for are looked at.
 */
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';

export interface IdlerOptions {
  port: number;
  user: string;
  password: string;
  mailbox: string;
  /** Implicit TLS (port 993 style); the server's certificate is not checked. */
  tls?: boolean;
  compress?: boolean;
}

/** One connection idling; resolves with a function that drops it. */
export function openIdler(options: IdlerOptions): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = options.tls
      ? tls.connect({ port: options.port, host: '127.0.0.1', rejectUnauthorized: false })
      : net.connect(options.port, '127.0.0.1');
    let text = '';
    let send = (line: string): void => void socket.write(line);
    let step: 'login' | 'compress' | 'idle' | 'done' = 'login';
    const select = (): void => {
      step = 'idle';
      send(`a3 SELECT ${options.mailbox}\r\na4 IDLE\r\n`);
    };
    const onText = (chunk: string): void => {
      text += chunk;
      if (/\r\na\d (NO|BAD)/.test(text)) {
        socket.destroy();
        reject(new Error(`idler: ${text.slice(-200)}`));
      } else if (step === 'login' && text.includes('\r\na1 OK')) {
        if (!options.compress) return select();
        step = 'compress';
        send('a2 COMPRESS DEFLATE\r\n');
      } else if (step === 'compress' && text.includes('\r\na2 OK')) {
        // Everything after the OK is compressed, in both directions.
        socket.removeAllListeners('data');
        const inflate = zlib.createInflateRaw();
        const deflate = zlib.createDeflateRaw();
        socket.on('data', (d: Buffer) => inflate.write(d));
        inflate.on('data', (d: Buffer) => onText(d.toString('latin1')));
        deflate.on('data', (d: Buffer) => socket.write(d));
        send = (line) => {
          deflate.write(line);
          deflate.flush(zlib.constants.Z_SYNC_FLUSH);
        };
        select();
      } else if (step === 'idle' && /\r\n\+ /.test(text)) {
        step = 'done';
        text = '';
        resolve(() => socket.destroy());
      }
    };
    socket.on('data', (d: Buffer) => onText(d.toString('latin1')));
    socket.on('error', reject);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      text = '\r\n';
      send(`a1 LOGIN ${options.user} ${options.password}\r\n`);
    });
  });
}

/** `count` idlers, 50 at a time. */
export async function openIdlers(options: IdlerOptions, count: number): Promise<(() => void)[]> {
  const out: (() => void)[] = [];
  for (let i = 0; i < count; i += 50) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => openIdler(options)))));
  }
  return out;
}
