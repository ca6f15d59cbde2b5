/**
 * RETURN options of SEARCH (RFC 4731, RFC 9051 §6.4.4) and SORT (RFC 5267 §3.1 ESORT): MIN, MAX, COUNT,
 * ALL, SAVE (RFC 5182), PARTIAL and UPDATE (RFC 5267 §4), and the ESEARCH response they produce.
 */
import type { Args } from '../parser/args.ts';
import { parseNumber, tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';
import { formatSequenceSet } from '../sequence-set.ts';

export interface ReturnOptions {
  min: boolean;
  max: boolean;
  count: boolean;
  all: boolean;
  save: boolean;
  /** RFC 5267 §4.4: positions low..high (1-based, low ≤ high) of the result to return. */
  partial: [number, number] | null;
  /** RFC 5267 §4.2: keep the result up to date with ADDTO/REMOVEFROM. */
  update: boolean;
}

/** `RETURN (...)` if present; null when the command has none (a plain SEARCH or SORT response). */
export function parseReturnOptions(args: Args, options: { allowSave: boolean }): ReturnOptions | null {
  if (args.optionalKeyword('RETURN') === null) return null;
  const r: ReturnOptions = { min: false, max: false, count: false, all: false, save: false, partial: null, update: false };
  const tokens = args.list('return options');
  for (let i = 0; i < tokens.length; i++) {
    const name = tokenText(tokens[i]!, 'return option').toUpperCase();
    switch (name) {
      case 'MIN': r.min = true; break;
      case 'MAX': r.max = true; break;
      case 'COUNT': r.count = true; break;
      case 'ALL': r.all = true; break;
      case 'UPDATE': r.update = true; break;
      case 'SAVE':
        if (!options.allowSave) throw new ImapSyntaxError('SAVE is a SEARCH return option');
        r.save = true;
        break;
      case 'PARTIAL': {
        const range = tokens[++i];
        if (range === undefined) throw new ImapSyntaxError('PARTIAL needs a range');
        r.partial = parsePartialRange(tokenText(range, 'partial range'));
        break;
      }
      default:
        throw new ImapSyntaxError(`Unknown RETURN option ${name}`);
    }
  }
  // RFC 4731 §3.1: RETURN () means ALL.
  if (tokens.length === 0) r.all = true;
  return r;
}

/** RFC 5267 §4.4: `partial-range = number ":" number`, both non-zero; `*` is not allowed; 4:2 means 2:4. */
function parsePartialRange(text: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(text);
  if (m === null) throw new ImapSyntaxError('Invalid PARTIAL range');
  const a = parseNumber(m[1]!, 'partial range');
  const b = parseNumber(m[2]!, 'partial range');
  if (a === 0 || b === 0) throw new ImapSyntaxError('Invalid PARTIAL range');
  return a <= b ? [a, b] : [b, a];
}

/**
 * The ESEARCH response for `ids`, in result order (ascending for SEARCH, sort order for SORT). RFC 5267
 * §3.1: for SORT, MIN and MAX are the first and last message in sort order and ALL keeps the order.
 * `modSeq`: the MODSEQ data item (RFC 7162 §3.1.5), when the search used MODSEQ.
 */
export function formatEsearch(tag: string, isUid: boolean, ids: readonly number[], r: ReturnOptions, modSeq?: number): string {
  const parts = [`ESEARCH (TAG ${formatString(tag)})`];
  if (isUid) parts.push('UID');
  if (ids.length > 0) {
    if (r.min) parts.push(`MIN ${ids[0]}`);
    if (r.max) parts.push(`MAX ${ids[ids.length - 1]}`);
  }
  if (r.count) parts.push(`COUNT ${ids.length}`);
  if (r.all && ids.length > 0) parts.push(`ALL ${formatSequenceSet(ids)}`);
  if (r.partial !== null) {
    const [low, high] = r.partial;
    const slice = ids.slice(low - 1, high);
    // RFC 5267 §4.4: NIL when no message falls in the range.
    parts.push(`PARTIAL (${low}:${high} ${slice.length > 0 ? formatSequenceSet(slice) : 'NIL'})`);
  }
  if (modSeq !== undefined) parts.push(`MODSEQ ${modSeq}`);
  return parts.join(' ');
}
