/**
 * DKIM signing keys per domain (RFC 6376, RFC 8463): generate, activate, list, retire and rotate, by the
 * admins of the domain. A new key is pending: it signs once activated, by hand or by the server when it
 * sees the record in DNS. Rotating makes new pending keys; the old ones sign until the new are active.
 */
import { dkimRecordText, formatTxt, generateDkimKey } from '../policy/dkim-sign.ts';
import type { DkimAlgorithm, DkimKey } from '../policy/types.ts';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { parseDomain } from './validate.ts';

export type DkimKeyState = 'signing' | 'pending' | 'superseded' | 'retired';

export interface DkimKeySummary {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  createdAt: Date;
  state: DkimKeyState;
  /** The DNS record to publish, as a zone file line. */
  record: string;
}

/** Default selector: the date and the algorithm, so that a rotation never reuses one ("20261123r"). */
export function defaultSelector(algorithm: DkimAlgorithm, now: Date = new Date()): string {
  return now.toISOString().slice(0, 10).replace(/-/g, '') + (algorithm === 'ed25519' ? 'e' : 'r');
}

export function dkimRecordLine(key: DkimKey): string {
  return `${key.selector}._domainkey.${key.domain}. IN TXT ${formatTxt(dkimRecordText(key))}`;
}

export function dkimService(ctx: AdminContext) {
  const { dkimKeys, gate, now } = ctx;

  async function generateFor(domain: string, algorithms: DkimAlgorithm[], options: { selector?: string; active?: boolean }): Promise<DkimKey[]> {
    const made: DkimKey[] = [];
    for (const algorithm of algorithms) {
      const selector = (options.selector ?? defaultSelector(algorithm, now())).toLowerCase();
      const generated = generateDkimKey(algorithm);
      made.push(await dkimKeys.addKey(domain, selector, algorithm, generated.privateKeyPem, generated.publicKeyB64, { pending: options.active !== true }));
    }
    return made;
  }

  return {
    /**
     * New keys for a domain: `both` (the default without a selector) makes an RSA and an Ed25519 key;
     * receivers that know Ed25519 (RFC 8463) verify that signature, the others the RSA one (RFC 8463 §5 advises both).
     */
    async generate(principal: Principal, input: { domain: string; algorithm?: DkimAlgorithm | 'both'; selector?: string; active?: boolean }): Promise<DkimKey[]> {
      const domain = parseDomain(input.domain);
      const choice = input.algorithm ?? (input.selector ? 'rsa' : 'both');
      if (choice !== 'rsa' && choice !== 'ed25519' && choice !== 'both') throw new AdminError('invalid', `--algorithm must be rsa, ed25519 or both, not ${JSON.stringify(choice)}`);
      if (choice === 'both' && input.selector) throw new AdminError('invalid', '--selector names one key: give --algorithm rsa or ed25519 with it');
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `make DKIM keys for ${domain}`);
      const made = await generateFor(domain, choice === 'both' ? ['rsa', 'ed25519'] : [choice], input);
      gate.done(actor, `make DKIM keys ${made.map((k) => k.selector).join(', ')} for ${domain}`);
      return made;
    },

    /** New pending keys of the algorithms that sign for the domain now (both when none does). */
    async rotate(principal: Principal, domainText: string): Promise<DkimKey[]> {
      const domain = parseDomain(domainText);
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `rotate the DKIM keys of ${domain}`);
      const signing = (await dkimKeys.activeKeys(domain)).map((k) => k.algorithm);
      const algorithms: DkimAlgorithm[] = signing.length > 0 ? signing : ['rsa', 'ed25519'];
      const today = algorithms.map((a) => defaultSelector(a, now()));
      if ((await dkimKeys.listKeys(domain)).some((k) => today.includes(k.selector))) {
        throw new AdminError('conflict', `${domain} already has a key made today (${today.join(', ')}); activate it, or give a selector with: postamt dkim generate ${domain} --selector NAME`);
      }
      const made = await generateFor(domain, algorithms, {});
      gate.done(actor, `rotate the DKIM keys of ${domain}: new ${made.map((k) => k.selector).join(', ')}`);
      return made;
    },

    /** Starts signing with pending keys (once their DNS records are published); returns them in the order given. */
    async activate(principal: Principal, domainText: string, selectors: string[]): Promise<DkimKey[]> {
      const domain = parseDomain(domainText);
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `activate DKIM keys of ${domain}`);
      const keys = await dkimKeys.listKeys(domain);
      const activated: DkimKey[] = [];
      for (const selector of selectors.map((s) => s.toLowerCase())) {
        const key = keys.find((k) => k.selector === selector);
        if (!key) throw new AdminError('not-found', `no DKIM key ${selector} for ${domain} (see postamt dkim list ${domain})`);
        if (!key.active) throw new AdminError('conflict', `DKIM key ${selector} for ${domain} is retired`);
        await dkimKeys.setActive(domain, selector, true);
        gate.done(actor, `activate DKIM key ${selector} of ${domain}`);
        activated.push(key);
      }
      return activated;
    },

    /** Keys (newest first) of one domain or of every domain the actor administers; the newest active key of each algorithm signs. */
    async list(principal: Principal, domainText?: string): Promise<DkimKeySummary[]> {
      const domain = domainText === undefined ? undefined : parseDomain(domainText);
      const actor = await gate.actor(principal);
      if (domain !== undefined) gate.requireDomain(actor, domain, `list the DKIM keys of ${domain}`);
      else gate.requireAdmin(actor, 'list DKIM keys');
      const keys = (await dkimKeys.listKeys(domain)).filter((k) => gate.mayManageDomain(actor, k.domain));
      const signing = new Set<string>();
      for (const d of new Set(keys.map((k) => k.domain))) for (const k of await dkimKeys.activeKeys(d)) signing.add(`${k.domain}/${k.selector}`);
      return keys.map((k) => ({
        domain: k.domain, selector: k.selector, algorithm: k.algorithm, createdAt: k.createdAt,
        state: signing.has(`${k.domain}/${k.selector}`) ? 'signing' : !k.active ? 'retired' : k.pending ? 'pending' : 'superseded',
        record: dkimRecordLine(k),
      }));
    },

    /** Stops signing with a key (keep its DNS record until mail signed with it has been delivered). */
    async retire(principal: Principal, domainText: string, selector: string): Promise<string> {
      const domain = parseDomain(domainText);
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `retire DKIM keys of ${domain}`);
      if (!(await dkimKeys.setActive(domain, selector, false))) throw new AdminError('not-found', `no DKIM key ${selector} for ${domainText}`);
      gate.done(actor, `retire DKIM key ${selector} of ${domain}`);
      return domain;
    },
  };
}

export type DkimService = ReturnType<typeof dkimService>;
