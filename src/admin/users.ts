/**
 * Accounts: add, list, show, remove, passwords, disable/enable, quotas, send-as grants, the server admin role
 * and a look at their mailboxes. Admins of an account's domain manage it; an account changes its own password.
 */
import type { AccountRecord, AdminRoles } from '../store/types.ts';
import { domainOf, type Actor, type Principal } from './access.ts';
import type { AdminContext, NewPassword } from './context.ts';
import { AdminError } from './errors.ts';
import { checkNewPassword } from './password-rules.ts';
import { parseAddress, parseDomain, requireLocalDomain } from './validate.ts';

export interface UserSummary {
  id: number;
  address: string;
  disabled: boolean;
  /** The account's own quota; null: the server default applies. */
  quotaBytes: number | null;
  /** What applies (0: unlimited). */
  effectiveQuotaBytes: number;
  sendAsDomains: string[];
  roles: AdminRoles;
  createdAt: Date;
}

export interface MailboxSummary {
  name: string;
  specialUse: string | null;
  messages: number;
  unseen: number;
  deleted: number;
  sizeBytes: number;
  uidValidity: number;
  uidNext: number;
}

const NO_ROLES: AdminRoles = { serverAdmin: false, domains: [] };

export function userService(ctx: AdminContext) {
  const { store, gate, settings, passwords } = ctx;

  const summary = (a: AccountRecord, roles: AdminRoles): UserSummary => ({
    id: a.id, address: a.address, disabled: a.disabled, quotaBytes: a.quotaBytes, effectiveQuotaBytes: a.quotaBytes ?? settings.quotaDefault,
    sendAsDomains: a.sendAsDomains, roles, createdAt: a.createdAt,
  });

  /** The account named by `email`, once `actor` may touch accounts of its domain (checked first: others' accounts are not even looked up). */
  async function target(actor: Actor, email: string, action: (address: string) => string, options: { self?: boolean } = {}): Promise<{ account: AccountRecord; roles: AdminRoles }> {
    const { address, domain } = parseAddress(email);
    if (options.self) gate.requireSelfOrDomain(actor, address, action(address));
    else gate.requireDomain(actor, domain, action(address));
    const account = await store.getAccount(address);
    if (!account) throw new AdminError('not-found', `no such user: ${email}`);
    const roles = await store.getAdminRoles(account.id);
    if (!(options.self && actor.address === account.address)) gate.requireOutranks(actor, { address: account.address, roles }, action(account.address));
    return { account, roles };
  }

  async function hashed(password: NewPassword, scramOptions: { iterations?: number; salt?: string }) {
    const clear = typeof password === 'string' ? password : await password();
    checkNewPassword(clear, settings.minPasswordLength);
    const [passwordHash, scram] = await Promise.all([passwords.hashPassword(clear), passwords.deriveScram(clear, scramOptions)]);
    return { passwordHash, scram };
  }

  return {
    /** Adds an account with its default mailboxes; `serverAdmin` makes it a server admin (only a server admin may). */
    async add(principal: Principal, input: { address: string; password: NewPassword; quotaBytes?: number | null; serverAdmin?: boolean }): Promise<UserSummary> {
      const { address, domain } = parseAddress(input.address);
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `add user ${address}`);
      if (input.serverAdmin) gate.requireServerAdmin(actor, `make ${address} a server admin`);
      if (input.quotaBytes != null && !(Number.isSafeInteger(input.quotaBytes) && input.quotaBytes >= 0)) throw new AdminError('invalid', 'the quota must be a whole number of bytes, 0 or more');
      await requireLocalDomain(store, domain);
      if (await store.getAccount(address)) throw new AdminError('conflict', `user ${address} already exists`);
      if (await store.getAlias(address)) throw new AdminError('conflict', `${address} is an alias; remove it first (postamt alias remove ${address})`);
      const credentials = await hashed(input.password, { iterations: settings.scramIterations });
      const account = await store.addAccount({ address, ...credentials, quotaBytes: input.quotaBytes ?? null });
      if (input.serverAdmin) await store.setServerAdmin(account.id, true);
      gate.done(actor, `add user ${address}${input.serverAdmin ? ' as a server admin' : ''}`);
      return summary(account, await store.getAdminRoles(account.id));
    },

    /** Accounts of one domain, or of every domain the actor administers. */
    async list(principal: Principal, domainText?: string): Promise<UserSummary[]> {
      const domain = domainText === undefined ? undefined : parseDomain(domainText);
      const actor = await gate.actor(principal);
      if (domain !== undefined) {
        gate.requireDomain(actor, domain, `list the users of ${domain}`);
        await requireLocalDomain(store, domain);
      } else {
        gate.requireAdmin(actor, 'list users');
      }
      const roles = new Map((await store.listAdmins()).map((a) => [a.accountId, { serverAdmin: a.serverAdmin, domains: a.domains }]));
      return (await store.listAccounts(domain))
        .filter((a) => gate.mayManageDomain(actor, domainOf(a.address)))
        .map((a) => summary(a, roles.get(a.id) ?? NO_ROLES));
    },

    /** One account with its usage; an account may look at itself. */
    async show(principal: Principal, email: string): Promise<UserSummary & { usage: { bytes: number; messages: number } }> {
      const actor = await gate.actor(principal);
      const { account, roles } = await target(actor, email, (a) => `see user ${a}`, { self: true });
      return { ...summary(account, roles), usage: await store.accountUsage(account.id) };
    },

    /** Removes the account with all its mail. */
    async remove(principal: Principal, email: string): Promise<string> {
      const actor = await gate.actor(principal);
      const { account } = await target(actor, email, (a) => `remove user ${a}`);
      await store.removeAccount(account.address);
      gate.done(actor, `remove user ${account.address}`);
      return account.address;
    },

    /**
     * Sets a new password; an account may set its own, giving its current one (so a stolen browser session
     * cannot take the account over). Its app passwords stay usable (same SCRAM salt and count).
     */
    async setPassword(principal: Principal, email: string, password: NewPassword, options: { currentPassword?: string } = {}): Promise<string> {
      const actor = await gate.actor(principal);
      const { account } = await target(actor, email, (a) => `set the password of ${a}`, { self: true });
      if (actor.address === account.address && !(options.currentPassword !== undefined && (await passwords.verifyPassword(account.passwordHash, options.currentPassword)))) {
        gate.deny(actor, `set the password of ${account.address}`, 'the current password was not given or is wrong');
      }
      // Keep the account's SCRAM salt and count: its app passwords were derived with them and must stay usable.
      const scramOptions = account.scram ? { salt: account.scram.salt, iterations: account.scram.iterations } : { iterations: settings.scramIterations };
      await store.updateAccount(account.address, await hashed(password, scramOptions));
      gate.done(actor, `set the password of ${account.address}`);
      return account.address;
    },

    /** Disabled accounts cannot log in (mail is still received). */
    async setDisabled(principal: Principal, email: string, disabled: boolean): Promise<string> {
      const actor = await gate.actor(principal);
      const { account } = await target(actor, email, (a) => `${disabled ? 'disable' : 'enable'} user ${a}`);
      await store.updateAccount(account.address, { disabled });
      gate.done(actor, `${disabled ? 'disable' : 'enable'} user ${account.address}`);
      return account.address;
    },

    /** null: the server default (storage.quota_default); 0: unlimited. */
    async setQuota(principal: Principal, email: string, quotaBytes: number | null): Promise<UserSummary> {
      if (quotaBytes !== null && !(Number.isSafeInteger(quotaBytes) && quotaBytes >= 0)) throw new AdminError('invalid', 'the quota must be a whole number of bytes, 0 or more');
      const actor = await gate.actor(principal);
      const { account, roles } = await target(actor, email, (a) => `set the quota of ${a}`);
      const updated = await store.updateAccount(account.address, { quotaBytes });
      gate.done(actor, `set the quota of ${account.address}`);
      return summary(updated ?? account, roles);
    },

    /** Lets the account send as any address of `domain`; the actor must administer both. */
    async grantSendAs(principal: Principal, email: string, domainText: string): Promise<{ address: string; domain: string }> {
      const domain = parseDomain(domainText);
      const actor = await gate.actor(principal);
      const { account } = await target(actor, email, (a) => `let ${a} send as @${domain}`);
      gate.requireDomain(actor, domain, `let ${account.address} send as @${domain}`);
      await requireLocalDomain(store, domain);
      await store.updateAccount(account.address, { sendAsDomains: [...new Set([...account.sendAsDomains, domain])].sort() });
      gate.done(actor, `let ${account.address} send as @${domain}`);
      return { address: account.address, domain };
    },

    async revokeSendAs(principal: Principal, email: string, domainText: string): Promise<{ address: string; domain: string }> {
      const domain = parseDomain(domainText);
      const actor = await gate.actor(principal);
      const { account } = await target(actor, email, (a) => `change the send-as grants of ${a}`);
      if (!account.sendAsDomains.includes(domain)) throw new AdminError('not-found', `${account.address} has no grant for ${domain}`);
      await store.updateAccount(account.address, { sendAsDomains: account.sendAsDomains.filter((d) => d !== domain) });
      gate.done(actor, `stop ${account.address} sending as @${domain}`);
      return { address: account.address, domain };
    },

    /** Makes an account a server admin or takes the role back (only a server admin may). */
    async setServerAdmin(principal: Principal, email: string, serverAdmin: boolean): Promise<string> {
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, `${serverAdmin ? 'grant' : 'revoke'} the server admin role`);
      const { account, roles } = await target(actor, email, (a) => `change the roles of ${a}`);
      if (roles.serverAdmin === serverAdmin) throw new AdminError('conflict', `${account.address} ${serverAdmin ? 'is already' : 'is not'} a server admin`);
      await store.setServerAdmin(account.id, serverAdmin);
      gate.done(actor, `${serverAdmin ? 'make' : 'no longer make'} ${account.address} a server admin`);
      return account.address;
    },

    /** The account's mailboxes with their counts; an account may look at its own. */
    async mailboxes(principal: Principal, email: string): Promise<MailboxSummary[]> {
      const actor = await gate.actor(principal);
      const { account } = await target(actor, email, (a) => `see the mailboxes of ${a}`, { self: true });
      const rows: MailboxSummary[] = [];
      for (const mailbox of await store.listMailboxes(account.id)) {
        rows.push({ name: mailbox.name, specialUse: mailbox.specialUse, ...(await store.counts(mailbox.id)), uidValidity: mailbox.uidValidity, uidNext: mailbox.uidNext });
      }
      return rows;
    },
  };
}

export type UserService = ReturnType<typeof userService>;
