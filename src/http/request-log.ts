/**
 * One structured line per HTTP request (`http.request`): listener, client, method, path (never the query
 * or a header, so no credential or token can reach the log), status, duration, the user and the JMAP
 * method calls. Unexpected errors are logged with their stack and answered 500 without details.
 */
import type { ErrorHandler, MiddlewareHandler } from 'hono';
import type { Logger } from '../core/log.ts';
import type { HttpEnv } from './context.ts';
import { problemResponse } from './problem.ts';

export function requestLog(logger: Logger): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const started = performance.now();
    c.set('log', {});
    try {
      await next();
    } finally {
      const status = c.res.status;
      const client = c.var.client;
      const { calls, reason, push, size, ...more } = c.var.log;
      const fields = {
        event: 'http.request',
        listener: client?.listener,
        ip: client?.ip,
        proxy: client?.viaProxy ? client.peer : undefined,
        method: c.req.method,
        path: c.req.path.length > 200 ? `${c.req.path.slice(0, 200)}…` : c.req.path,
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        user: c.var.user?.username,
        calls,
        reason,
        push,
        size,
        ...more,
      };
      if (status >= 500) logger.warn(fields, 'http.request');
      else logger.info(fields, 'http.request');
    }
  };
}

export function errorHandler(logger: Logger): ErrorHandler<HttpEnv> {
  return (err, c) => {
    logger.error({ event: 'http.error', method: c.req.method, path: c.req.path, err }, 'HTTP request failed');
    c.var.log.reason = 'server-error';
    return problemResponse(c, 500, 'The server could not answer this request.');
  };
}
