// IMAP BODY and BODYSTRUCTURE (RFC 9051 §7.5.2) from a parsed MIME tree. Parameters are sent as
// Dovecot sends them: RFC 2231 continuations joined, extended values kept as name*=charset''%XX.
import { isMultipart, type MimePart } from '../../message/mime-tree.ts';
import { formatEnvelope } from './envelope.ts';
import { formatNString, formatString, type ImapStringOptions } from './response.ts';

export interface BodyStructureOptions {
  /** BODYSTRUCTURE (true) carries extension data; BODY (false) does not. */
  extensible: boolean;
  utf8?: boolean;
}

export function formatBodyStructure(root: MimePart, message: Buffer, options: BodyStructureOptions): string {
  return formatPart(root, message, options, { utf8: options.utf8 ?? false });
}

function formatParams(params: [string, string][], str: ImapStringOptions): string {
  if (params.length === 0) return 'NIL';
  return '(' + params.map(([k, v]) => `${formatString(k, str)} ${formatString(v, str)}`).join(' ') + ')';
}

function formatDisposition(part: MimePart, str: ImapStringOptions): string {
  const d = part.disposition;
  if (d === null) return 'NIL';
  return `(${formatString(d.type, str)} ${formatParams(d.wireParams, str)})`;
}

function formatLanguage(part: MimePart, str: ImapStringOptions): string {
  if (part.language === null) return 'NIL';
  return '(' + part.language.map((l) => formatString(l, str)).join(' ') + ')';
}

/** Parts the parser did not descend into (nesting or part limits, encoded message/rfc822). */
function isTruncated(part: MimePart): boolean {
  const ct = part.contentType;
  if (ct.type === 'multipart') return !isMultipart(part);
  return ct.type === 'message' && (ct.subtype === 'rfc822' || ct.subtype === 'global') && part.message === undefined;
}

function formatPart(part: MimePart, message: Buffer, options: BodyStructureOptions, str: ImapStringOptions): string {
  const s = (v: string): string => formatString(v, str);
  const ns = (v: string | null): string => formatNString(v, str);
  if (isMultipart(part)) {
    // RFC 9051 §7.5.2: body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    let children = part.children.map((c) => formatPart(c, message, options, str)).join('');
    // "1*body": a multipart with no parts is shown as one empty text/plain part, like Dovecot.
    if (children.length === 0) {
      children = options.extensible
        ? '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'
        : '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
    }
    let out = `(${children} ${s(part.contentType.subtype)}`;
    if (options.extensible) {
      out += ` ${formatParams(part.contentType.wireParams, str)} ${formatDisposition(part, str)} ${formatLanguage(part, str)} ${ns(part.location)}`;
    }
    return out + ')';
  }
  let type = part.contentType.type;
  let subtype = part.contentType.subtype;
  let params = part.contentType.wireParams;
  const truncated = isTruncated(part);
  if (truncated) {
    // Dovecot (imap-bodystructure.c part_is_truncated): shown as an opaque part.
    type = 'application';
    subtype = 'octet-stream';
  } else if (type === 'text' && !params.some(([k]) => k.toLowerCase() === 'charset')) {
    // RFC 2046 §4.1.2: text defaults to charset us-ascii; Dovecot sends it explicitly, last.
    params = [...params, ['charset', 'us-ascii']];
  }
  const size = part.bodyEnd - part.bodyStart;
  // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
  let out = `(${s(type)} ${s(subtype)} ${formatParams(params, str)} ${ns(part.contentId)} ${ns(part.description)} ${s(part.encoding)} ${size}`;
  if (!truncated && type === 'text') {
    out += ` ${part.lines}`;
  } else if (!truncated && part.message !== undefined) {
    // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
    out += ` ${formatEnvelope(part.message, message, str)} ${formatPart(part.message, message, options, str)} ${part.lines}`;
  }
  if (options.extensible) {
    // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
    out += ` ${ns(part.md5)} ${formatDisposition(part, str)} ${formatLanguage(part, str)} ${ns(part.location)}`;
  }
  return out + ')';
}
