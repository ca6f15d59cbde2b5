/**
 * THREAD / UID THREAD (RFC 5256 §3) with the ORDEREDSUBJECT and REFERENCES algorithms (RFC 5256 §2.1,
 * §2.2): the matching messages grouped into threads, answered as nested parenthesised lists.
 */
import { no, ok, type CommandSpec } from '../command.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { baseSubject, type SearchSubject } from '../search-query.ts';
import type { MimePart } from '../../../message/mime-tree.ts';
import { decodeHeaderValue } from '../../../message/encoded-words.ts';
import { selectedMailbox } from './message-set.ts';
import { parseRest, runSearch } from './search.ts';

/** A node of the thread tree: a message, or a dummy standing for one that is referenced but absent. */
interface Node {
  subject: SearchSubject | null;
  parent: Node | null;
  children: Node[];
}

function header(root: MimePart | undefined, name: string): string | undefined {
  return root?.headers.find((h) => h.name.toLowerCase() === name)?.value;
}

function messageIds(value: string | undefined): string[] {
  return value === undefined ? [] : [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
}

/** RFC 5256 §2.2: the sent date (Date header), or the internal date when it is missing or invalid. */
function sentDate(s: SearchSubject): number {
  const raw = header(s.message?.root, 'date');
  const t = raw === undefined ? NaN : Date.parse(raw.replace(/\([^)]*\)/g, ''));
  return Number.isNaN(t) ? s.meta.internalDate.getTime() : t;
}

/** RFC 5256 §2.1: a subject that had reply or forward markers ("Re:", "Fwd:", "(fwd)") removed. */
function isReplyOrForward(s: SearchSubject): boolean {
  const raw = header(s.message?.root, 'subject');
  if (raw === undefined) return false;
  const text = decodeHeaderValue(raw).replace(/\s+/g, ' ').trim();
  return /^(?:\[[^\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^\]]*\])?\s*:|\(fwd\)$|^\[fwd:/i.test(text);
}

function subjectOf(s: SearchSubject): string {
  const raw = header(s.message?.root, 'subject');
  return raw === undefined ? '' : baseSubject(raw);
}

/** Sent date, then message order (RFC 5256 §2.2: ties by sequence number). */
function compareMessages(a: SearchSubject, b: SearchSubject): number {
  return sentDate(a) - sentDate(b) || a.seq - b.seq;
}

/** The message a node is sorted and grouped by: its own, or a dummy's first child's (RFC 5256 §2.2 steps 5, 6). */
function representative(n: Node): SearchSubject | null {
  return n.subject ?? (n.children[0] === undefined ? null : representative(n.children[0]));
}

function compareNodes(a: Node, b: Node): number {
  const x = representative(a);
  const y = representative(b);
  if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
  return compareMessages(x, y);
}

function isAncestor(maybe: Node, of: Node): boolean {
  for (let p: Node | null = of; p !== null; p = p.parent) if (p === maybe) return true;
  return false;
}

function link(parent: Node, child: Node): void {
  if (child.parent !== null) child.parent.children.splice(child.parent.children.indexOf(child), 1);
  child.parent = parent;
  parent.children.push(child);
}

