/**
 * The signed-in user's own account, for the webmail: the password, app passwords and login sessions, and the
 * delivery timeline of a message they sent. Thin routes: the rules (the current password to set a new one,
 * app passwords shown once, only one's own sessions, only the messages one submitted) live in the
 * administration service and in AccessTokens; authentication and the CSRF check are the JMAP API's (the
 * session cookie with its token, or Basic/Bearer).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { hashToken, type AccessTokens } from '../accounts/access-tokens.ts';
import { sessionId } from '../accounts/login-sessions.ts';
import { adminErrorKind } from '../admin/errors.ts';
import type { AdminService } from '../admin/service.ts';
import type { HttpEnv, HttpUser } from './context.ts';
import { problemResponse } from './problem.ts';
import { readBody } from './read-body.ts';
import { SESSION_COOKIE } from './web-session.ts';

export interface AccountRoutesOptions {
  requireUser: MiddlewareHandler<HttpEnv>;
  tokens: Pick<AccessTokens, 'sessions'>;
  admin: Pick<AdminService, 'users' | 'appPasswords' | 'trace'>;
}

const STATUS = { forbidden: 403, 'not-found': 404, conflict: 409, invalid: 400 } as const;

async function jsonBody(c: Context<HttpEnv>): Promise<Record<string, unknown> | null> {
  const body = await readBody(c, 8192);
  if (!body.ok) return null;
  try {
    const v = JSON.parse(new TextDecoder().decode(body.bytes)) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function accountRoutes(options: AccountRoutesOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.use('/webmail/account/*', options.requireUser);
  const who = (c: Context<HttpEnv>): { user: HttpUser; as: { kind: 'account'; accountId: number } } => {
    const user = c.var.user as HttpUser;
    return { user, as: { kind: 'account', accountId: user.accountId } };
  };
  /** The service's refusal as its HTTP status, said in its words; anything else is the server's fault. */
  const run = async (c: Context<HttpEnv>, f: () => Promise<unknown>, status: 200 | 201 = 200): Promise<Response> => {
    try {
      return c.json(await f(), status, { 'Cache-Control': 'no-store' });
    } catch (err) {
      const kind = adminErrorKind(err);
      if (kind === null) throw err;
      c.var.log.reason = kind;
      return problemResponse(c, STATUS[kind], (err as Error).message);
    }
  };

  app.get('/webmail/account/sessions', async (c) => {
    const { user } = who(c);
    const cookie = getCookie(c, SESSION_COOKIE);
    const current = cookie === undefined ? null : sessionId(hashToken(cookie));
    return run(c, async () => ({ sessions: (await options.tokens.sessions.list(user.accountId, 'session')).map((s) => ({ ...s, current: s.id === current })) }));
  });
  app.delete('/webmail/account/sessions/:id', async (c) => {
    const { user } = who(c);
    if (!(await options.tokens.sessions.end(user.accountId, 'session', c.req.param('id')))) return problemResponse(c, 404, 'No such session.');
    return c.json({ ended: c.req.param('id') }, 200, { 'Cache-Control': 'no-store' });
  });

  app.post('/webmail/account/password', async (c) => {
    const { user, as } = who(c);
    const body = await jsonBody(c);
    if (!body || typeof body.password !== 'string' || typeof body.currentPassword !== 'string') return problemResponse(c, 400, 'Give currentPassword and password.');
    return run(c, async () => ({ address: await options.admin.users.setPassword(as, user.address, body.password as string, { currentPassword: body.currentPassword as string }) }));
  });

  app.get('/webmail/account/app-passwords', (c) => {
    const { user, as } = who(c);
    return run(c, async () => ({ appPasswords: (await options.admin.appPasswords.list(as, user.address)).passwords.map((p) => ({ id: p.id, label: p.label, createdAt: p.createdAt })) }));
  });
  app.post('/webmail/account/app-passwords', async (c) => {
    const { user, as } = who(c);
    const body = await jsonBody(c);
    if (!body || typeof body.label !== 'string') return problemResponse(c, 400, 'Give a label.');
    return run(c, async () => {
      const made = await options.admin.appPasswords.add(as, user.address, body.label as string);
      return { id: made.record.id, label: made.record.label, createdAt: made.record.createdAt, password: made.password };
    }, 201);
  });
  app.delete('/webmail/account/app-passwords/:id', (c) => {
    const { user, as } = who(c);
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id) || id < 1) return problemResponse(c, 400, 'Not an app password id.');
    return run(c, async () => ({ removed: id, address: await options.admin.appPasswords.remove(as, user.address, id) }));
  });

  // What happened to a message the user sent (queued, each attempt with its MX and reply, delivered, deferred,
  // bounced, DSN), found by its Message-ID or queue id; another account's message is simply not found.
  app.get('/webmail/account/delivery', (c) => {
    const { as } = who(c);
    const messageId = c.req.query('messageId')?.trim();
    const queueId = c.req.query('queueId')?.trim();
    if (!messageId && !queueId) return problemResponse(c, 400, 'Give messageId or queueId.');
    if ((messageId?.length ?? 0) > 998 || (queueId !== undefined && !/^[0-9A-Za-z]{1,64}$/.test(queueId))) return problemResponse(c, 400, 'Not a Message-ID or queue id.');
    return run(c, async () => ({
      messages: await options.admin.trace.sent(as, { ...(messageId ? { messageId } : {}), ...(queueId ? { queueId: queueId.toUpperCase() } : {}), limit: 10 }),
    }));
  });
  return app;
}
