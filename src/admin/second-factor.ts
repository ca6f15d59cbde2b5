/**
 * The optional second factor of admin logins: TOTP (RFC 6238, HMAC-SHA-1, 6 digits, 30 s steps, what every
 * authenticator app takes). An account enrols (a new secret, shown once as an otpauth URI), confirms with a
 * first code, and from then on its admin logins need a code; each code is accepted once. A server admin may
 * remove another admin's factor (a lost phone); an account removes its own with a current code.
 */
import { Secret, TOTP } from 'otpauth';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { requireAccount } from './validate.ts';

const PERIOD_SECONDS = 30;

function totp(secret: string, label: string, issuer: string): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD_SECONDS, secret: Secret.fromBase32(secret) });
}

export function secondFactorService(ctx: AdminContext) {
  const { store, gate, settings, now } = ctx;

  async function own(principal: Principal, action: string) {
    const actor = await gate.actor(principal);
    if (principal.kind !== 'account') return gate.deny(actor, action, 'a second factor belongs to an account');
    return { actor, accountId: principal.accountId };
  }

  /**
   * The time step a code matches (RFC 6238 §5.2: one step either side allowed for clock drift), once: a code
   * already used, or one of an earlier step, is refused, so an observed code cannot be replayed.
   */
  async function accept(accountId: number, secret: string, code: string): Promise<boolean> {
    if (!/^\d{6}$/.test(code)) return false;
    const t = now().getTime();
    const delta = totp(secret, '', '').validate({ token: code, timestamp: t, window: 1 });
    if (delta === null) return false;
    const step = Math.floor(t / 1000 / PERIOD_SECONDS) + delta;
    return store.useSecondFactorStep(accountId, step);
  }

  return {
    async status(principal: Principal): Promise<{ enabled: boolean }> {
      const { accountId } = await own(principal, 'see their second factor');
      return { enabled: (await store.getSecondFactor(accountId))?.confirmed === true };
    },

    /** A new secret (replacing an unconfirmed one); refused while a confirmed factor exists. */
    async enrol(principal: Principal): Promise<{ secret: string; uri: string }> {
      const { actor, accountId } = await own(principal, 'enrol a second factor');
      gate.requireAdmin(actor, 'enrol a second factor');
      if ((await store.getSecondFactor(accountId))?.confirmed) throw new AdminError('conflict', 'a second factor is already set up; remove it first');
      const secret = new Secret({ size: 20 }).base32;
      await store.putSecondFactor({ accountId, secret, confirmed: false, lastStep: 0, createdAt: now() });
      gate.done(actor, 'start enrolling a second factor');
      return { secret, uri: totp(secret, actor.address ?? '', `Postamt ${settings.hostname}`).toString() };
    },

    /** The first code from the app: from now on admin logins need one. */
    async confirm(principal: Principal, code: string): Promise<{ enabled: true }> {
      const { actor, accountId } = await own(principal, 'confirm a second factor');
      const factor = await store.getSecondFactor(accountId);
      if (!factor) throw new AdminError('not-found', 'no second factor is being set up');
      if (factor.confirmed) throw new AdminError('conflict', 'the second factor is already confirmed');
      if (!(await accept(accountId, factor.secret, code))) gate.deny(actor, 'confirm a second factor', 'the code is wrong');
      await store.putSecondFactor({ ...factor, confirmed: true, lastStep: (await store.getSecondFactor(accountId))?.lastStep ?? 0 });
      gate.done(actor, 'confirm a second factor');
      return { enabled: true };
    },

    /** Own factor with a current code; another admin's as a server admin (no code). */
    async remove(principal: Principal, input: { code?: string; address?: string }): Promise<{ enabled: false }> {
      const actor = await gate.actor(principal);
      if (input.address !== undefined && input.address !== actor.address) {
        gate.requireServerAdmin(actor, `remove the second factor of ${input.address}`);
        const account = await requireAccount(store, input.address);
        if (!(await store.removeSecondFactor(account.id))) throw new AdminError('not-found', `${account.address} has no second factor`);
        gate.done(actor, `remove the second factor of ${account.address}`);
        return { enabled: false };
      }
      const { accountId } = await own(principal, 'remove their second factor');
      const factor = await store.getSecondFactor(accountId);
      if (!factor) throw new AdminError('not-found', 'no second factor is set up');
      if (factor.confirmed && !(await accept(accountId, factor.secret, input.code ?? ''))) gate.deny(actor, 'remove their second factor', 'the code is wrong');
      await store.removeSecondFactor(accountId);
      gate.done(actor, 'remove their second factor');
      return { enabled: false };
    },

    /** For the admin login: whether the account needs a code, and whether `code` is a fresh valid one. */
    async required(accountId: number): Promise<boolean> {
      return (await store.getSecondFactor(accountId))?.confirmed === true;
    },
    async verify(accountId: number, code: string): Promise<boolean> {
      const factor = await store.getSecondFactor(accountId);
      return factor?.confirmed === true && accept(accountId, factor.secret, code);
    },
  };
}

export type SecondFactorService = ReturnType<typeof secondFactorService>;
