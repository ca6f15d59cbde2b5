/**
 * Checks made before `serve` creates anything (database, certificate, spool): the configured certificate
 * files are readable and belong together, data_dir can be written, every listen address is free. Each
 * failure is a StartupError whose one line names the config key, the path or the listener.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Config, HostPort } from '../config/schema.ts';
import { formatHostPort } from '../config/values.ts';
import { StartupError, errorMessage, systemReason } from '../core/errors.ts';
import { HTTP_LISTENER_ROLES, LISTENER_ROLES, type HttpListenerRole, type ListenerRole } from './listeners.ts';

export async function preflight(config: Config): Promise<void> {
  if (config.tls.cert && config.tls.key) checkCertificatePair({ cert: config.tls.cert, key: config.tls.key }, 'tls');
  for (const [domain, files] of Object.entries(config.tls.sni)) checkCertificatePair(files, `tls.sni."${domain}"`);
  checkWritableDir(config.dataDir);
  checkAcme(config);
  for (const role of [...LISTENER_ROLES, ...HTTP_LISTENER_ROLES]) {
    const address = config.listen[role];
    if (address && address.port !== 0) await checkFree(role, address);
  }
}

/** ACME needs the operator's agreement to the CA's terms and a listener for one of its challenge types. */
function checkAcme(config: Config): void {
  const a = config.acme;
  if (!a.enabled) return;
  if (!a.termsAgreed) throw new StartupError(`acme.terms_agreed = false: read the terms of service of ${a.directoryUrl} and set acme.terms_agreed = true to use it`);
  const usable = a.challenges.filter((t) => (t === 'http-01' && config.listen.http !== null) || (t === 'tls-alpn-01' && config.listen.https !== null));
  if (usable.length === 0) throw new StartupError(`acme.challenges = ${JSON.stringify(a.challenges)}: no listener to answer them (http-01 needs listen.http on port 80, tls-alpn-01 listen.https on port 443)`);
}

function readKeyFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new StartupError(`${key} = ${path}: cannot read the file: ${systemReason(err)}`, err);
  }
}

/** The certificate parses, the key parses, and the key is the certificate's (what tls.createSecureContext needs). */
export function checkCertificatePair(files: { cert: string; key: string }, prefix: string): void {
  const certPem = readKeyFile(files.cert, `${prefix}.cert`);
  const keyPem = readKeyFile(files.key, `${prefix}.key`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new StartupError(`${prefix}.cert = ${files.cert}: not a PEM certificate (${errorMessage(err)})`, err);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new StartupError(`${prefix}.key = ${files.key}: not a PEM private key (${errorMessage(err)})`, err);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new StartupError(`${prefix}.key = ${files.key} is not the private key of ${prefix}.cert = ${files.cert} (they do not match)`);
  }
}

/** data_dir, or the nearest existing directory above it when it does not exist yet, must be writable. */
export function checkWritableDir(dataDir: string): void {
  let dir = resolve(dataDir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(dir).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(dir) !== dir) {
        dir = dirname(dir);
        continue;
      }
      throw new StartupError(`data_dir = ${dataDir}: cannot use ${dir}: ${systemReason(err)}`, err);
    }
    if (!isDir) throw new StartupError(`data_dir = ${dataDir}: ${dir} is not a directory`);
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new StartupError(`data_dir = ${dataDir}: ${dir} is not writable: ${systemReason(err)}`, err);
    }
    return;
  }
}

/** The one line for a listener that cannot bind. */
export function listenError(role: ListenerRole | HttpListenerRole, address: HostPort, err: unknown): StartupError {
  const privileged = (err as NodeJS.ErrnoException | null)?.code === 'EACCES' && address.port < 1024 ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : '';
  return new StartupError(`listen.${role} = ${formatHostPort(address)}: cannot listen: ${systemReason(err)}${privileged}`, err);
}

/** Binds the address for a moment: a port in use fails here, before anything is created. */
function checkFree(role: ListenerRole | HttpListenerRole, address: HostPort): Promise<void> {
  return new Promise((resolveFree, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(role, address, err)));
    probe.listen({ host: address.host, port: address.port, exclusive: true }, () => probe.close(() => resolveFree()));
  });
}
