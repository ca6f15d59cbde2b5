/**
 * Adding an alias or a catch-all, with the rules every admin path applies (the CLI today, an admin API
 * later): no alias on a user's address, no alias that points to itself, and none whose expansion would
 * loop or exceed the expansion limits, so mail to it could never reach a mailbox.
 */
import { UsageError } from '../core/errors.ts';
import { MAX_ALIAS_DEPTH, MAX_TARGETS, RecipientResolver } from '../delivery/recipients.ts';
import type { AccountStore, AliasRecord } from '../store/types.ts';

export interface AddAliasInput {
  /** `local@domain` or `@domain` (catch-all), lower-case domain. */
  address: string;
  targets: string[];
  /** As the server resolves postmaster@ (config `postmaster`, and `hostname`), so the check sees what delivery sees. */
  postmaster?: string | null;
  hostname?: string;
}

export interface AddAliasResult {
  alias: AliasRecord;
  /** Local targets that name no user, alias or catch-all yet: mail for them goes nowhere until they exist. */
  deadTargets: string[];
}

export async function addAlias(store: AccountStore, input: AddAliasInput): Promise<AddAliasResult> {
  const address = input.address.toLowerCase();
  const targets = [...new Set(input.targets.map((t) => t.toLowerCase()))];
  if (targets.length === 0) throw new UsageError(`alias ${address} needs at least one target`);
  if (targets.includes(address)) throw new UsageError(`alias ${address} may not point to itself`);
  if (!address.startsWith('@') && (await store.getAccount(address))) throw new UsageError(`${address} is a user; an alias cannot have the same address`);
  const resolver = new RecipientResolver({ accounts: store, domainCacheMs: 0, hostname: input.hostname, postmaster: input.postmaster ?? null });
  const { problem, deadTargets } = await resolver.checkAlias(address, targets);
  if (problem === 'loop') {
    throw new UsageError(`alias ${address} -> ${targets.join(', ')} would make a loop: a target leads back to ${address} (or into another loop); mail to it could never be delivered`);
  }
  if (problem === 'too-deep') throw new UsageError(`alias ${address} -> ${targets.join(', ')} would nest aliases more than ${MAX_ALIAS_DEPTH} deep`);
  if (problem === 'too-many-targets') throw new UsageError(`alias ${address} -> ${targets.join(', ')} would expand to more than ${MAX_TARGETS} addresses`);
  return { alias: await store.addAlias(address, targets), deadTargets };
}
