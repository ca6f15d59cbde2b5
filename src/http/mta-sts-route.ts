/**
 * Serves our MTA-STS policy (RFC 8461 §3.3) at /.well-known/mta-sts.txt to requests for mta-sts.<domain> of a
 * domain this server hosts; any other host, or no policy configured, is 404 like an unknown path.
 */
import { Hono } from 'hono';
import { MTA_STS_PATH, type OurMtaStsPolicy } from '../policy/mta-sts-policy.ts';
import type { HttpEnv } from './context.ts';
import { problemResponse } from './problem.ts';

export interface MtaStsRouteOptions {
  policy: () => OurMtaStsPolicy | null;
  hostsDomain: (domain: string) => Promise<boolean>;
}

export function mtaStsRoutes(options: MtaStsRouteOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get(MTA_STS_PATH, async (c) => {
    const policy = options.policy();
    const host = (c.req.header('Host') ?? '').replace(/:\d+$/, '').toLowerCase().replace(/\.$/, '');
    // RFC 8461 §3.3: the policy host is "mta-sts" prepended to the Policy Domain.
    const domain = host.startsWith('mta-sts.') ? host.slice('mta-sts.'.length) : null;
    if (!policy || !domain || !(await options.hostsDomain(domain))) {
      c.var.log.reason = policy ? 'unknown-domain' : 'no-policy';
      return problemResponse(c, 404, 'No MTA-STS policy is served here for that host.');
    }
    c.var.log.domain = domain;
    // RFC 8461 §3.3: the media type is "text/plain"; senders cache it by max_age, not by HTTP caching.
    return new Response(policy.text, { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' } });
  });
  return app;
}
