// MIME structure of a message as absolute byte ranges (RFC 2045, RFC 2046), for IMAP FETCH
// BODY[section] / BODYSTRUCTURE and for later readers (policy, webmail). Linear time, bounded
// nesting and part count; never throws on malformed input.
import { findHeaderEnd, headerValue, parseHeaderFields, type HeaderField } from './header-fields.ts';
import { DEFAULT_MAX_PARAMETERS, parseParameterizedValue } from './mime-params.ts';

export interface ContentType {
  type: string;
  subtype: string;
  params: Record<string, string>;
  /** Parameters as sent in BODYSTRUCTURE (see mime-params.ts): ordered, RFC 2231 joined. */
  wireParams: [string, string][];
}

export interface ContentDisposition {
  type: string;
  params: Record<string, string>;
  wireParams: [string, string][];
}

export interface MimePart {
  headerStart: number;
  /** Offset just after the empty line ending the header, or the part's end when there is none. */
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  contentType: ContentType;
  disposition: ContentDisposition | null;
  contentId: string | null;
  description: string | null;
  encoding: string;
  language: string[] | null;
  location: string | null;
  md5: string | null;
  headers: HeaderField[];
  children: MimePart[];
  /** For message/rfc822 and message/global: the encapsulated message's root (absolute offsets). */
  message?: MimePart;
  /** Body line count for text/* and message/*: the number of LFs, as Dovecot counts (an
   *  unterminated last line, e.g. the one before a boundary's CRLF, is not counted). */
  lines: number;
  /** Set when the depth or part limit stopped parsing here: a multipart treated as a leaf. */
  truncated?: boolean;
}

export interface MimeTreeOptions {
  maxDepth?: number;
  maxParts?: number;
  maxHeaderFields?: number;
  /** Parameters read from one Content-Type or Content-Disposition field. */
  maxParameters?: number;
  /** Header bytes of one part read into fields; the rest of a longer header section is skipped. */
  maxHeaderBytes?: number;
}

interface Context {
  buf: Buffer;
  maxDepth: number;
  maxParts: number;
  maxHeaderFields: number;
  maxParameters: number;
  maxHeaderBytes: number;
  parts: number; // body parts created so far, the top-level message not counted
}

const LF = 0x0a;
const CR = 0x0d;

export function parseMimeTree(message: Buffer, options: MimeTreeOptions = {}): MimePart {
  const ctx: Context = {
    buf: message,
    maxDepth: options.maxDepth ?? 32,
    maxParts: options.maxParts ?? 10_000,
    maxHeaderFields: options.maxHeaderFields ?? 10_000,
    maxParameters: options.maxParameters ?? DEFAULT_MAX_PARAMETERS,
    maxHeaderBytes: options.maxHeaderBytes ?? 1024 * 1024,
    parts: 0,
  };
  return parsePart(ctx, 0, message.length, 0, false);
}

function isMessageType(ct: ContentType): boolean {
  return ct.type === 'message' && (ct.subtype === 'rfc822' || ct.subtype === 'global');
}

export function isMultipart(part: MimePart): boolean {
  return part.contentType.type === 'multipart' && part.truncated !== true;
}

function parsePart(ctx: Context, start: number, end: number, depth: number, inDigest: boolean): MimePart {
  const { buf } = ctx;
  const { headerEnd, fieldsEnd } = findHeaderEnd(buf, start, end);
  // A part header of millions of folded lines costs its size in every FETCH: only its first bytes count.
  const headers = parseHeaderFields(buf, start, Math.min(fieldsEnd, start + ctx.maxHeaderBytes), ctx.maxHeaderFields);
  const contentType = parseContentType(headerValue(headers, 'content-type'), inDigest, ctx.maxParameters);
  const dispositionRaw = headerValue(headers, 'content-disposition');
  let disposition: ContentDisposition | null = null;
  if (dispositionRaw !== null) {
    const d = parseParameterizedValue(dispositionRaw, ctx.maxParameters);
    if (d.value.length > 0) disposition = { type: d.value, params: d.params, wireParams: d.wireParams };
  }
  const encodingRaw = headerValue(headers, 'content-transfer-encoding');
  // RFC 2045 §6.1: 7bit is the default; the value is case-insensitive.
  const encodingValue = encodingRaw === null ? '' : stripComments(encodingRaw).toLowerCase();
  // RFC 2045 §6.1: mechanism is a token; an invalid value is treated as 7bit (as Dovecot does).
  const encoding = isToken(encodingValue) ? encodingValue : '7bit';
  const languageRaw = headerValue(headers, 'content-language');
  const language = languageRaw === null
    ? null
    : stripComments(languageRaw).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const part: MimePart = {
    headerStart: start,
    headerEnd,
    bodyStart: headerEnd,
    bodyEnd: end,
    contentType,
    disposition,
    contentId: headerValue(headers, 'content-id'),
    description: headerValue(headers, 'content-description'),
    encoding,
    language: language !== null && language.length > 0 ? language : null,
    location: headerValue(headers, 'content-location'),
    md5: headerValue(headers, 'content-md5'),
    headers,
    children: [],
    lines: 0,
  };
  if (contentType.type === 'text' || isMessageType(contentType)) part.lines = countLines(buf, headerEnd, end);
  if (contentType.type === 'multipart') {
    if (depth >= ctx.maxDepth || ctx.parts >= ctx.maxParts) {
      part.truncated = true;
    } else {
      splitMultipart(ctx, part, depth, contentType.params['boundary']!);
    }
  } else if (isMessageType(contentType) && isIdentityEncoding(encoding)) {
    // RFC 2046 §5.2.1: message/rfc822 bodies are 7bit, 8bit or binary; an encoded one is opaque.
    if (depth < ctx.maxDepth) part.message = parsePart(ctx, headerEnd, end, depth + 1, false);
  }
  return part;
}

