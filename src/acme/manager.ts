/**
 * Obtains and renews the server's certificates from an ACME CA (RFC 8555) through acme-client: one account,
 * one order at a time per certificate, challenges answered by our own listeners, the result installed in the
 * TlsProvider (every listener uses it for new connections). Failures keep the old certificate and are retried
 * with a doubling backoff; the order under way is kept on disk so a restart resumes it.
 */
import { Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import * as acme from 'acme-client';
import type { Logger } from '../core/log.ts';
import type { TlsProvider } from '../transport/tls.ts';
import { AcmeFiles, type OrderStatus } from './files.ts';
import type { HttpChallenges } from './http-challenges.ts';
import { certificateFacts, sameNames, type CertificateFacts, type CertificateGroup } from './names.ts';

export type ChallengeType = 'http-01' | 'tls-alpn-01';

export interface AcmeSettings {
  directoryUrl: string;
  contact: string;
  termsAgreed: boolean;
  keyType: 'ecdsa' | 'rsa';
  /** In order of preference, already limited to the types our listeners can answer. */
  challenges: ChallengeType[];
  renewBeforeMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** PEM of the CAs trusted for the directory's HTTPS; null: the system's. */
  caPem: string | null;
}

export interface AcmeManagerOptions {
  settings: AcmeSettings;
  dataDir: string;
  tls: TlsProvider;
  http: HttpChallenges;
  /** The certificates wanted now (read again on refresh(): domains come and go). */
  groups: () => Promise<CertificateGroup[]>;
  logger: Logger;
}

/** setTimeout cannot wait longer than 2^31-1 ms; longer waits are checked again daily. */
const MAX_TIMER_MS = 24 * 3600_000;

class Stopped extends Error {}

interface Managed {
  group: CertificateGroup;
  facts: CertificateFacts | null;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

export class AcmeManager {
  private readonly options: AcmeManagerOptions;
  private readonly files: AcmeFiles;
  private readonly managed = new Map<string, Managed>();
  private client: acme.Client | null = null;
  private stopped = false;

  constructor(options: AcmeManagerOptions) {
    this.options = options;
    this.files = new AcmeFiles(options.dataDir);
    // acme-client talks through one shared axios instance: the trust for the directory is set on it.
    if (options.settings.caPem) acme.axios.defaults.httpsAgent = new Agent({ ca: options.settings.caPem, keepAlive: false });
  }

  /** Installs the certificates already on disk, then orders what is missing or due (in the background). */
  async start(): Promise<void> {
    await this.refresh();
  }

  /** Reads the wanted certificates again (a domain was added or removed) and schedules each. */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    const groups = await this.options.groups();
    const wanted = new Set(groups.map((g) => g.id));
    for (const [id, m] of this.managed) {
      if (!wanted.has(id)) {
        if (m.timer) clearTimeout(m.timer);
        this.managed.delete(id);
      }
    }
    for (const group of groups) {
      const known = this.managed.get(group.id);
      if (known && sameNames(known.group.names, group.names)) continue;
      const m: Managed = known ?? { group, facts: null, timer: null, running: null };
      m.group = group;
      if (!known) {
        m.facts = this.installStored(group);
        this.managed.set(group.id, m);
      }
      this.schedule(m, this.firstAttemptAt(m));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const m of this.managed.values()) if (m.timer) clearTimeout(m.timer);
    // An order under way stops at its next step; what it stored lets the next start resume it.
    await Promise.all([...this.managed.values()].map((m) => m.running?.catch(() => undefined)));
  }

  /** Expiry and names of the certificate in use for `id`, if one was obtained. */
  certificate(id: string): CertificateFacts | null {
    return this.managed.get(id)?.facts ?? null;
  }

  private installStored(group: CertificateGroup): CertificateFacts | null {
    const stored = this.files.certificate(group.id);
    if (!stored) return null;
    try {
      const facts = certificateFacts(stored.cert);
      this.options.tls.installCertificate(group.id, { names: facts.names, cert: stored.cert, key: stored.key, isDefault: group.isDefault });
      this.options.logger.info({ event: 'acme.certificate_loaded', certificate: group.id, names: facts.names, notAfter: facts.notAfter.toISOString(), serial: facts.serial }, 'ACME certificate loaded');
      return facts;
    } catch (err) {
      this.options.logger.warn({ event: 'acme.certificate_unusable', certificate: group.id, err }, 'the stored ACME certificate cannot be used; ordering a new one');
      return null;
    }
  }

  /** When to order: now if nothing usable is installed or an order is under way, else before expiry, never inside a backoff. */
  private firstAttemptAt(m: Managed): number {
    const now = Date.now();
    const pending = this.files.pendingOrder(m.group.id);
    if (pending && sameNames(pending.names, m.group.names)) return now;
    const status = this.files.status(m.group.id);
    const backoff = status && sameNames(status.names, m.group.names) && status.notBefore ? Date.parse(status.notBefore) : 0;
    const covers = m.facts !== null && m.group.names.every((n) => m.facts!.names.includes(n));
    const due = covers ? m.facts!.notAfter.getTime() - this.options.settings.renewBeforeMs : now;
    return Math.max(due, backoff);
  }

  private schedule(m: Managed, at: number): void {
    if (this.stopped) return;
    if (m.timer) clearTimeout(m.timer);
    const delay = Math.max(0, at - Date.now());
    m.timer = setTimeout(() => {
      m.timer = null;
      if (Date.now() < at) return this.schedule(m, at);
      this.run(m);
    }, Math.min(delay, MAX_TIMER_MS));
    m.timer.unref();
  }

  private run(m: Managed): void {
    if (this.stopped || m.running) return;
    const group = m.group;
    m.running = this.obtain(group).then(
      (facts) => {
        m.running = null;
        if (this.stopped) return;
        m.facts = facts;
        const s = this.options.settings;
        const notBefore = Date.now() + s.retryMinMs;
        this.files.saveStatus(group.id, { names: group.names, failures: 0, notBefore: new Date(notBefore).toISOString(), lastError: null });
        // Never two orders for the same names closer than retry_min, even when renew_before exceeds the lifetime.
        this.schedule(m, Math.max(facts.notAfter.getTime() - s.renewBeforeMs, notBefore));
        if (!sameNames(group.names, m.group.names)) this.schedule(m, Date.now());
      },
      (err: unknown) => {
        m.running = null;
        if (this.stopped || err instanceof Stopped) return;
        const s = this.options.settings;
        const previous = this.files.status(group.id);
        const failures = (previous && sameNames(previous.names, group.names) ? previous.failures : 0) + 1;
        const retryInMs = Math.min(s.retryMaxMs, s.retryMinMs * 2 ** Math.min(failures - 1, 30));
        const status: OrderStatus = { names: group.names, failures, notBefore: new Date(Date.now() + retryInMs).toISOString(), lastError: errorText(err) };
        this.files.saveStatus(group.id, status);
        this.options.logger.error(
          { event: 'acme.order_failed', certificate: group.id, names: group.names, failures, retryInMs, keptCertificate: m.facts ? m.facts.serial : null, err },
          `obtaining the certificate for ${group.names.join(', ')} failed; ${m.facts ? 'the current one stays in use; ' : ''}next try in ${Math.round(retryInMs / 1000)} s`,
        );
        this.schedule(m, Date.now() + retryInMs);
      },
    );
  }

  private check(): void {
    if (this.stopped) throw new Stopped('stopped');
  }

  private async account(): Promise<acme.Client> {
    if (this.client) return this.client;
    const s = this.options.settings;
    let key = this.files.accountKey();
    if (!key) {
      key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      this.files.saveAccountKey(key);
    }
    // Polling of challenges and orders: 1 s doubling to 10 s, ten times (RFC 8555 §7.5.1 leaves the pace to the client).
    const client = new acme.Client({ directoryUrl: s.directoryUrl, accountKey: key, backoffAttempts: 10, backoffMin: 1000, backoffMax: 10_000 });
    // RFC 8555 §7.3: newAccount with an existing key returns that account, so this is also the lookup.
    await client.createAccount({ termsOfServiceAgreed: s.termsAgreed, contact: s.contact ? [`mailto:${s.contact}`] : [] });
    this.check();
    const url = client.getAccountUrl();
    this.files.saveAccount({ url, directoryUrl: s.directoryUrl, contact: s.contact });
    this.options.logger.info({ event: 'acme.account_ready', directory: s.directoryUrl, account: url }, 'ACME account ready');
    this.client = client;
    return client;
  }

  private async obtain(group: CertificateGroup): Promise<CertificateFacts> {
    const { logger } = this.options;
    let client: acme.Client;
    try {
      client = await this.account();
    } catch (err) {
      this.client = null;
      throw err;
    }
    this.check();
    let order = await this.resumeOrder(client, group);
    if (!order) {
      order = await client.createOrder({ identifiers: group.names.map((value) => ({ type: 'dns', value })) });
      this.files.savePendingOrder(group.id, { url: order.url, names: group.names, createdAt: new Date().toISOString() });
      logger.info({ event: 'acme.order_created', certificate: group.id, names: group.names, order: order.url }, 'ACME order created');
    }
    this.check();
    if (order.status === 'pending') {
      for (const authz of await client.getAuthorizations(order)) {
        this.check();
        await this.authorize(client, group, authz);
      }
      order = await this.settled(client, order);
    }
    this.check();
    if (order.status === 'ready') {
      let key = this.files.orderKey(group.id);
      if (!key) {
        key = (this.options.settings.keyType === 'rsa' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
        this.files.saveOrderKey(group.id, key);
      }
      const [, csr] = await acme.crypto.createCsr({ commonName: group.names[0], altNames: group.names }, key);
      this.check();
      order = await client.finalizeOrder(order, csr);
    }
    if (order.status === 'processing') order = await this.settled(client, order);
    if (order.status !== 'valid') {
      this.files.dropPendingOrder(group.id);
      throw new Error(`the order for ${group.names.join(', ')} is ${order.status}`);
    }
    const key = this.files.orderKey(group.id);
    if (!key) {
      // Finalized by a run whose key was lost: the certificate is of no use without it.
      this.files.dropPendingOrder(group.id);
      throw new Error('the key of the finalized order is missing; a new order follows');
    }
    const cert = await client.getCertificate(order);
    this.check();
    const facts = certificateFacts(cert);
    this.options.tls.installCertificate(group.id, { names: facts.names, cert, key, isDefault: group.isDefault });
    this.files.saveCertificate(group.id, { cert, key });
    logger.info({ event: 'acme.certificate_obtained', certificate: group.id, names: facts.names, notAfter: facts.notAfter.toISOString(), serial: facts.serial, order: order.url }, `certificate for ${facts.names.join(', ')} obtained; every listener uses it now`);
    return facts;
  }

  /** Polls the order until it is ready or valid (acme-client returns it without its url, which is put back). */
  private async settled(client: acme.Client, order: acme.Order): Promise<acme.Order> {
    return { ...(await client.waitForValidStatus(order)), url: order.url };
  }

  /** The stored order for these names, when the CA still has it and it can still succeed. */
  private async resumeOrder(client: acme.Client, group: CertificateGroup): Promise<acme.Order | null> {
    const pending = this.files.pendingOrder(group.id);
    if (!pending) return null;
    if (!sameNames(pending.names, group.names)) {
      this.files.dropPendingOrder(group.id);
      return null;
    }
    try {
      // The order object read back carries no url of its own (acme-client takes it from the Location of newOrder).
      const order: acme.Order = { ...(await client.getOrder({ url: pending.url } as acme.Order)), url: pending.url };
      this.options.logger.info({ event: 'acme.order_resumed', certificate: group.id, names: group.names, order: pending.url, status: order.status }, `resuming the ACME order for ${group.names.join(', ')} (${order.status})`);
      if (order.status === 'invalid') {
        this.files.dropPendingOrder(group.id);
        return null;
      }
      return order;
    } catch (err) {
      this.check();
      this.options.logger.warn({ event: 'acme.order_resume_failed', certificate: group.id, order: pending.url, err }, 'the stored ACME order cannot be read; starting a new one');
      this.files.dropPendingOrder(group.id);
      return null;
    }
  }

  private async authorize(client: acme.Client, group: CertificateGroup, authz: acme.Authorization): Promise<void> {
    const name = authz.identifier.value;
    if (authz.status === 'valid') return;
    if (authz.status !== 'pending') {
      this.files.dropPendingOrder(group.id);
      throw new Error(`the authorization for ${name} is ${authz.status}`);
    }
    const offered: string[] = authz.challenges.map((c) => c.type);
    const type = this.options.settings.challenges.find((t) => offered.includes(t));
    const challenge = authz.challenges.find((c) => (c.type as string) === type);
    if (!challenge || !type) throw new Error(`no challenge for ${name} that this server can answer: the CA offers ${offered.join(', ')}`);
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    const token = (challenge as { token: string }).token;
    if (type === 'http-01') this.options.http.set(token, keyAuthorization);
    else {
      // RFC 8737 §3: a self-signed certificate for the name with the acmeIdentifier extension.
      const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
      this.options.tls.setAlpnChallenge(name, cert.toString(), key.toString());
    }
    try {
      this.check();
      if (challenge.status === 'pending') await client.completeChallenge(challenge);
      this.options.logger.info({ event: 'acme.challenge_submitted', certificate: group.id, name, type }, `ACME ${type} challenge for ${name} submitted`);
      await client.waitForValidStatus(challenge);
    } catch (err) {
      if (err instanceof Stopped || this.stopped) throw err;
      // The authorization, and with it the order, is invalid now (RFC 8555 §7.1.6): the next try orders anew.
      this.files.dropPendingOrder(group.id);
      throw new Error(`${type} challenge for ${name} failed: ${errorText(err)}`, { cause: err });
    } finally {
      if (type === 'http-01') this.options.http.remove(token);
      else this.options.tls.clearAlpnChallenge(name);
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The trust for the directory's HTTPS, from `acme.ca_file`. */
export function readCaFile(path: string | null): string | null {
  return path ? readFileSync(path, 'utf8') : null;
}
