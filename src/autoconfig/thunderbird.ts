/**
 * Thunderbird's autoconfiguration file (clientConfig version 1.1, the format Thunderbird, K-9/Thunderbird
 * for Android, Evolution and KMail read from `autoconfig.<domain>/mail/config-v1.1.xml` and
 * `<domain>/.well-known/autoconfig/mail/config-v1.1.xml`). Passwords go in clear inside TLS only.
 */
import { xmlText, type ClientSettings, type ServerEndpoint } from './client-settings.ts';

/** Thunderbird's socketType names: SSL is TLS from the first byte, STARTTLS the upgrade. */
const SOCKET_TYPE: Record<ServerEndpoint['security'], string> = { tls: 'SSL', starttls: 'STARTTLS' };

function server(tag: 'incomingServer' | 'outgoingServer', e: ServerEndpoint): string {
  return [
    `    <${tag} type="${e.service}">`,
    `      <hostname>${xmlText(e.hostname)}</hostname>`,
    `      <port>${e.port}</port>`,
    `      <socketType>${SOCKET_TYPE[e.security]}</socketType>`,
    // %EMAILADDRESS% is filled in by the client: logins are whole addresses here.
    '      <username>%EMAILADDRESS%</username>',
    '      <authentication>password-cleartext</authentication>',
    `    </${tag}>`,
  ].join('\n');
}

export function thunderbirdConfig(settings: ClientSettings, domain: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${xmlText(domain)}">`,
    `    <domain>${xmlText(domain)}</domain>`,
    `    <displayName>${xmlText(domain)} mail</displayName>`,
    `    <displayShortName>${xmlText(domain)}</displayShortName>`,
    ...settings.incoming.map((e) => server('incomingServer', e)),
    ...settings.outgoing.map((e) => server('outgoingServer', e)),
    '  </emailProvider>',
    '</clientConfig>',
    '',
  ].join('\n');
}
