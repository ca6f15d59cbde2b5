/**
 * A message's JMAP view (RFC 8621 §4.1.2-§4.1.4): header properties, the EmailBodyPart tree, the
 * textBody/htmlBody/attachments lists, body values and the preview, built from the one MIME parser
 * (message/mime-tree.ts). Used by Email/get and Email/parse.
 */
import { decodeCharset } from '../../../message/charset.ts';
import { decodeHeaderValue } from '../../../message/encoded-words.ts';
import { findHeaderEnd, parseRawHeaderFields, type RawHeaderField } from '../../../message/header-fields.ts';
import { isMultipart, parseMimeTree, type MimePart } from '../../../message/mime-tree.ts';
import { decodeTransfer, UnknownTransferEncodingError } from '../../../message/transfer-encoding.ts';
import { asAddresses, asDate, asMessageIds, asText, headerPropertyValue, parseHeaderProperty } from './header-forms.ts';

export interface EmailBodyPart {
  partId: string | null;
  blobId: string | null;
  size: number;
  headers: { name: string; value: string }[];
  name: string | null;
  type: string;
  charset: string | null;
  disposition: string | null;
  cid: string | null;
  language: string[] | null;
  location: string | null;
  subParts?: EmailBodyPart[];
}

export interface EmailBodyValue {
  value: string;
  isEncodingProblem: boolean;
  isTruncated: boolean;
}

/** RFC 8621 §4.1.4: the properties of an EmailBodyPart a client may ask for. */
export const BODY_PART_PROPERTIES = ['partId', 'blobId', 'size', 'headers', 'name', 'type', 'charset', 'disposition', 'cid', 'language', 'location', 'subParts'];
export const DEFAULT_BODY_PART_PROPERTIES = ['partId', 'blobId', 'size', 'name', 'type', 'charset', 'disposition', 'cid', 'language', 'location'];

const MAX_PREVIEW_CHARS = 256;

/** A blob id for a part of an email (RFC 8620 §6): `<email blob id>P<part id, dots as dashes>`. */
export function partBlobId(emailBlobId: string, partId: string): string {
  return `${emailBlobId}P${partId.replace(/\./g, '-')}`;
}

function isInlineMediaType(type: string): boolean {
  return type.startsWith('image/') || type.startsWith('audio/') || type.startsWith('video/');
}

interface Leaf {
  part: EmailBodyPart;
  mime: MimePart;
}

export class EmailView {
  readonly bytes: Buffer;
  readonly root: MimePart;
  readonly fields: RawHeaderField[];
  private readonly blobId: string;
  private structure: EmailBodyPart | null = null;
  private readonly leaves = new Map<string, Leaf>();
  private lists: { textBody: EmailBodyPart[]; htmlBody: EmailBodyPart[]; attachments: EmailBodyPart[] } | null = null;

  constructor(bytes: Buffer, blobId: string) {
    this.bytes = bytes;
    this.blobId = blobId;
    this.root = parseMimeTree(bytes, { maxParts: 1000 });
    this.fields = this.rawFields(this.root);
  }

  private rawFields(part: MimePart): RawHeaderField[] {
    const { fieldsEnd } = findHeaderEnd(this.bytes, part.headerStart, part.bodyEnd);
    return parseRawHeaderFields(this.bytes, part.headerStart, Math.min(fieldsEnd, part.headerStart + 1024 * 1024), 10_000);
  }

