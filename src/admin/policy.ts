/**
 * Inbound policy settings changed at run time by a server admin: greylisting, DNS block and allow lists, rate
 * limits and spam thresholds. Each value is checked by the config schema's own field (one rule for the file and
 * for the API), kept in the store as an override of the file, and applied to the running policy at once; the
 * other `[policy]` keys are read at start only, and the answer says so.
 */
import { schema, type Config } from '../config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';

/** The store key of the overrides (code form, camelCase keys). */
export const POLICY_SETTING = 'policy';

type PolicyKey = keyof Config['policy'];

/** What the running policy can take without a restart (app/live-policy.ts applies them). */
export const LIVE_POLICY_KEYS = [
  'greylisting', 'greylistDelay', 'greylistRetryWindow', 'greylistWhitelist', 'dnsblZones', 'dnsblScore', 'dnswlZones', 'dnsTimeout',
  'rateConnectionsPerIp', 'rateConnectionsPerNetwork', 'rateMessagesPerIp', 'rateMessagesPerNetwork', 'fcrdns', 'heloChecks',
  'spamJunkScore', 'spamRejectScore', 'spfRejectFail', 'dmarcEnforce',
] as const satisfies readonly PolicyKey[];

/** Changing these needs a restart: they are taken when the listeners and SRS are built; set them in the file. */
export const RESTART_POLICY_KEYS = ['trustedNetworks', 'srs', 'arcSeal'] as const satisfies readonly PolicyKey[];

export type LivePolicyKey = (typeof LIVE_POLICY_KEYS)[number];
export type PolicyOverrides = Partial<Pick<Config['policy'], LivePolicyKey>>;

export interface PolicySetting {
  /** The TOML key in `[policy]`. */
  key: string;
  type: string;
  doc: string;
  /** What applies now (durations in milliseconds, as everywhere in the API). */
  value: unknown;
  /** What the config file (or the default) says. */
  fileValue: unknown;
  /** Set at run time, overriding the file. */
  overridden: boolean;
  /** False: only the config file sets it, and a change needs a restart. */
  live: boolean;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The stored overrides, keeping only keys that can still be set at run time. */
export function parseOverrides(text: string | null): PolicyOverrides {
  if (!text) return {};
  // JSON has no infinity: spam_reject_score = inf is kept as the string "inf".
  const raw = JSON.parse(text, (_k, v: unknown) => (v === 'inf' ? Infinity : v)) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(raw).filter(([k]) => (LIVE_POLICY_KEYS as readonly string[]).includes(k))) as PolicyOverrides;
}

/** `[policy]` of the file with the run-time overrides over it. */
export function effectivePolicy(file: Config['policy'], overrides: PolicyOverrides): Config['policy'] {
  return { ...file, ...overrides };
}

export function policyService(ctx: AdminContext) {
  const { store, gate, settings } = ctx;
  const fields = schema.policy.fields as Record<string, (typeof schema.policy.fields)[PolicyKey]>;

  async function overrides(): Promise<PolicyOverrides> {
    return parseOverrides(await store.getSetting(POLICY_SETTING));
  }

  function describe(current: PolicyOverrides): PolicySetting[] {
    const effective = effectivePolicy(settings.policy, current);
    return [...LIVE_POLICY_KEYS, ...RESTART_POLICY_KEYS].map((key) => ({
      key: snake(key), type: fields[key]!.type, doc: fields[key]!.doc,
      value: effective[key], fileValue: settings.policy[key], overridden: key in current,
      live: (LIVE_POLICY_KEYS as readonly string[]).includes(key),
    }));
  }

  return {
    async get(principal: Principal): Promise<PolicySetting[]> {
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, 'see the policy settings');
      return describe(await overrides());
    },

    /**
     * Sets run-time values (TOML form: `"10m"`, `["zen.spamhaus.org"]`, `12.5`); null drops the override and
     * the file's value applies again. All or nothing: one bad value changes nothing.
     */
    async set(principal: Principal, changes: Record<string, unknown>): Promise<{ settings: PolicySetting[]; applied: boolean }> {
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, 'change the policy settings');
      const next: Record<string, unknown> = { ...(await overrides()) };
      for (const [tomlKey, value] of Object.entries(changes)) {
        const key = camel(tomlKey);
        if ((RESTART_POLICY_KEYS as readonly string[]).includes(key)) throw new AdminError('invalid', `policy.${tomlKey} is read at start only: set it in the config file and restart the server`);
        if (!(LIVE_POLICY_KEYS as readonly string[]).includes(key)) throw new AdminError('invalid', `policy.${tomlKey} is not a setting that can be changed at run time`);
        if (value === null) {
          delete next[key];
          continue;
        }
        try {
          next[key] = fields[key]!.fromToml(value, { baseDir: settings.dataDir });
        } catch (err) {
          throw new AdminError('invalid', `policy.${tomlKey}: ${errorMessage(err)}`);
        }
      }
      await store.setSetting(POLICY_SETTING, Object.keys(next).length === 0 ? null : JSON.stringify(next, (_k, v: unknown) => (v === Infinity ? 'inf' : v)));
      const current = next as PolicyOverrides;
      ctx.applyPolicy?.(effectivePolicy(settings.policy, current));
      gate.done(actor, `set policy ${Object.keys(changes).map((k) => `${k}=${JSON.stringify(changes[k])}`).join(', ')}`);
      return { settings: describe(current), applied: ctx.applyPolicy !== null };
    },
  };
}

export type PolicyService = ReturnType<typeof policyService>;
