/**
 * The administration service: domains, users, aliases, app passwords, DKIM keys, queue and suppression
 * actions, each call taking the acting principal and checking its roles here, so that the CLI, the admin UI
 * and the admin API share one set of rules (docs/architecture.md, "Administration").
 */
import { silentLogger } from '../core/log.ts';
import { Gate } from './access.ts';
import { aliasService } from './aliases.ts';
import { appPasswordService } from './app-passwords.ts';
import type { AdminContext, AdminDeps } from './context.ts';
import { dkimService } from './dkim.ts';
import { domainService } from './domains.ts';
import { queueService } from './queue.ts';
import { suppressionService } from './suppressions.ts';
import { userService } from './users.ts';

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
  };
  return {
    domains: domainService(ctx),
    users: userService(ctx),
    aliases: aliasService(ctx),
    appPasswords: appPasswordService(ctx),
    dkim: dkimService(ctx),
    queue: queueService(ctx),
    suppressions: suppressionService(ctx),
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
