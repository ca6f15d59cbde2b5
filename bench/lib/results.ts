/**
 * Bench helper: collects samples per scenario and server, prints the markdown table (scenario,
 * Postamt, Dovecot, ratio) of medians, and writes the raw samples as JSON to bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './postamt.ts';

export type Server = 'postamt' | 'dovecot';

export interface Scenario {
  key: string;
  label: string;
  unit: string;
  /** true when bigger is better (msgs/s); false for times and memory. */
  higherIsBetter: boolean;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export class Results {
  private readonly samples = new Map<string, Record<Server, number[]>>();
  private readonly scenarios: Scenario[] = [];
  private readonly notes: string[] = [];

  constructor(private readonly name: string, private readonly meta: Record<string, unknown>) {}

  add(scenario: Scenario, server: Server, value: number): void {
    if (!this.samples.has(scenario.key)) {
      this.samples.set(scenario.key, { postamt: [], dovecot: [] });
      this.scenarios.push(scenario);
    }
    this.samples.get(scenario.key)![server].push(value);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /**
   * Ratio Postamt/Dovecot for lower-is-better figures, Dovecot/Postamt for higher-is-better ones, so a
   * ratio > 1 always means "Postamt is that many times worse" and ≤ 1.5 meets the goal.
   */
  table(): string {
    const fmt = (v: number): string => (Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
    const lines = ['| scenario | Postamt | Dovecot | ratio (>1: Postamt slower/bigger) |', '|---|---|---|---|'];
    for (const s of this.scenarios) {
      const r = this.samples.get(s.key)!;
      const p = median(r.postamt);
      const d = median(r.dovecot);
      const ratio = s.higherIsBetter ? d / p : p / d;
      lines.push(`| ${s.label} (${s.unit}) | ${fmt(p)} | ${fmt(d)} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : '–'} |`);
    }
    return lines.join('\n') + (this.notes.length ? '\n\n' + this.notes.map((n) => `- ${n}`).join('\n') : '');
  }

  write(): string {
    const dir = join(repoRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const scenarios = this.scenarios.map((s) => {
      const r = this.samples.get(s.key)!;
      return { ...s, postamt: r.postamt, dovecot: r.dovecot, postamtMedian: median(r.postamt), dovecotMedian: median(r.dovecot) };
    });
    writeFileSync(file, JSON.stringify({ bench: this.name, date: new Date().toISOString(), ...this.meta, scenarios, notes: this.notes }, null, 2));
    return file;
  }
}
