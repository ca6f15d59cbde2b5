/**
 * Load figures for abuse cases: peak RSS of this process (the in-process server), event-loop delay p99,
 * and a canary client that submits a small message every ~100 ms and records its latency.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { smtpOpen, smtpReply, SMTP_REPLY, lastCode } from './conn.ts';

export interface Monitor {
  stop(): Promise<MonitorResult>;
}
export interface MonitorResult {
  peakRssMb: number;
  lagP99Ms: number;
  canarySent: number;
  canaryFailed: number;
  canaryP99Ms: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Starts sampling and (when `canary` is given) a client delivering to `canary.to` on the MX port. */
export function startMonitor(canary?: { port: number; to: string }): Monitor {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const latencies: number[] = [];
  let failed = 0;
  let running = true;
  const loop = (async () => {
    if (!canary) return;
    while (running) {
      const began = Date.now();
      try {
        const c = await smtpOpen(canary.port, { timeoutMs: 10_000 });
        await c.cmd('MAIL FROM:<canary@outside.test>', smtpReply(250));
        await c.cmd(`RCPT TO:<${canary.to}>`, smtpReply(250));
        await c.cmd('DATA', smtpReply(354));
        const r = await c.cmd(`Subject: canary\r\n\r\ncanary ${began}\r\n.`, SMTP_REPLY);
        if (lastCode(r) !== 250) failed++;
        c.write('QUIT\r\n');
        c.close();
        latencies.push(Date.now() - began);
      } catch {
        failed++;
        latencies.push(Date.now() - began);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      clearInterval(sampler);
      lag.disable();
      peak = Math.max(peak, process.memoryUsage().rss);
      return {
        peakRssMb: Math.round(peak / 1048576),
        lagP99Ms: Math.round(lag.percentile(99) / 1e6),
        canarySent: latencies.length,
        canaryFailed: failed,
        canaryP99Ms: percentile(latencies, 99),
      };
    },
  };
}
