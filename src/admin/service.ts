/**
 * The administration service: domains and their DNS records, users, aliases, app passwords, DKIM keys, queue
 * and suppression actions, run-time policy, API tokens, second factors and the dashboard. Each call takes the
 * acting principal and checks its roles here, so that the CLI, the admin UI and the admin API share one set
 * of rules (docs/architecture.md, "Administration").
 */
import { silentLogger } from '../core/log.ts';
import { Gate, type Principal } from './access.ts';
import { aliasService } from './aliases.ts';
import { apiTokenService } from './api-tokens.ts';
import { appPasswordService } from './app-passwords.ts';
import type { AdminContext, AdminDeps } from './context.ts';
import { dashboardService } from './dashboard.ts';
import { dkimService } from './dkim.ts';
import { dnsService } from './dns.ts';
import { domainService } from './domains.ts';
import { policyService } from './policy.ts';
import { secondFactorService } from './second-factor.ts';
import { traceAdminService } from './trace.ts';
import { queueService } from './queue.ts';
import { suppressionService } from './suppressions.ts';
import { userService } from './users.ts';
import { reportService } from './reports.ts';

export function createAdminService(deps: AdminDeps) {
  const logger = deps.logger ?? silentLogger();
  const ctx: AdminContext = {
    store: deps.store,
    dkimKeys: deps.dkimKeys,
    passwords: deps.passwords,
    settings: deps.settings,
    logger,
    now: deps.now ?? (() => new Date()),
    gate: new Gate({ store: deps.store, logger }),
    resolver: deps.resolver ?? null,
    tokens: deps.tokens ?? null,
    applyPolicy: deps.applyPolicy ?? null,
    kickQueue: deps.kickQueue ?? (() => undefined),
  };
  return {
    /** Who the principal is as an admin: refused for accounts that administer nothing. */
    async whoami(principal: Principal): Promise<{ address: string | null; serverAdmin: boolean; domains: string[] }> {
      const actor = await ctx.gate.actor(principal);
      ctx.gate.requireAdmin(actor, 'use the administration');
      return { address: actor.address, serverAdmin: actor.serverAdmin, domains: [...actor.domains].sort() };
    },
    domains: domainService(ctx),
    users: userService(ctx),
    aliases: aliasService(ctx),
    appPasswords: appPasswordService(ctx),
    dkim: dkimService(ctx),
    queue: queueService(ctx),
    suppressions: suppressionService(ctx),
    dns: dnsService(ctx),
    policy: policyService(ctx),
    apiTokens: apiTokenService(ctx),
    secondFactor: secondFactorService(ctx),
    dashboard: dashboardService({ ...ctx, facts: deps.facts ?? null }),
    trace: traceAdminService(ctx),
    reports: reportService({ ...ctx, mail: deps.mail ?? null }),
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
