/**
 * Whether bytes have the shape of an Internet message (RFC 5322 §2.1): a header section of header fields,
 * then optionally an empty line and a body. Used where a client hands over "a message" that is checked.
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/**
 * Null when `head` (the message's first bytes; the header section may go on past them) starts with a
 * header field and every line up to the empty line is a field or a folded continuation of one; otherwise
 * what is wrong. RFC 5322 §2.2: a field name is printable US-ASCII but ":" (33-126) followed by ":".
 * A last line cut off by the end of `head` is judged only when the whole message was given (`complete`).
 */
export function messageShapeProblem(head: Buffer, complete: boolean): string | null {
  if (head.length === 0) return 'the message is empty';
  let lineStart = 0;
  let fields = 0;
  let line = 0;
  while (lineStart < head.length) {
    const nl = head.indexOf(LF, lineStart);
    if (nl < 0 && !complete) break;
    line++;
    const lineEnd = nl < 0 ? head.length : nl > lineStart && head[nl - 1] === CR ? nl - 1 : nl;
    if (lineEnd === lineStart) return fields > 0 ? null : 'the message has no header fields';
    const first = head[lineStart]!;
    if (first === SP || first === HTAB) {
      if (fields === 0) return 'the message starts with a folded line, not a header field';
    } else {
      let i = lineStart;
      while (i < lineEnd && head[i]! >= 33 && head[i]! <= 126 && head[i] !== COLON) i++;
      if (i === lineStart || i >= lineEnd || head[i] !== COLON) return `line ${line} of the header section is not a header field`;
      fields++;
    }
    if (nl < 0) break;
    lineStart = nl + 1;
  }
  return null;
}
