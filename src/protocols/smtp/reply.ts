/**
 * SMTP replies: a code, an RFC 3463 enhanced status code (sent per RFC 2034 when ENHANCEDSTATUSCODES is
 * advertised, i.e. always), and text lines; formatted as multi-line replies per RFC 5321 §4.2.1.
 */

export interface Reply {
  code: number;
  enhancedCode: string | null;
  lines: string[];
}

export function reply(code: number, enhancedCode: string | null, ...lines: string[]): Reply {
  return { code, enhancedCode, lines: lines.length ? lines : [''] };
}

/** RFC 5321 §4.2.1: `250-first`, ..., `250 last`; the enhanced code repeats on every line (RFC 2034 §4). */
export function formatReply(r: Reply): string {
  const prefix = r.enhancedCode ? `${r.enhancedCode} ` : '';
  let out = '';
  for (let i = 0; i < r.lines.length; i++) {
    const sep = i === r.lines.length - 1 ? ' ' : '-';
    out += `${r.code}${sep}${prefix}${r.lines[i]!.replace(/[\r\n]/g, ' ')}\r\n`;
  }
  return out;
}

/** The catalogue: every fixed reply the server sends, in one place. */
export const replies = {
  greeting: (host: string) => reply(220, null, `${host} ESMTP Postamt`),
  ok: reply(250, '2.0.0', 'Ok'),
  queued: (id: string) => reply(250, '2.0.0', `Ok: queued as ${id}`),
  chunkOk: (octets: number) => reply(250, '2.0.0', `${octets} octets received`),
  reset: reply(250, '2.0.0', 'Reset state'),
  noop: reply(250, '2.0.0', 'Ok'),
  senderOk: reply(250, '2.1.0', 'Sender ok'),
  recipientOk: reply(250, '2.1.5', 'Recipient ok'),
  startData: reply(354, null, 'End data with <CR><LF>.<CR><LF>'),
  bye: (host: string) => reply(221, '2.0.0', `${host} closing connection`),
  vrfy: reply(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  expn: reply(502, '5.5.1', 'EXPN not available'),
  help: reply(214, '2.0.0', 'Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH', 'See RFC 5321'),
  readyTls: reply(220, '2.0.0', 'Ready to start TLS'),
  authOk: reply(235, '2.7.0', 'Authentication successful'),
  // 5xx/4xx: RFC 5321 §4.2.2/4.2.3 codes, RFC 3463 enhanced codes.
  lineTooLong: reply(500, '5.5.2', 'Line too long'),
  unknownCommand: reply(500, '5.5.1', 'Command unrecognized'),
  syntax: (text = 'Syntax error in parameters or arguments') => reply(501, '5.5.4', text),
  badSequence: (text = 'Bad sequence of commands') => reply(503, '5.5.1', text),
  notImplemented: (text = 'Command not implemented') => reply(502, '5.5.1', text),
  paramNotImplemented: (text = 'Parameter not implemented') => reply(555, '5.5.4', text),
  tooBig: (max: number) => reply(552, '5.3.4', `Message size exceeds fixed limit of ${max} octets`),
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'),
  noValidRecipients: reply(554, '5.5.1', 'No valid recipients'),
  storageFailure: reply(451, '4.3.0', 'Temporary storage failure, try again later'),
  localError: reply(451, '4.3.0', 'Local error in processing, try again later'),
  authRequired: reply(530, '5.7.0', 'Authentication required'),
  encryptionRequired: reply(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  authFailed: reply(535, '5.7.8', 'Authentication credentials invalid'),
  authThrottled: reply(454, '4.7.0', 'Too many authentication failures, try again later'),
  authTemporary: reply(454, '4.7.0', 'Temporary authentication failure'),
  authCancelled: reply(501, '5.7.0', 'Authentication cancelled'),
  authMalformed: reply(501, '5.5.2', 'Cannot decode response'),
  mechanismUnknown: reply(504, '5.5.4', 'Unrecognized authentication type'),
  alreadyAuthenticated: reply(503, '5.5.1', 'Already authenticated'),
  tooManyErrors: reply(421, '4.7.0', 'Too many errors, closing connection'),
  timeout: (host: string) => reply(421, '4.4.2', `${host} Error: timeout exceeded`),
  shuttingDown: (host: string) => reply(421, '4.3.2', `${host} Service shutting down, try again later`),
  loginRevoked: (host: string, reason: string) => reply(421, '4.7.0', `${host} Session ended: ${reason}, closing connection`),
  bareLineEnding: reply(554, '5.6.0', 'Message refused: bare CR or LF (RFC 5321 §2.3.8)'),
  // RFC 5321 §4.5.3.1.6: over the configured line limit (at least 1000 octets with CRLF); refused as a whole
  // after the end of data, the session goes on.
  dataLineTooLong: (max: number) => reply(552, '5.3.4', `Message refused: a line is longer than ${max} octets`),
  sendHeloFirst: reply(503, '5.5.1', 'Send HELO/EHLO first'),
  nestedMail: reply(503, '5.5.1', 'Sender already specified'),
  needMail: reply(503, '5.5.1', 'Need MAIL command first'),
  needRcpt: reply(503, '5.5.1', 'Need RCPT command first'),
  dataAfterBdat: reply(503, '5.5.1', 'DATA not allowed after BDAT in the same transaction'),
  bdatInProgress: reply(503, '5.5.1', 'Command not allowed during a BDAT transfer'),
  noExtensionsAfterHelo: reply(555, '5.5.4', 'ESMTP parameters require EHLO'),
  tlsNotAvailable: reply(454, '4.7.0', 'TLS not available'),
  alreadyTls: reply(503, '5.5.1', 'TLS already active'),
  authInTransaction: reply(503, '5.5.1', 'AUTH not allowed during a mail transaction'),
  authNotAvailable: reply(502, '5.5.1', 'AUTH not available'),
  badHelo: reply(501, '5.5.4', 'Syntax: EHLO domain-or-address-literal'),
  needsSmtpUtf8: reply(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8'),
  badAddress: (text = 'Bad address syntax') => reply(501, '5.1.3', text),
};
