/**
 * TLS for every listener: the certificate and key from `[tls]` (or a self-signed pair made in data_dir at
 * first start), per-domain certificates chosen by SNI, TLS 1.2 and 1.3 only with modern ciphers, and
 * reloading without restart (on SIGHUP or when the files change); open connections keep their context.
 * Certificates obtained by ACME are installed here at run time (the default one and per-name ones), as are the
 * short-lived RFC 8737 certificates that answer TLS-ALPN-01 challenges.
 */
import { existsSync, mkdirSync, readFileSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Logger } from '../core/log.ts';
import { coversLocalNames, makeSelfSignedCertificate } from './self-signed.ts';

/** Mozilla "intermediate" TLS 1.2 suites (TLS 1.3 suites are always on). */
const CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface TlsProviderOptions {
  /** Configured files; null makes (or reuses) the self-signed pair in `dataDir/tls/`. */
  files: CertificateFiles | null;
  sni?: Record<string, CertificateFiles>;
  dataDir: string;
  hostname: string;
  logger: Logger;
}

export class TlsProvider {
  private readonly options: TlsProviderOptions;
  private readonly files: CertificateFiles;
  private fileContext!: tls.SecureContext;
  private filePem = '';
  private sniContexts = new Map<string, tls.SecureContext>();
  /** Installed at run time (ACME), by id: the default certificate or the one for some names. */
  private managed = new Map<string, { names: string[]; context: tls.SecureContext; pem: string; isDefault: boolean }>();
  private managedByName = new Map<string, tls.SecureContext>();
  private managedDefault: { context: tls.SecureContext; pem: string } | null = null;
  private alpnChallenges = new Map<string, tls.SecureContext>();
  private watched: string[] = [];

  constructor(options: TlsProviderOptions) {
    this.options = options;
    this.files = options.files ?? ensureSelfSigned(options.dataDir, options.hostname, options.logger);
    this.load();
  }

  private load(): void {
    const cert = readFileSync(this.files.cert, 'utf8');
    const key = readFileSync(this.files.key, 'utf8');
    const context = createContext(cert, key);
    const sni = new Map<string, tls.SecureContext>();
    for (const [domain, files] of Object.entries(this.options.sni ?? {})) {
      sni.set(domain.toLowerCase(), createContext(readFileSync(files.cert, 'utf8'), readFileSync(files.key, 'utf8')));
    }
    // Swap only when everything loaded: a half-written file keeps the old certificate in use.
    this.fileContext = context;
    this.sniContexts = sni;
    this.filePem = cert;
  }

  /** The PEM of the default certificate (tests trust it). */
  get certificatePem(): string {
    return this.managedDefault?.pem ?? this.filePem;
  }

  private get defaultContext(): tls.SecureContext {
    return this.managedDefault?.context ?? this.fileContext;
  }

  /**
   * Installs (or replaces) a certificate obtained at run time: the default one, or the one for `names`.
   * New handshakes on every listener use it at once; open connections keep theirs. Throws on a bad pair.
   */
  installCertificate(id: string, options: { names: string[]; cert: string; key: string; isDefault: boolean }): void {
    const context = createContext(options.cert, options.key);
    this.managed.set(id, { names: options.names.map((n) => n.toLowerCase()), context, pem: options.cert, isDefault: options.isDefault });
    const byName = new Map<string, tls.SecureContext>();
    let managedDefault: { context: tls.SecureContext; pem: string } | null = null;
    for (const entry of this.managed.values()) {
      if (entry.isDefault) managedDefault = { context: entry.context, pem: entry.pem };
      for (const name of entry.names) byName.set(name, entry.context);
    }
    this.managedByName = byName;
    this.managedDefault = managedDefault;
  }

  /** RFC 8737 §3: the certificate that answers a TLS-ALPN-01 challenge for `name` while it is pending. */
  setAlpnChallenge(name: string, cert: string, key: string): void {
    this.alpnChallenges.set(name.toLowerCase(), tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' }));
  }

  clearAlpnChallenge(name: string): void {
    this.alpnChallenges.delete(name.toLowerCase());
  }

  hasAlpnChallenges(): boolean {
    return this.alpnChallenges.size > 0;
  }

  alpnChallengeContext(name: string): tls.SecureContext | null {
    return this.alpnChallenges.get(name.toLowerCase()) ?? null;
  }

  /** Re-reads every file; on error keeps the previous certificates and logs. */
  reload(): boolean {
    try {
      this.load();
      this.options.logger.info({ event: 'tls.reloaded', cert: this.files.cert }, 'TLS certificates reloaded');
      return true;
    } catch (err) {
      this.options.logger.error({ event: 'tls.reload_failed', cert: this.files.cert, err }, 'TLS reload failed; keeping the previous certificates');
      return false;
    }
  }

  /** Polls the certificate files and reloads when one changes. */
  watch(intervalMs = 2000): void {
    const paths = [this.files.cert, this.files.key, ...Object.values(this.options.sni ?? {}).flatMap((f) => [f.cert, f.key])];
    for (const path of paths) {
      watchFile(path, { interval: intervalMs, persistent: false }, (curr, prev) => {
        if (curr.mtimeMs !== prev.mtimeMs) this.reload();
      });
    }
    this.watched = paths;
  }

  unwatch(): void {
    for (const path of this.watched) unwatchFile(path);
    this.watched = [];
  }

  secureContext(servername?: string): tls.SecureContext {
    if (servername) {
      const name = servername.toLowerCase();
      const exact = this.sniContexts.get(name) ?? this.managedByName.get(name);
      if (exact) return exact;
      const dot = name.indexOf('.');
      const wildcardParent = dot > 0 ? this.sniContexts.get(name.slice(dot + 1)) : undefined;
      if (wildcardParent) return wildcardParent;
    }
    return this.defaultContext;
  }

  /** Options for a server-side TLSSocket: SNI picks the context at handshake time. */
  serverOptions(): tls.TLSSocketOptions {
    return {
      isServer: true,
      secureContext: this.defaultContext,
      SNICallback: (servername, cb) => cb(null, this.secureContext(servername)),
    } as tls.TLSSocketOptions;
  }
}

function createContext(cert: string, key: string): tls.SecureContext {
  return tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2', ciphers: CIPHERS, honorCipherOrder: true });
}

function ensureSelfSigned(dataDir: string, hostname: string, logger: Logger): CertificateFiles {
  const dir = join(dataDir, 'tls');
  const files = { cert: join(dir, 'selfsigned.crt'), key: join(dir, 'selfsigned.key') };
  // One made by an older version, or before the hostname changed, lacks names: it is made again.
  if (existsSync(files.cert) && existsSync(files.key) && coversNames(files.cert, hostname)) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = makeSelfSignedCertificate(hostname);
  writeFileSync(files.key, pair.key, { mode: 0o600 });
  writeFileSync(files.cert, pair.cert, { mode: 0o600 });
  logger.info({ event: 'tls.selfsigned_created', cert: files.cert }, 'made a self-signed certificate');
  return files;
}

function coversNames(certPath: string, hostname: string): boolean {
  try {
    return coversLocalNames(readFileSync(certPath, 'utf8'), hostname);
  } catch {
    return false;
  }
}
