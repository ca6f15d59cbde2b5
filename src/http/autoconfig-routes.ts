/**
 * Mail client self-configuration over HTTP: Thunderbird's autoconfig file (on `autoconfig.<domain>` and under
 * `/.well-known/autoconfig/`), Outlook's POX autodiscover, and an Apple configuration profile for the logged-in
 * user. Only domains this server hosts are described; others get 404, so the routes reveal nothing else.
 */
import type { MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { appleMobileconfig, MOBILECONFIG_CONTENT_TYPE } from '../autoconfig/mobileconfig.ts';
import { autodiscoverError, autodiscoverResponse, OUTLOOK_RESPONSE_SCHEMA, parseAutodiscoverRequest } from '../autoconfig/autodiscover.ts';
import { domainOfAddress, type ClientSettings } from '../autoconfig/client-settings.ts';
import { thunderbirdConfig } from '../autoconfig/thunderbird.ts';
import type { HttpEnv, HttpUser } from './context.ts';
import { problemResponse } from './problem.ts';
import { readBody } from './read-body.ts';

/** A POX request is a few hundred bytes; anything much larger is not one. */
const AUTODISCOVER_MAX_BODY = 16 * 1024;

export const AUTOCONFIG_PATHS = {
  thunderbird: '/mail/config-v1.1.xml',
  thunderbirdWellKnown: '/.well-known/autoconfig/mail/config-v1.1.xml',
  autodiscover: '/autodiscover/autodiscover.xml',
  mobileconfig: '/autoconfig/apple.mobileconfig',
} as const;

export interface AutoconfigRouteOptions {
  settings: () => ClientSettings;
  /** Whether the domain is one this server hosts mail for. */
  hostsDomain: (domain: string) => Promise<boolean>;
  requireUser: MiddlewareHandler<HttpEnv>;
}

/** The domain a Thunderbird request is about: its emailaddress parameter, else the Host it was sent to. */
function thunderbirdDomain(emailAddress: string | undefined, host: string | undefined): string | null {
  if (emailAddress) return domainOfAddress(emailAddress);
  if (!host) return null;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name.startsWith('autoconfig.') ? name.slice('autoconfig.'.length) : name;
}

export function autoconfigRoutes(options: AutoconfigRouteOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const xml = (body: string, status: 200 | 404 = 200) => new Response(body, { status, headers: { 'Content-Type': 'application/xml; charset=utf-8', 'Cache-Control': 'no-cache' } });

  for (const path of [AUTOCONFIG_PATHS.thunderbird, AUTOCONFIG_PATHS.thunderbirdWellKnown]) {
    app.get(path, async (c) => {
      const domain = thunderbirdDomain(c.req.query('emailaddress'), c.req.header('Host'));
      if (!domain || !(await options.hostsDomain(domain))) {
        c.var.log.reason = 'unknown-domain';
        return problemResponse(c, 404, 'No mail is hosted here for that domain.');
      }
      c.var.log.domain = domain;
      return xml(thunderbirdConfig(options.settings(), domain));
    });
  }

  // Outlook sends the path in either case (it was served by IIS, where paths are case-insensitive).
  app.post('/:dir{[Aa]utodiscover}/:file{[Aa]utodiscover\\.xml}', async (c) => {
    const body = await readBody(c, AUTODISCOVER_MAX_BODY);
    if (!body.ok) {
      c.var.log.reason = `body-${body.reason}`;
      return problemResponse(c, 413, 'The autodiscover request is too large.');
    }
    const request = parseAutodiscoverRequest(Buffer.from(body.bytes).toString('utf8'));
    const domain = request.emailAddress ? domainOfAddress(request.emailAddress) : null;
    if (!request.emailAddress || !domain) {
      c.var.log.reason = 'no-address';
      return xml(autodiscoverError(600, 'Invalid Request'));
    }
    if (request.acceptableResponseSchema !== OUTLOOK_RESPONSE_SCHEMA) {
      c.var.log.reason = 'unsupported-schema';
      return xml(autodiscoverError(601, 'Provider is not available'));
    }
    if (!(await options.hostsDomain(domain))) {
      c.var.log.reason = 'unknown-domain';
      return xml(autodiscoverError(600, 'Invalid Request'));
    }
    c.var.log.domain = domain;
    return xml(autodiscoverResponse(options.settings(), request.emailAddress));
  });

  app.get(AUTOCONFIG_PATHS.mobileconfig, options.requireUser, (c) => {
    const user = c.var.user as HttpUser;
    const settings = options.settings();
    const host = settings.hostname;
    return new Response(appleMobileconfig(settings, user.address), {
      headers: {
        'Content-Type': MOBILECONFIG_CONTENT_TYPE,
        'Content-Disposition': `attachment; filename="${host.replace(/[^A-Za-z0-9.-]/g, '_')}.mobileconfig"`,
        'Cache-Control': 'no-store',
      },
    });
  });
  return app;
}
