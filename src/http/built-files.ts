/**
 * Serves the files of a built front end (dist/ui, dist/ui/admin): the bundle and style sheet precompressed at build
 * time (scripts/build-ui.mjs) are sent brotli or gzip as the browser accepts, with no compression work per request.
 */
import { readFile } from 'node:fs/promises';
import type { Hono } from 'hono';
import type { HttpEnv } from './context.ts';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** RFC 9110 §12.5.3: brotli, else gzip, when the client lists it without q=0; null for the plain file. */
function encodingFor(file: string, accept: string | undefined): 'br' | 'gzip' | null {
  // index.html is small and names the bundle; it is sent as it is.
  if (file.endsWith('.html') || !accept) return null;
  const offered = new Set<string>();
  for (const part of accept.toLowerCase().split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (coding && !(q && Number(q.slice(2)) === 0)) offered.add(coding);
  }
  return offered.has('br') ? 'br' : offered.has('gzip') ? 'gzip' : null;
}

export interface BuiltFilesOptions {
  dir: URL;
  /** URL path → file name in `dir`. */
  files: Record<string, string>;
  csp: string;
  /** What the log and the 503 say when the front end was not built. */
  notBuilt: { reason: string; text: string };
}

export function serveBuiltFiles(app: Hono<HttpEnv>, options: BuiltFilesOptions): void {
  for (const [path, file] of Object.entries(options.files)) {
    app.get(path, async (c) => {
      let data: Buffer;
      let encoding = encodingFor(file, c.req.header('Accept-Encoding'));
      try {
        data = await readFile(new URL(encoding === null ? file : `${file}.${encoding === 'br' ? 'br' : 'gz'}`, options.dir)).catch(async (err: unknown) => {
          // A build without the compressed copies still serves the plain file.
          if (encoding === null) throw err;
          encoding = null;
          return readFile(new URL(file, options.dir));
        });
      } catch {
        c.var.log.reason = options.notBuilt.reason;
        return c.text(options.notBuilt.text, 503, { 'Content-Security-Policy': options.csp });
      }
      // index.html is never cached (it names the bundle); the bundle is revalidated on each load.
      return c.body(new Uint8Array(data), 200, {
        'Content-Type': TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
        'Content-Security-Policy': options.csp,
        'Cache-Control': 'no-cache',
        Vary: 'Accept-Encoding',
        ...(encoding === null ? {} : { 'Content-Encoding': encoding }),
      });
    });
  }
}