/** RFC 5256 §2.2 REFERENCES. */
export function threadByReferences(found: SearchSubject[]): Node[] {
  const byId = new Map<string, Node>();
  const all: Node[] = [];
  const container = (id: string): Node => {
    let n = byId.get(id);
    if (n === undefined) {
      n = { subject: null, parent: null, children: [] };
      byId.set(id, n);
      all.push(n);
    }
    return n;
  };
  for (const s of found) {
    const root = s.message?.root;
    // Step 1: a message without a Message-ID, or with one already taken, gets a unique one.
    const own = messageIds(header(root, 'message-id'))[0];
    let node: Node;
    if (own !== undefined && byId.get(own)?.subject === null) node = byId.get(own)!;
    else if (own !== undefined && !byId.has(own)) node = container(own);
    else {
      node = { subject: null, parent: null, children: [] };
      all.push(node);
    }
    node.subject = s;
    // References, or else the first message id of In-Reply-To.
    let refs = messageIds(header(root, 'references'));
    if (refs.length === 0) refs = messageIds(header(root, 'in-reply-to')).slice(0, 1);
    // Step 1A: link each reference to the next, unless it already has a parent or a loop would result.
    for (let i = 0; i + 1 < refs.length; i++) {
      const p = container(refs[i]!);
      const c = container(refs[i + 1]!);
      if (c.parent === null && p !== c && !isAncestor(c, p)) link(p, c);
    }
    // Step 1B: the last reference (or none) is the parent, replacing a parent guessed from another
    // message's References; no link is made that would create a loop.
    if (node.parent !== null) {
      node.parent.children.splice(node.parent.children.indexOf(node), 1);
      node.parent = null;
    }
    const last = refs.length > 0 ? container(refs[refs.length - 1]!) : null;
    if (last !== null && last !== node && !isAncestor(node, last)) link(last, node);
  }
  // Step 2: the root set.
  let roots = all.filter((n) => n.parent === null);
  // Step 4: prune dummies.
  roots = prune(roots, true);
  for (const r of roots) r.parent = null;
  // Step 5: sort the root set by sent date.
  roots.sort(compareNodes);
  // Step 6: group the root set by base subject.
  const table = new Map<string, Node>();
  for (const r of roots) {
    const rep = representative(r);
    if (rep === null) continue;
    const subject = subjectOf(rep);
    if (subject === '') continue;
    const old = table.get(subject);
    if (old === undefined || (r.subject === null && old.subject !== null) || (old.subject !== null && isReplyOrForward(old.subject) && r.subject !== null && !isReplyOrForward(r.subject))) {
      table.set(subject, r);
    }
  }
  const merged: Node[] = [];
  const gone = new Set<Node>();
  for (const r of roots) {
    const rep = representative(r);
    const subject = rep === null ? '' : subjectOf(rep);
    const t = subject === '' ? undefined : table.get(subject);
    if (t === undefined || t === r || gone.has(r)) {
      merged.push(r);
      continue;
    }
    gone.add(r);
    if (t.subject === null && r.subject === null) {
      for (const c of [...r.children]) link(t, c);
    } else if (t.subject === null) {
      link(t, r);
    } else if (r.subject !== null && isReplyOrForward(r.subject) && !isReplyOrForward(t.subject)) {
      link(t, r);
    } else {
      // Both become children of a new dummy that takes the table entry's place.
      const dummy: Node = { subject: null, parent: null, children: [] };
      const at = merged.indexOf(t);
      if (at >= 0) merged[at] = dummy;
      else gone.add(t);
      link(dummy, t);
      t.parent = dummy;
      link(dummy, r);
      table.set(subject, dummy);
      if (at < 0) merged.push(dummy);
    }
  }
  const result = merged.filter((n) => !gone.has(n) || n.subject === null);
  // Step 7: sort every set of siblings by sent date, depth first.
  const sortDeep = (nodes: Node[]): void => {
    for (const n of nodes) sortDeep(n.children);
    nodes.sort(compareNodes);
  };
  sortDeep(result);
  return result;
}

/**
 * RFC 5256 §2.2 step 4: a dummy without children goes; a dummy's children take its place, except that
 * a dummy at the root with more than one child stays (its children would otherwise become separate threads).
 */
function prune(nodes: Node[], atRoot: boolean): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    n.children = prune(n.children, false);
    for (const c of n.children) c.parent = n;
    if (n.subject !== null) out.push(n);
    else if (n.children.length === 0) continue;
    else if (atRoot && n.children.length > 1) out.push(n);
    else out.push(...n.children);
  }
  return out;
}

/** RFC 5256 §2.1 ORDEREDSUBJECT: by base subject, then sent date; each subject's first message is the parent. */
export function threadByOrderedSubject(found: SearchSubject[]): Node[] {
  const groups = new Map<string, SearchSubject[]>();
  for (const s of [...found].sort(compareMessages)) {
    const key = subjectOf(s);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [s]);
    else g.push(s);
  }
  const threads: Node[] = [];
  for (const g of groups.values()) {
    const parent: Node = { subject: g[0]!, parent: null, children: [] };
    for (const s of g.slice(1)) parent.children.push({ subject: s, parent, children: [] });
    threads.push(parent);
  }
  // Threads in the order of their first message's sent date.
  return threads.sort(compareNodes);
}

/** RFC 5256 §4 thread-list: a chain of only children is written flat, siblings each in parentheses. */
function formatMembers(n: Node, id: (s: SearchSubject) => number): string {
  const head = n.subject === null ? '' : String(id(n.subject));
  if (n.children.length === 0) return head;
  const tail = n.children.length === 1 && n.subject !== null
    ? formatMembers(n.children[0]!, id)
    : n.children.map((c) => `(${formatMembers(c, id)})`).join('');
  return head === '' ? tail : `${head} ${tail}`;
}

export const THREAD: CommandSpec = {
  states: ['selected'],
  noExpungeAfter: true,
  async handle(ctx, args) {
    const algorithm = args.atom('threading algorithm').toUpperCase();
    if (algorithm !== 'REFERENCES' && algorithm !== 'ORDEREDSUBJECT') throw new ImapSyntaxError(`Unknown threading algorithm ${algorithm}`);
    const cs = args.astring('charset').toUpperCase();
    if (cs !== 'UTF-8' && cs !== 'US-ASCII') return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    const key = parseRest(args);
    const found = await runSearch(ctx.session, selectedMailbox(ctx), key, true, ['internalDate']);
    const threads = algorithm === 'REFERENCES' ? threadByReferences(found) : threadByOrderedSubject(found);
    const id = (s: SearchSubject): number => (ctx.isUid ? s.meta.uid : s.seq);
    ctx.untagged(`THREAD${threads.length > 0 ? ' ' : ''}${threads.map((t) => `(${formatMembers(t, id)})`).join('')}`);
    return ok(`${ctx.verb} completed`);
  },
};
