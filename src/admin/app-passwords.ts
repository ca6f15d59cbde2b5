/**
 * App passwords: extra passwords per account, one per device, each revocable. An account manages its own;
 * the admins of its domain manage them too. The generated password is returned once, never stored in clear.
 */
import { appPasswordTag, generateAppPassword } from '../accounts/app-passwords.ts';
import type { AppPasswordRecord } from '../store/types.ts';
import type { Actor, Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { parseAddress } from './validate.ts';

export function appPasswordService(ctx: AdminContext) {
  const { store, gate, settings, passwords } = ctx;

  async function owner(actor: Actor, email: string, action: (address: string) => string) {
    const { address } = parseAddress(email);
    gate.requireSelfOrDomain(actor, address, action(address));
    const account = await store.getAccount(address);
    if (!account) throw new AdminError('not-found', `no such user: ${email}`);
    if (actor.address !== account.address) gate.requireOutranks(actor, { address: account.address, roles: await store.getAdminRoles(account.id) }, action(account.address));
    return account;
  }

  return {
    /** Generates an app password; `password` is shown to the user once. */
    async add(principal: Principal, email: string, labelText: string): Promise<{ address: string; record: AppPasswordRecord; password: string }> {
      const label = labelText.trim();
      if (label === '' || labelText.length > 100) throw new AdminError('invalid', 'the label must be 1 to 100 characters');
      const actor = await gate.actor(principal);
      const account = await owner(actor, email, (a) => `add app passwords of ${a}`);
      const password = generateAppPassword();
      // SCRAM sends one salt per user: an app password works with SCRAM only with the account's salt and count.
      const scramOptions = account.scram ? { salt: account.scram.salt, iterations: account.scram.iterations } : { iterations: settings.scramIterations };
      const [passwordHash, scram] = await Promise.all([passwords.hashPassword(password), passwords.deriveScram(password, scramOptions)]);
      const record = await store.addAppPassword({ accountId: account.id, label, passwordHash, scram, lookupTag: appPasswordTag(password) });
      gate.done(actor, `add app password ${record.id} (${label}) of ${account.address}`);
      return { address: account.address, record, password };
    },

    async list(principal: Principal, email: string): Promise<{ address: string; passwords: AppPasswordRecord[] }> {
      const actor = await gate.actor(principal);
      const account = await owner(actor, email, (a) => `see the app passwords of ${a}`);
      return { address: account.address, passwords: await store.listAppPasswords(account.id) };
    },

    async remove(principal: Principal, email: string, id: number): Promise<string> {
      const actor = await gate.actor(principal);
      const account = await owner(actor, email, (a) => `remove app passwords of ${a}`);
      if (!(await store.removeAppPassword(account.id, id))) throw new AdminError('not-found', `${account.address} has no app password ${id}`);
      gate.done(actor, `remove app password ${id} of ${account.address}`);
      return account.address;
    },
  };
}

export type AppPasswordService = ReturnType<typeof appPasswordService>;