function isIdentityEncoding(encoding: string): boolean {
  return encoding === '7bit' || encoding === '8bit' || encoding === 'binary';
}

function stripComments(value: string): string {
  // Content-Transfer-Encoding and Content-Language may carry RFC 5322 comments.
  let out = '';
  let depth = 0;
  for (const ch of value) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  return out.trim();
}

function parseContentType(raw: string | null, inDigest: boolean, maxParameters: number): ContentType {
  // RFC 2046 §5.1.5: in a digest the default is message/rfc822; elsewhere RFC 2045 §5.2
  // gives text/plain; charset=us-ascii, also for a header that does not parse.
  const fallback = (): ContentType => inDigest
    ? { type: 'message', subtype: 'rfc822', params: {}, wireParams: [] }
    : { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' }, wireParams: [['charset', 'us-ascii']] };
  if (raw === null) return fallback();
  const parsed = parseParameterizedValue(raw, maxParameters);
  const slash = parsed.value.indexOf('/');
  if (slash <= 0 || slash === parsed.value.length - 1) return fallback();
  const type = parsed.value.slice(0, slash);
  const subtype = parsed.value.slice(slash + 1);
  if (!isToken(type) || !isToken(subtype)) return fallback();
  // RFC 2046 §5.1.1: the boundary parameter is required; without one the part cannot be split.
  if (type === 'multipart' && !(parsed.params['boundary']?.length)) return fallback();
  return { type, subtype, params: parsed.params, wireParams: parsed.wireParams };
}

function isToken(s: string): boolean {
  // RFC 2045 §5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || '()<>@,;:\\"/[]?='.includes(s[i]!)) return false;
  }
  return s.length > 0;
}

function countLines(buf: Buffer, start: number, end: number): number {
  let lines = 0;
  let pos = start;
  while (pos < end) {
    const nl = buf.indexOf(LF, pos);
    if (nl < 0 || nl >= end) break;
    lines++;
    pos = nl + 1;
  }
  return lines;
}

interface Delimiter {
  contentEnd: number; // end of the previous part: the CRLF before the delimiter belongs to it
  next: number; // first byte after the delimiter line
  isClose: boolean;
}

/**
 * RFC 2046 §5.1.1: a delimiter is CRLF "--" boundary at the start of a line, then optional
 * "--" (close delimiter), then transport padding (spaces/tabs) and CRLF. The CRLF preceding it
 * is part of the delimiter, not of the previous part. Bare LF is accepted in place of CRLF.
 */
function findDelimiter(buf: Buffer, dash: Buffer, from: number, start: number, end: number): Delimiter | null {
  let pos = from;
  while (pos < end) {
    const i = buf.indexOf(dash, pos);
    if (i < 0 || i + dash.length > end) return null;
    if (i === start || buf[i - 1] === LF) {
      let j = i + dash.length;
      let isClose = false;
      if (j + 2 <= end && buf[j] === 0x2d && buf[j + 1] === 0x2d) {
        isClose = true;
        j += 2;
      }
      while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
      let next = -1;
      if (j >= end) next = end;
      else if (buf[j] === LF) next = j + 1;
      else if (buf[j] === CR && j + 1 < end && buf[j + 1] === LF) next = j + 2;
      else if (isClose) {
        // Lenient: "--boundary--junk" still closes; the rest is epilogue.
        const nl = buf.indexOf(LF, j);
        next = nl < 0 || nl >= end ? end : nl + 1;
      }
      if (next >= 0) {
        let contentEnd = i;
        if (i > start && buf[i - 1] === LF) {
          contentEnd = i - 1;
          if (contentEnd > start && buf[contentEnd - 1] === CR) contentEnd--;
        }
        return { contentEnd, next, isClose };
      }
    }
    pos = i + 1;
  }
  return null;
}

function splitMultipart(ctx: Context, part: MimePart, depth: number, boundary: string): void {
  const { buf } = ctx;
  const dash = Buffer.from('--' + boundary, 'utf8');
  const start = part.bodyStart;
  const end = part.bodyEnd;
  const inDigest = part.contentType.subtype === 'digest';
  // The preamble before the first delimiter is ignored (RFC 2046 §5.1.1).
  let delim = findDelimiter(buf, dash, start, start, end);
  while (delim !== null && !delim.isClose) {
    const partStart = delim.next;
    const following = findDelimiter(buf, dash, partStart, start, end);
    // A missing close delimiter is tolerated: the last part runs to the end of the body.
    const partEnd = following === null ? end : Math.max(partStart, following.contentEnd);
    if (ctx.parts >= ctx.maxParts) break;
    ctx.parts++;
    part.children.push(parsePart(ctx, partStart, partEnd, depth + 1, inDigest));
    delim = following;
  }
}

/**
 * IMAP part numbering (RFC 9051 §6.4.5): part 1 of a non-multipart message is its body; the
 * parts of a message/rfc822 part are those of the encapsulated message. Empty path: the root.
 */
export function findPart(root: MimePart, path: number[]): MimePart | null {
  let cur = root;
  let atMessage = true;
  for (let i = 0; i < path.length; i++) {
    const n = path[i]!;
    if (!Number.isInteger(n) || n < 1) return null;
    if (i > 0) {
      if (cur.message !== undefined) {
        cur = cur.message;
        atMessage = true;
      } else if (isMultipart(cur)) {
        atMessage = false;
      } else {
        return null;
      }
    }
    if (isMultipart(cur)) {
      const child = cur.children[n - 1];
      if (child === undefined) return null;
      cur = child;
    } else if (!(atMessage && n === 1)) {
      return null;
    }
  }
  return cur;
}
