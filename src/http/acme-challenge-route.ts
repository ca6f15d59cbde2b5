/**
 * Answers ACME HTTP-01 validations (RFC 8555 §8.3): GET /.well-known/acme-challenge/<token> returns the key
 * authorization of a challenge under way, 404 for any other token. No authentication: the CA is anonymous.
 */
import { Hono } from 'hono';
import type { HttpEnv } from './context.ts';
import { problemResponse } from './problem.ts';

export function acmeChallengeRoutes(options: { keyAuthorization: (token: string) => string | null }): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get('/.well-known/acme-challenge/:token', (c) => {
    const answer = options.keyAuthorization(c.req.param('token'));
    if (answer === null) {
      c.var.log.reason = 'unknown-token';
      return problemResponse(c, 404, 'No such challenge.');
    }
    // RFC 8555 §8.3: the body is the key authorization, served as application/octet-stream.
    return new Response(answer, { status: 200, headers: { 'Content-Type': 'application/octet-stream' } });
  });
  return app;
}
