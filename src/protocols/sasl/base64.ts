/**
 * The strict base64 of SASL: client responses in SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH, and the
 * base64 attributes of SCRAM. One check for all of them, so the three protocols refuse the same input.
 */

// RFC 4648 §4 with the padding of §3.2 and nothing else (no line breaks, no characters outside the
// alphabet, no base64url): RFC 4954 §4, RFC 9051 §6.2.2, RFC 5034 §4 and RFC 5802 §7 all say "base64".
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isStrictBase64(text: string): boolean {
  return BASE64.test(text);
}

/** The bytes of a client response, or null when it is not strict base64 (the protocols refuse it). */
export function decodeSaslResponse(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

/** An initial response on the AUTH/AUTHENTICATE line: as above, and "=" stands for an empty one. */
export function decodeInitialResponse(text: string): Buffer | null {
  // RFC 4954 §4, RFC 5034 §4, RFC 4959 §3: "=" is an initial response of zero length.
  return text === '=' ? Buffer.alloc(0) : decodeSaslResponse(text);
}
