/**
 * Reads a server transcript (what TestClient.send returns) back into responses, so engine tests can
 * assert one response's status, code or data instead of matching the whole text.
 */

export interface ParsedResponse {
  /** `*` for untagged, `+` for a continuation, else the command tag. */
  tag: string;
  /** OK/NO/BAD/BYE/PREAUTH for a status response. */
  status?: 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';
  /** The response code without brackets, e.g. `UIDNEXT 3`. */
  code?: string;
  /** What follows the tag (and the status and code for a status response), literals inline. */
  text: string;
}

export interface Transcript {
  responses: ParsedResponse[];
  /** The driver step the output ended with (`<close>`, `<starttls>`...), if any. */
  then?: string;
  /** The tagged response of `tag`; throws when there is none. */
  tagged(tag: string): ParsedResponse;
  /** Untagged data responses of one kind (`EXISTS`, `FETCH`, `LIST`...), the text after the kind. */
  data(kind: string): string[];
  /** The response codes of the untagged status responses, e.g. `['UIDVALIDITY 7', 'UIDNEXT 3']`. */
  codes(): string[];
}

const STATUS = /^(OK|NO|BAD|BYE|PREAUTH)(?: \[([^\]]*)\])?(?: (.*))?$/s;

/** Splits a transcript into responses; a `{n}` literal is taken whole, CRLFs inside it included. */
export function parseTranscript(text: string): Transcript {
  let rest = text;
  let then: string | undefined;
  const step = /<([a-z]+)>$/.exec(rest);
  if (step !== null) {
    then = step[1];
    rest = rest.slice(0, step.index);
  }
  const lines: string[] = [];
  let i = 0;
  while (i < rest.length) {
    let line = '';
    for (;;) {
      const end = rest.indexOf('\r\n', i);
      if (end < 0) throw new Error(`unterminated response: ${JSON.stringify(rest.slice(i))}`);
      const piece = rest.slice(i, end);
      line += piece;
      i = end + 2;
      const lit = /\{(\d+)\+?\}$/.exec(piece);
      if (lit === null) break;
      // The literal's octets are counted in UTF-8.
      const bytes = Buffer.from(rest.slice(i), 'utf8').subarray(0, Number(lit[1])).toString('utf8');
      line += '\r\n' + bytes;
      i += bytes.length;
    }
    lines.push(line);
  }
  const responses = lines.map(parseLine);
  return {
    responses,
    ...(then !== undefined ? { then } : {}),
    tagged(tag) {
      const r = responses.find((x) => x.tag === tag);
      if (r === undefined) throw new Error(`no tagged response ${tag} in ${JSON.stringify(text)}`);
      return r;
    },
    data(kind) {
      const out: string[] = [];
      for (const r of responses) {
        if (r.tag !== '*' || r.status !== undefined) continue;
        const m = /^(?:\d+ )?([A-Z.=-]+)(?: (.*))?$/is.exec(r.text);
        if (m === null || m[1]!.toUpperCase() !== kind.toUpperCase()) continue;
        const numbered = /^(\d+) /.exec(r.text);
        out.push(numbered !== null ? `${numbered[1]} ${m[2] ?? ''}`.trimEnd() : m[2] ?? '');
      }
      return out;
    },
    codes() {
      return responses.filter((r) => r.tag === '*' && r.code !== undefined).map((r) => r.code!);
    },
  };
}

function parseLine(line: string): ParsedResponse {
  const sp = line.indexOf(' ');
  const tag = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? '' : line.slice(sp + 1);
  if (tag === '+') return { tag, text: rest };
  const m = STATUS.exec(rest);
  if (m === null) return { tag, text: rest };
  return {
    tag,
    status: m[1] as ParsedResponse['status'],
    ...(m[2] !== undefined ? { code: m[2] } : {}),
    text: m[3] ?? '',
  };
}
