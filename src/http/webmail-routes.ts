/**
 * Serves the webmail's built files (dist/ui, made by scripts/build-ui.mjs from ui/webmail at `npm install`)
 * at `/` under the app's strict CSP: scripts and styles only from this origin, no inline script, nothing framed.
 */
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import type { HttpEnv } from './context.ts';

/**
 * The app's CSP. Mail HTML is shown in a sandboxed srcdoc iframe (no allow-scripts), which inherits this policy
 * and adds a stricter one of its own; inline styles stay allowed because mail HTML is styled inline.
 * Remote images are permitted by this outer policy only so that the user's "show images" can work: the
 * iframe's own policy blocks them until then.
 */
export const WEBMAIL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https: http:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/ui/app.js': 'app.js',
  '/ui/app.css': 'app.css',
};
const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The bundle and the style sheet also exist compressed (scripts/build-ui.mjs): brotli, else gzip, as accepted. */
function encodingFor(file: string, accept: string | undefined): 'br' | 'gzip' | null {
  if (file === 'index.html' || !accept) return null;
  const offered = accept.toLowerCase().split(',').map((s) => s.trim().split(';')[0]);
  return offered.includes('br') ? 'br' : offered.includes('gzip') ? 'gzip' : null;
}

export function webmailRoutes(options: { dir: URL }): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  for (const [path, file] of Object.entries(FILES)) {
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
        c.var.log.reason = 'webmail-not-built';
        return c.text('The webmail is not built: run `npm install` (or `npm run build:ui`).', 503, { 'Content-Security-Policy': WEBMAIL_CSP });
      }
      // index.html is never cached (it names the bundle); the bundle is revalidated on each load.
      return c.body(new Uint8Array(data), 200, {
        'Content-Type': TYPES[file]!, 'Content-Security-Policy': WEBMAIL_CSP, 'Cache-Control': 'no-cache', Vary: 'Accept-Encoding',
        ...(encoding === null ? {} : { 'Content-Encoding': encoding }),
      });
    });
  }
  return app;
}
