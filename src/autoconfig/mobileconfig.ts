/**
 * An Apple configuration profile (`.mobileconfig`, a property list) that sets up one mail account on iOS,
 * iPadOS and macOS: the preferred IMAP and submission servers with TLS, the login, never the password (the
 * device asks for it). The UUIDs are derived from the account and host, so downloading it again replaces the
 * installed profile instead of adding a second account.
 */
import { createHash } from 'node:crypto';
import { xmlText, type ClientSettings } from './client-settings.ts';

export const MOBILECONFIG_CONTENT_TYPE = 'application/x-apple-aspen-config';

/** A name-based UUID (RFC 9562 §5.5, version 5 layout over SHA-1) for a stable PayloadUUID. */
function stableUuid(name: string): string {
  const h = createHash('sha1').update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

function plist(value: PlistValue, indent: string): string {
  if (typeof value === 'string') return `${indent}<string>${xmlText(value)}</string>`;
  if (typeof value === 'number') return `${indent}<integer>${Math.trunc(value)}</integer>`;
  if (typeof value === 'boolean') return `${indent}<${value}/>`;
  if (Array.isArray(value)) return [`${indent}<array>`, ...value.map((v) => plist(v, indent + '  ')), `${indent}</array>`].join('\n');
  const entries = Object.entries(value).flatMap(([k, v]) => [`${indent}  <key>${xmlText(k)}</key>`, plist(v, indent + '  ')]);
  return [`${indent}<dict>`, ...entries, `${indent}</dict>`].join('\n');
}

export function appleMobileconfig(settings: ClientSettings, address: string): string {
  const imap = settings.incoming.find((e) => e.service === 'imap');
  const incoming = imap ?? settings.incoming[0];
  const outgoing = settings.outgoing[0];
  if (!incoming || !outgoing) throw new Error('no incoming or outgoing mail listener to describe');
  const host = settings.hostname.toLowerCase();
  const reverseHost = host.split('.').reverse().join('.');
  const accountUuid = stableUuid(`postamt mail account ${host} ${address}`);
  const profileUuid = stableUuid(`postamt profile ${host} ${address}`);
  const account: PlistValue = {
    EmailAccountDescription: address,
    EmailAccountType: incoming.service === 'imap' ? 'EmailTypeIMAP' : 'EmailTypePOP',
    EmailAddress: address,
    IncomingMailServerAuthentication: 'EmailAuthPassword',
    IncomingMailServerHostName: incoming.hostname,
    IncomingMailServerPortNumber: incoming.port,
    // Apple's UseSSL covers both TLS from the first byte and STARTTLS: the device picks by port.
    IncomingMailServerUseSSL: true,
    IncomingMailServerUsername: address,
    OutgoingMailServerAuthentication: 'EmailAuthPassword',
    OutgoingMailServerHostName: outgoing.hostname,
    OutgoingMailServerPortNumber: outgoing.port,
    OutgoingMailServerUseSSL: true,
    OutgoingMailServerUsername: address,
    OutgoingPasswordSameAsIncomingPassword: true,
    PayloadDescription: `Mail account ${address}`,
    PayloadDisplayName: `Mail (${address})`,
    PayloadIdentifier: `${reverseHost}.postamt.mail.${accountUuid}`,
    PayloadType: 'com.apple.mail.managed',
    PayloadUUID: accountUuid,
    PayloadVersion: 1,
  };
  const profile: PlistValue = {
    PayloadContent: [account],
    PayloadDescription: `Sets up ${address} on ${host}.`,
    PayloadDisplayName: `${address} (${host})`,
    PayloadIdentifier: `${reverseHost}.postamt.profile.${profileUuid}`,
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: profileUuid,
    PayloadVersion: 1,
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    plist(profile, ''),
    '</plist>',
    '',
  ].join('\n');
}
