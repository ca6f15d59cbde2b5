/**
 * TLS for every listener: the certificate and key from `[tls]` (or a self-signed pair made in data_dir at
 * first start), per-domain certificates chosen by SNI, TLS 1.2 and 1.3 only with modern ciphers, and
 * reloading without restart (on SIGHUP or when the files change); open connections keep their context.
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
  private defaultContext!: tls.SecureContext;
  private sniContexts = new Map<string, tls.SecureContext>();
  private watched: string[] = [];
  /** The PEM of the default certificate (tests trust it). */
  certificatePem = '';

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
    this.defaultContext = context;
    this.sniContexts = sni;
    this.certificatePem = cert;
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
      const exact = this.sniContexts.get(name);
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
