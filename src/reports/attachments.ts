/**
 * The report files inside a received report mail: every MIME leaf that is JSON or XML, plain, gzip or zip
 * (RFC 8460 §5.3 application/tlsrpt+gzip; RFC 7489 §7.2.1.1 zip or gzip XML), unpacked with limits.
 */
import { gunzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { parseMimeTree, type MimePart } from '../message/mime-tree.ts';
import { decodeTransfer } from '../message/transfer-encoding.ts';

/** A decompressed report is refused above this (a zip bomb would otherwise fill the memory). */
export const MAX_REPORT_BYTES = 20 * 1024 * 1024;

export interface ReportFile {
  filename: string;
  contentType: string;
  text: string;
}

function leaves(part: MimePart): MimePart[] {
  return part.children.length === 0 ? [part] : part.children.flatMap(leaves);
}

function unpack(data: Buffer, name: string, type: string): { name: string; data: Buffer }[] {
  const isGzip = data[0] === 0x1f && data[1] === 0x8b;
  const isZip = data[0] === 0x50 && data[1] === 0x4b;
  if (isGzip) return [{ name: name.replace(/\.gz$/i, ''), data: gunzipSync(data, { maxOutputLength: MAX_REPORT_BYTES }) }];
  if (isZip) {
    let total = 0;
    const files = unzipSync(new Uint8Array(data), {
      filter: (f) => {
        total += f.originalSize;
        return total <= MAX_REPORT_BYTES && /\.(xml|json)$/i.test(f.name);
      },
    });
    return Object.entries(files).map(([n, d]) => ({ name: n, data: Buffer.from(d) }));
  }
  if (/json|xml|text\/plain/.test(type) || /\.(json|xml)$/i.test(name)) return [{ name, data }];
  return [];
}

/** Report files of a message; parts that are not reports (the human-readable text) are skipped. */
export function reportFiles(message: Buffer): ReportFile[] {
  const out: ReportFile[] = [];
  for (const leaf of leaves(parseMimeTree(message))) {
    const type = `${leaf.contentType.type}/${leaf.contentType.subtype}`.toLowerCase();
    const name = leaf.disposition?.params.filename ?? leaf.contentType.params.name ?? '';
    if (type === 'text/plain' && !/\.(json|xml)(\.gz)?$/i.test(name)) continue;
    const encoding = leaf.encoding;
    let data: Buffer;
    try {
      data = decodeTransfer(message.subarray(leaf.bodyStart, leaf.bodyEnd), encoding);
      for (const f of unpack(data, name, type)) out.push({ filename: f.name, contentType: type, text: f.data.toString('utf8') });
    } catch {
      continue; // a damaged attachment: the other parts still count
    }
  }
  return out;
}
