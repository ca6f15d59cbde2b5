/**
 * Outlook's autodiscover in its POX form ([MS-OXDSCLI]): the client POSTs a request naming the address and
 * the response schema it accepts; for the Outlook schema the answer lists the IMAP, POP3 and SMTP servers.
 * Other schemas (Exchange ActiveSync's mobilesync) are not served here and get the protocol's error answer.
 */
import { xmlText, type ClientSettings, type ServerEndpoint } from './client-settings.ts';

export const OUTLOOK_RESPONSE_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';

export interface AutodiscoverRequest {
  emailAddress: string | null;
  acceptableResponseSchema: string | null;
}

/** The two fields of a POX request; the body is small (the caller limits it) and is read, never evaluated. */
export function parseAutodiscoverRequest(body: string): AutodiscoverRequest {
  const element = (name: string): string | null => {
    const m = new RegExp(`<(?:[A-Za-z0-9_]+:)?${name}\\b[^>]*>([^<]*)</(?:[A-Za-z0-9_]+:)?${name}\\s*>`).exec(body);
    return m ? decodeEntities(m[1]!.trim()) : null;
  };
  return { emailAddress: element('EMailAddress'), acceptableResponseSchema: element('AcceptableResponseSchema') };
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!);
}

function protocol(e: ServerEndpoint, loginName: string): string {
  const type = e.service === 'smtp' ? 'SMTP' : e.service === 'imap' ? 'IMAP' : 'POP3';
  // [MS-OXDSCLI] §2.2.4.1.1.2.9: SSL "on" is TLS from the first byte; Encryption "TLS" is STARTTLS.
  const security = e.security === 'tls' ? '        <SSL>on</SSL>' : '        <SSL>off</SSL>\n        <Encryption>TLS</Encryption>';
  return [
    '      <Protocol>',
    `        <Type>${type}</Type>`,
    `        <Server>${xmlText(e.hostname)}</Server>`,
    `        <Port>${e.port}</Port>`,
    '        <DomainRequired>off</DomainRequired>',
    `        <LoginName>${xmlText(loginName)}</LoginName>`,
    '        <SPA>off</SPA>',
    security,
    '        <AuthRequired>on</AuthRequired>',
    ...(e.service === 'smtp' ? ['        <UsePOPAuth>on</UsePOPAuth>', '        <SMTPLast>off</SMTPLast>'] : []),
    '      </Protocol>',
  ].join('\n');
}

/** The Outlook-schema answer: the preferred IMAP (else POP3) server and the preferred submission server. */
export function autodiscoverResponse(settings: ClientSettings, emailAddress: string): string {
  const incoming = settings.incoming[0];
  const outgoing = settings.outgoing[0];
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    `  <Response xmlns="${OUTLOOK_RESPONSE_SCHEMA}">`,
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    ...(incoming ? [protocol(incoming, emailAddress)] : []),
    ...(outgoing ? [protocol(outgoing, emailAddress)] : []),
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** [MS-OXDSCLI] §2.2.4.2: the error answer, e.g. 600 "Invalid Request", 601 "Provider is not available". */
export function autodiscoverError(code: 600 | 601, message: string): string {
  const id = Math.floor(Math.random() * 1e9);
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    '  <Response>',
    `    <Error Time="${new Date().toISOString().slice(11, 19)}" Id="${id}">`,
    `      <ErrorCode>${code}</ErrorCode>`,
    `      <Message>${xmlText(message)}</Message>`,
    '      <DebugData />',
    '    </Error>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}
