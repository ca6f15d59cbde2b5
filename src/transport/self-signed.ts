/**
 * Makes the self-signed certificate used when no `[tls] cert/key` is configured: RSA 2048 from node:crypto,
 * an X.509 v3 certificate built with node-forge, valid ten years. Its names are our hostname and what a
 * user types on the server itself (localhost, 127.0.0.1, ::1), so clients that verify can be told to trust it.
 */
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

const LOCAL_NAMES = ['localhost'];
const LOCAL_IPS = ['127.0.0.1', '::1'];

/** Whether a certificate (PEM) carries every name the self-signed one must: the hostname, localhost and the loopback IPs. */
export function coversLocalNames(certPem: string, hostname: string): boolean {
  const cert = new X509Certificate(certPem);
  return [hostname, ...LOCAL_NAMES].every((n) => cert.checkHost(n) !== undefined) && LOCAL_IPS.every((ip) => cert.checkIP(ip) !== undefined);
}

export function makeSelfSignedCertificate(hostname: string): { cert: string; key: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600_000);
  const attrs = [{ name: 'commonName', value: hostname }, { name: 'organizationName', value: 'Postamt self-signed' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    // RFC 5280 §4.2.1.6: dNSName (2) and iPAddress (7) entries; RFC 6125 clients match only these, not the CN.
    { name: 'subjectAltName', altNames: [...[...new Set([hostname.toLowerCase(), ...LOCAL_NAMES])].map((value) => ({ type: 2, value })), ...LOCAL_IPS.map((ip) => ({ type: 7, ip }))] },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}
