/**
 * Builds the message of an Email/set create (RFC 8621 §4.6): header properties, and the body from
 * bodyStructure or from textBody/htmlBody/attachments with bodyValues and blobs; every problem is a
 * SetError naming the property.
 */
import { composeMessage, encodeHeaderText, formatAddresses, formatDate, newMessageId, type ComposeAddress, type ComposePart } from '../../../message/compose.ts';
import { setError, type SetError } from '../method-error.ts';
import { parseHeaderProperty, type HeaderProperty } from './header-forms.ts';

type Props = Record<string, unknown>;
/** Reads a blob for buildMessage: null when it is not there. */
type BlobReader = (blobId: string) => Promise<Buffer | null>;
/** Reads a body part's blob: buildMessage's wrapper collects the missing ones and gives empty bytes for them. */
type PartReader = (blobId: string) => Promise<Buffer>;

const ADDRESS_PROPS: Record<string, string> = { from: 'From', sender: 'Sender', replyTo: 'Reply-To', to: 'To', cc: 'Cc', bcc: 'Bcc' };
const ID_PROPS: Record<string, string> = { messageId: 'Message-ID', inReplyTo: 'In-Reply-To', references: 'References' };
/** Properties an Email/set create handles besides the body and header ones. */
export const CREATE_META = ['mailboxIds', 'keywords', 'receivedAt'];
/** The header field each EmailBodyPart property of a create stands for (RFC 8621 §4.1.4). */
const PART_FIELD_PROPS: Record<string, string[]> = { 'content-type': ['type'], 'content-disposition': ['disposition', 'name'], 'content-id': ['cid'], 'content-language': ['language'], 'content-location': ['location'] };

class Invalid extends Error {
  constructor(readonly property: string, description?: string) {
    super(description ?? property);
  }
}

function addresses(value: unknown, property: string): ComposeAddress[] {
  if (!Array.isArray(value)) throw new Invalid(property);
  return value.map((a) => {
    const o = a as Record<string, unknown>;
    if (o === null || typeof o !== 'object' || typeof o.email !== 'string' || /[\r\n<>]/.test(o.email) || (o.name !== undefined && o.name !== null && typeof o.name !== 'string')) throw new Invalid(property);
    return { name: (o.name as string | null | undefined) ?? null, email: o.email };
  });
}

/**
 * RFC 8621 §4.6: "There MUST NOT be two properties that represent the same header field (e.g.,
 * "header:from" and "from")": the field name each header property sets, to find a second one.
 */
function claimField(seen: Set<string>, field: string, prop: string): void {
  const lower = field.toLowerCase();
  if (seen.has(lower)) throw new Invalid(prop, `a second property for the ${field} header field`);
  seen.add(lower);
}

/**
 * The header field a top-level create property sets (null for the body and meta properties), and for a
 * "header:" property its parsed form (null when it does not parse).
 */
function fieldOf(prop: string): { field: string; header: HeaderProperty | null } | null {
  if (ADDRESS_PROPS[prop]) return { field: ADDRESS_PROPS[prop], header: null };
  if (ID_PROPS[prop]) return { field: ID_PROPS[prop], header: null };
  if (prop === 'subject') return { field: 'Subject', header: null };
  if (prop === 'sentAt') return { field: 'Date', header: null };
  if (!prop.startsWith('header:')) return null;
  const header = parseHeaderProperty(prop);
  return { field: header?.name ?? prop, header };
}

