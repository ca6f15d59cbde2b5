/**
 * A throwaway certificate authority for TLS tests: a CA certificate and server certificates signed by it
 * (node-forge), so clients verify the chain for real against the CA instead of disabling verification.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

export interface TestCa {
  /** PEM of the CA certificate: what clients trust. */
  cert: string;
  key: string;
}

export interface ServerCertificate {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the DER certificate, "AB:CD:..." as node's `getPeerCertificate().fingerprint256`. */
  fingerprint256: string;
}

export interface IssueOptions {
  /** DNS names for the subjectAltName; the first is also the CN. Default localhost and mx.postamt.test. */
  dnsNames?: string[];
  /** IP addresses for the subjectAltName. Default 127.0.0.1 and ::1. */
  ips?: string[];
  /** Validity in days from now (default 30); negative: a certificate that expired that many days ago. */
  days?: number;
}

function rsaKeyPair(): { forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  // node's native RSA is much faster than forge's pure-JS generator.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  return { forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function serialNumber(): string {
  // Positive (high bit clear), 16 bytes.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number): void {
  cert.validity.notBefore = new Date(Date.now() - (days < 0 ? 60 * 86_400_000 : 60_000));
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
}

export function fingerprint256(certPem: string): string {
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(certPem))).getBytes(), 'binary');
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

export function createTestCa(options: { commonName?: string } = {}): TestCa {
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, 365);
  const subject = [{ name: 'commonName', value: options.commonName ?? 'Postamt Test CA' }, { name: 'organizationName', value: 'Postamt tests' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

export function issueServerCertificate(ca: TestCa, options: IssueOptions = {}): ServerCertificate {
  const dnsNames = options.dnsNames ?? ['localhost', 'mx.postamt.test'];
  const ips = options.ips ?? ['127.0.0.1', '::1'];
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, options.days ?? 30);
  cert.setSubject([{ name: 'commonName', value: dnsNames[0] ?? ips[0] ?? 'localhost' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  return { cert: pem, key: keys.pem, fingerprint256: fingerprint256(pem) };
}

export interface TlsFixture {
  ca: TestCa;
  server: ServerCertificate;
  dir: string;
  /** Paths of the files written: pass `{ tls: { cert: certPath, key: keyPath } }` to the server. */
  certPath: string;
  keyPath: string;
  caPath: string;
}

/** Fixture directories of this process: removed when it exits, so no test leaves a private key in the temp dir. */
const fixtureDirs: string[] = [];

function removeFixtureDirs(): void {
  for (const dir of fixtureDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A CA, a server certificate signed by it, and the three PEM files in a fresh temp dir (removed at exit). */
export function makeTlsFixture(options: IssueOptions = {}): TlsFixture {
  const ca = createTestCa();
  const server = issueServerCertificate(ca, options);
  const dir = mkdtempSync(join(tmpdir(), 'postamt-ca-'));
  if (fixtureDirs.length === 0) process.once('exit', removeFixtureDirs);
  fixtureDirs.push(dir);
  const fixture = { ca, server, dir, certPath: join(dir, 'server.crt'), keyPath: join(dir, 'server.key'), caPath: join(dir, 'ca.crt') };
  writeFileSync(fixture.certPath, server.cert);
  writeFileSync(fixture.keyPath, server.key, { mode: 0o600 });
  writeFileSync(fixture.caPath, ca.cert);
  return fixture;
}

/** A server certificate signed by its own key (no CA vouches for it): what a peer without a real certificate shows. */
export function selfSignedServerCertificate(dnsNames: string[]): ServerCertificate {
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, 30);
  const subject = [{ name: 'commonName', value: dnsNames[0] ?? 'localhost' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
  ]);
  cert.sign(keys.forgeKey, forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  return { cert: pem, key: keys.pem, fingerprint256: fingerprint256(pem) };
}
