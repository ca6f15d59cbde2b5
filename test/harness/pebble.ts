/**
 * Debian's pebble (Let's Encrypt's ACME test server) on loopback for the ACME tests: its own HTTPS certificate
 * from a throwaway CA (what the server under test is told to trust for the directory), validation against the
 * ports of the server under test, names resolved through the tests' DNS server, no artificial sleeps, and every
 * challenge really checked (PEBBLE_VA_ALWAYS_VALID=0). `issuerPems()` is the chain clients of the issued
 * certificates trust; pebble makes a new one each run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { waitPort } from './child-server.ts';
import { freePort } from './free-port.ts';
import { makeTlsFixture } from './test-ca.ts';

export interface PebbleOptions {
  /** Where the server under test answers HTTP-01 (its http listener). */
  httpPort: number;
  /** Where the server under test answers TLS-ALPN-01 (its https listener). */
  tlsPort: number;
  /** host:port of the tests' DNS server. */
  dnsServer: string;
}

export interface Pebble {
  directoryUrl: string;
  /** PEM of the CA of pebble's own HTTPS certificate (the server's `acme.ca_file`). */
  caPath: string;
  /** Pebble's root certificate: what a client of the issued certificates trusts. */
  rootPem(): Promise<string>;
  stop(): Promise<void>;
}

/** The pebble binary from Debian's package, or null when it is not installed. */
export function pebbleBinary(): string | null {
  const listed = spawnSync('dpkg', ['-L', 'pebble'], { encoding: 'utf8' });
  const fromPackage = listed.status === 0 ? listed.stdout.split('\n').find((l) => l.endsWith('/bin/pebble')) : undefined;
  for (const candidate of [fromPackage, '/usr/bin/pebble']) if (candidate && existsSync(candidate)) return candidate;
  return null;
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const binary = pebbleBinary();
  if (!binary) throw new Error('pebble is not installed (apt-get install pebble)');
  const fixture = makeTlsFixture({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const [acmePort, managementPort] = [await freePort(), await freePort()];
  const configPath = join(fixture.dir, 'pebble-config.json');
  writeFileSync(configPath, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: fixture.certPath,
      privateKey: fixture.keyPath,
      httpPort: options.httpPort,
      tlsPort: options.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }));
  const child: ChildProcess = spawn(binary, ['-config', configPath, '-dnsserver', options.dnsServer], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_VA_ALWAYS_VALID: '0', PEBBLE_AUTHZREUSE: '0', PEBBLE_WFE_NONCEREJECT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopChild = async (): Promise<void> => {
    // exitCode stays null for a child killed by a signal: signalCode tells that it is gone too.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pebble did not start: ${output}`)), 15_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (/ACME directory available/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`pebble exited with ${code}: ${output}`));
      });
    });
    // Pebble announces its directory before its management listener (roots) is up: wait for both.
    await Promise.all([waitPort(acmePort, 15_000), waitPort(managementPort, 15_000)]);
  } catch (err) {
    await stopChild();
    rmSync(fixture.dir, { recursive: true, force: true });
    throw err;
  }
  const agent = new Agent({ ca: fixture.ca.cert });
  const get = (path: string): Promise<string> => new Promise((resolve, reject) => {
    request(`https://127.0.0.1:${managementPort}${path}`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`pebble ${path}: ${res.statusCode}`))));
    }).on('error', reject).end();
  });
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    caPath: fixture.caPath,
    rootPem: () => get('/roots/0'),
    async stop() {
      await stopChild();
      agent.destroy();
      rmSync(fixture.dir, { recursive: true, force: true });
    },
  };
}