function headerFields(props: Props): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const [prop, value] of Object.entries(props)) {
    const of = fieldOf(prop);
    if (of === null) continue;
    const { field, header } = of;
    claimField(seen, field, prop);
    if (value === null || value === undefined) continue;
    if (ADDRESS_PROPS[prop]) out.push([field, formatAddresses(addresses(value, prop))]);
    else if (ID_PROPS[prop]) {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || /[\s<>]/.test(v))) throw new Invalid(prop);
      out.push([field, value.map((v) => `<${v}>`).join(' ')]);
    } else if (prop === 'subject') {
      if (typeof value !== 'string' || /[\r\n]/.test(value)) throw new Invalid(prop);
      out.push([field, encodeHeaderText(value)]);
    } else if (prop === 'sentAt') {
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      if (!Number.isFinite(ms)) throw new Invalid(prop);
      out.push([field, formatDate(new Date(ms))]);
    } else {
      if (header === null || header.all) throw new Invalid(prop);
      // RFC 8621 §4.6: Content-* fields belong to body parts, never to the top-level header.
      if (header.name.toLowerCase().startsWith('content-')) throw new Invalid(prop);
      const v = header.form === 'Raw' ? (typeof value === 'string' && !/\r?\n(?![ \t])/.test(value) ? value.replace(/^ /, '') : null)
        : header.form === 'Text' ? (typeof value === 'string' && !/[\r\n]/.test(value) ? encodeHeaderText(value) : null)
          : header.form === 'Addresses' ? formatAddresses(addresses(value, prop))
            : header.form === 'MessageIds' ? (Array.isArray(value) ? value.map((x) => `<${String(x)}>`).join(' ') : null)
              : header.form === 'Date' ? (typeof value === 'string' && Number.isFinite(Date.parse(value)) ? formatDate(new Date(value)) : null)
                : header.form === 'URLs' ? (Array.isArray(value) ? value.map((x) => `<${String(x)}>`).join(', ') : null) : null;
      if (v === null) throw new Invalid(prop);
      out.push([header.name, v]);
    }
  }
  return out;
}

async function leafOf(part: Props, values: Props, readBlob: PartReader, property: string): Promise<ComposePart> {
  const type = typeof part.type === 'string' ? part.type.toLowerCase() : (part.blobId ? 'application/octet-stream' : 'text/plain');
  let body: Buffer;
  if (typeof part.partId === 'string') {
    const value = values[part.partId] as Props | undefined;
    // RFC 8621 §4.6: a partId must have a bodyValue, and a text part only.
    if (!value || typeof value.value !== 'string' || !type.startsWith('text/') || value.isTruncated === true) throw new Invalid(property, `no body value for part ${part.partId}`);
    body = Buffer.from(value.value);
  } else if (typeof part.blobId === 'string') {
    body = await readBlob(part.blobId);
  } else throw new Invalid(property, 'a part needs partId or blobId');
  if (part.charset !== undefined && part.charset !== null && part.partId !== undefined) throw new Invalid(property, 'charset is set by the server for text values');
  // RFC 8621 §4.6: header fields are set one property each, never as a "headers" list.
  if (part.headers !== undefined) throw new Invalid(property, 'headers is not settable: give each field as a header: property');
  const headers: [string, string][] = [];
  const seen = new Set<string>(Object.entries(PART_FIELD_PROPS).flatMap(([field, props]) => (props.some((p) => part[p] !== undefined && part[p] !== null) ? [field] : [])));
  for (const [k, v] of Object.entries(part)) {
    if (!k.startsWith('header:')) continue;
    const h = parseHeaderProperty(k);
    // RFC 8621 §4.6: "A Content-Transfer-Encoding header field MUST NOT be given" (the server encodes).
    if (h === null || h.name.toLowerCase() === 'content-transfer-encoding' || typeof v !== 'string') throw new Invalid(property, `${k} cannot be set on a body part`);
    claimField(seen, h.name, property);
    headers.push([h.name, v.trim()]);
  }
  return {
    kind: 'leaf', type, charset: type.startsWith('text/') ? 'utf-8' : null, headers, body,
    name: typeof part.name === 'string' ? part.name : null,
    disposition: typeof part.disposition === 'string' ? part.disposition : null,
    cid: typeof part.cid === 'string' ? part.cid : null,
  };
}