  private last(name: string): string | null {
    const lower = name.toLowerCase();
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i]!.name.toLowerCase() === lower) return this.fields[i]!.raw;
    return null;
  }

  /** The convenience header properties of RFC 8621 §4.1.3, by property name. */
  headerProperty(property: string): unknown {
    const raw = (name: string) => this.last(name);
    switch (property) {
      case 'headers': return this.fields.map((f) => ({ name: f.name, value: f.raw }));
      case 'messageId': case 'inReplyTo': case 'references': {
        const value = raw(property === 'messageId' ? 'Message-ID' : property === 'inReplyTo' ? 'In-Reply-To' : 'References');
        return value === null ? null : asMessageIds(value);
      }
      case 'sender': case 'from': case 'to': case 'cc': case 'bcc': case 'replyTo': {
        const value = raw(property === 'replyTo' ? 'Reply-To' : property);
        return value === null ? null : asAddresses(value);
      }
      case 'subject': {
        const value = raw('Subject');
        return value === null ? null : asText(value);
      }
      case 'sentAt': {
        const value = raw('Date');
        return value === null ? null : asDate(value);
      }
    }
    const header = parseHeaderProperty(property);
    return header === null ? undefined : headerPropertyValue(this.fields, header);
  }

  /** RFC 8621 §4.1.4 bodyStructure: the full tree; message/rfc822 parts are leaves. */
  bodyStructure(): EmailBodyPart {
    if (this.structure === null) this.structure = this.toBodyPart(this.root, '1', true);
    return this.structure;
  }

  private toBodyPart(mime: MimePart, section: string, isRoot: boolean): EmailBodyPart {
    const type = `${mime.contentType.type}/${mime.contentType.subtype}`.toLowerCase();
    const rawName = mime.disposition?.params['filename'] ?? mime.contentType.params['name'] ?? null;
    const part: EmailBodyPart = {
      partId: null,
      blobId: null,
      size: 0,
      headers: this.rawFields(mime).map((f) => ({ name: f.name, value: f.raw })),
      name: rawName === null ? null : decodeHeaderValue(rawName),
      type,
      charset: mime.contentType.type === 'text' ? (mime.contentType.params['charset'] ?? 'us-ascii') : (mime.contentType.params['charset'] ?? null),
      disposition: mime.disposition?.type.toLowerCase() ?? null,
      cid: mime.contentId === null ? null : mime.contentId.trim().replace(/^<|>$/g, ''),
      language: mime.language,
      location: mime.location,
    };
    if (isMultipart(mime)) {
      part.subParts = mime.children.map((child, i) => this.toBodyPart(child, isRoot ? String(i + 1) : `${section}.${i + 1}`, false));
      return part;
    }
    part.partId = section;
    part.blobId = partBlobId(this.blobId, section);
    part.size = this.decoded(mime).bytes.length;
    this.leaves.set(section, { part, mime });
    return part;
  }

  private decoded(mime: MimePart): { bytes: Buffer; problem: boolean } {
    const raw = this.bytes.subarray(mime.bodyStart, mime.bodyEnd);
    try {
      return { bytes: decodeTransfer(raw, mime.encoding), problem: false };
    } catch (err) {
      if (!(err instanceof UnknownTransferEncodingError)) throw err;
      return { bytes: raw, problem: true };
    }
  }

  /** The decoded bytes of a leaf part by part id (part blob download), or null. */
  partBytes(partId: string): Buffer | null {
    this.bodyStructure();
    const leaf = this.leaves.get(partId);
    return leaf ? this.decoded(leaf.mime).bytes : null;
  }

  /** RFC 8621 §4.1.4: textBody, htmlBody and attachments by the algorithm the RFC gives. */
  bodyLists(): { textBody: EmailBodyPart[]; htmlBody: EmailBodyPart[]; attachments: EmailBodyPart[] } {
    if (this.lists !== null) return this.lists;
    const textBody: EmailBodyPart[] = [];
    const htmlBody: EmailBodyPart[] = [];
    const attachments: EmailBodyPart[] = [];
    const walk = (parts: EmailBodyPart[], multipartType: string, inAlternative: boolean, text: EmailBodyPart[] | null, html: EmailBodyPart[] | null): void => {
      const textLength = text ? text.length : -1;
      const htmlLength = html ? html.length : -1;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        const isMulti = part.type.startsWith('multipart/');
        const isInline = part.disposition !== 'attachment'
          && (part.type === 'text/plain' || part.type === 'text/html' || isInlineMediaType(part.type))
          && (i === 0 || (multipartType !== 'related' && (isInlineMediaType(part.type) || part.name === null)));
        if (isMulti) {
          const sub = part.type.split('/')[1]!;
          walk(part.subParts ?? [], sub, inAlternative || sub === 'alternative', text, html);
        } else if (isInline) {
          if (multipartType === 'alternative') {
            if (part.type === 'text/plain') text?.push(part);
            else if (part.type === 'text/html') html?.push(part);
            else attachments.push(part);
            continue;
          } else if (inAlternative) {
            if (part.type === 'text/plain') html = null;
            if (part.type === 'text/html') text = null;
          }
          text?.push(part);
          html?.push(part);
          if ((!text || !html) && isInlineMediaType(part.type)) attachments.push(part);
        } else {
          attachments.push(part);
        }
      }
      if (multipartType === 'alternative' && text && html) {
        if (textLength === text.length && htmlLength !== html.length) for (let i = htmlLength; i < html.length; i++) text.push(html[i]!);
        if (htmlLength === html.length && textLength !== text.length) for (let i = textLength; i < text.length; i++) html.push(text[i]!);
      }
    };
    walk([this.bodyStructure()], 'mixed', false, textBody, htmlBody);
    this.lists = { textBody, htmlBody, attachments };
    return this.lists;
  }

  /** RFC 8621 §4.1.4 bodyValues: decoded text, truncated to `maxBytes` UTF-8 octets when asked. */
  bodyValue(partId: string, maxBytes: number): EmailBodyValue | null {
    this.bodyStructure();
    const leaf = this.leaves.get(partId);
    if (!leaf || !leaf.part.type.startsWith('text/')) return null;
    const { bytes, problem } = this.decoded(leaf.mime);
    let value = decodeCharset(bytes, leaf.part.charset);
    const isEncodingProblem = problem || value.includes('\uFFFD');
    let isTruncated = false;
    if (maxBytes > 0 && Buffer.byteLength(value) > maxBytes) {
      // Cut on a character boundary, never inside a UTF-8 sequence.
      let cut = Buffer.from(value).subarray(0, maxBytes).toString('utf8');
      if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
      value = cut;
      isTruncated = true;
    }
    return { value, isEncodingProblem, isTruncated };
  }

  /** RFC 8621 §4.1.4 preview: up to 256 characters of the first text, whitespace collapsed. */
  preview(): string {
    const { textBody, htmlBody } = this.bodyLists();
    const first = textBody.find((p) => p.type.startsWith('text/')) ?? htmlBody.find((p) => p.type.startsWith('text/'));
    if (!first || first.partId === null) return '';
    const value = this.bodyValue(first.partId, 64 * 1024)?.value ?? '';
    const text = first.type === 'text/html' ? htmlToText(value) : value;
    return [...text.replace(/\s+/g, ' ').trim()].slice(0, MAX_PREVIEW_CHARS).join('');
  }

  hasAttachment(): boolean {
    return this.bodyLists().attachments.some((p) => !isInlineMediaType(p.type) || p.disposition === 'attachment');
  }
}

/** Text of an HTML body for previews and search: tags, scripts and styles dropped, common entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}