async function structureOf(part: Props, values: Props, readBlob: PartReader, depth: number): Promise<ComposePart> {
  if (depth > 10 || part === null || typeof part !== 'object') throw new Invalid('bodyStructure');
  if (Array.isArray(part.subParts)) {
    const type = typeof part.type === 'string' ? part.type.toLowerCase() : 'multipart/mixed';
    if (!type.startsWith('multipart/')) throw new Invalid('bodyStructure');
    return { kind: 'multipart', subtype: type.slice(10), headers: [], parts: await Promise.all(part.subParts.map((p) => structureOf(p as Props, values, readBlob, depth + 1))) };
  }
  return leafOf(part, values, readBlob, 'bodyStructure');
}

async function bodyOf(props: Props, readBlob: PartReader): Promise<ComposePart> {
  const values = (props.bodyValues ?? {}) as Props;
  if (props.bodyStructure !== undefined) {
    if (props.textBody !== undefined || props.htmlBody !== undefined || props.attachments !== undefined) throw new Invalid('bodyStructure', 'bodyStructure with textBody, htmlBody or attachments');
    return structureOf(props.bodyStructure as Props, values, readBlob, 0);
  }
  const one = async (name: 'textBody' | 'htmlBody', type: string): Promise<ComposePart | null> => {
    const list = props[name];
    if (list === undefined || list === null) return null;
    // RFC 8621 §4.6: textBody and htmlBody hold at most one part each, of their type.
    if (!Array.isArray(list) || list.length !== 1) throw new Invalid(name);
    const part = list[0] as Props;
    if (part.type !== undefined && part.type !== type) throw new Invalid(name);
    return leafOf({ ...part, type }, values, readBlob, name);
  };
  const text = await one('textBody', 'text/plain');
  const html = await one('htmlBody', 'text/html');
  let main: ComposePart = text && html ? { kind: 'multipart', subtype: 'alternative', headers: [], parts: [text, html] } : (text ?? html ?? { kind: 'leaf', type: 'text/plain', charset: 'utf-8', headers: [], body: Buffer.alloc(0), name: null, disposition: null, cid: null });
  const attachments = props.attachments;
  if (Array.isArray(attachments) && attachments.length > 0) {
    const parts = await Promise.all(attachments.map((a) => leafOf({ disposition: 'attachment', ...(a as Props) }, values, readBlob, 'attachments')));
    main = { kind: 'multipart', subtype: 'mixed', headers: [], parts: [main, ...parts] };
  } else if (attachments !== undefined && attachments !== null && !Array.isArray(attachments)) throw new Invalid('attachments');
  return main;
}

/** The message bytes for a create, or the SetError to answer it with. */
export async function buildMessage(props: Props, readBlob: BlobReader, now: Date): Promise<Buffer | SetError> {
  const known = new Set([...CREATE_META, ...Object.keys(ADDRESS_PROPS), ...Object.keys(ID_PROPS), 'subject', 'sentAt', 'bodyStructure', 'bodyValues', 'textBody', 'htmlBody', 'attachments']);
  const bad = Object.keys(props).filter((k) => !known.has(k) && !k.startsWith('header:'));
  if (bad.length > 0) return setError('invalidProperties', { properties: bad });
  try {
    const headers = headerFields(props);
    const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name.toLowerCase());
    if (!has('Date')) headers.push(['Date', formatDate(now)]);
    if (!has('Message-ID')) {
      const from = Array.isArray(props.from) ? String((props.from[0] as Props | undefined)?.email ?? '') : '';
      headers.push(['Message-ID', newMessageId(from.split('@')[1] || 'postamt.invalid')]);
    }
    // RFC 8621 §4.6 blobNotFound: "notFound" MUST list every blobId of a body part that is not there, so
    // every part is read before answering.
    const missing = new Set<string>();
    const body = await bodyOf(props, async (blobId) => {
      const bytes = await readBlob(blobId);
      if (bytes === null) missing.add(blobId);
      return bytes ?? Buffer.alloc(0);
    });
    if (missing.size > 0) return setError('blobNotFound', { notFound: [...missing] });
    return composeMessage(headers, body);
  } catch (err) {
    if (err instanceof Invalid) return setError('invalidProperties', { properties: [err.property], description: err.message });
    throw err;
  }
}
