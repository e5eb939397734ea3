/**
 * How a run is shown to a person: the redrawn progress line and the summary
 * table. Pure functions of the numbers (no streams, no clock), so they are
 * tested as text.
 */
import type { LoadResult, Progress } from './stats.js';

/** 12345.6 → "12,346" (without Intl: its first use costs ~30 ms of startup). */
export function formatInt(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Seconds left → "0s", "42s", "3m05s", "2h07m"; "?" when unknown. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * `[#####.....] 4,210/10,000  3,912 msg/s  ETA 1s` (rate: the average since
 * the start). Without a known total: `4,210  3,912 msg/s`.
 */
export function formatProgressLine(p: Progress, barWidth = 20): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const failed = p.failed > 0 ? `  ${formatInt(p.failed)} failed` : '';
  if (p.total <= 0) return `${formatInt(p.done)}  ${formatInt(rate)} msg/s${failed}`;
  const filled = Math.min(barWidth, Math.floor((p.done / p.total) * barWidth));
  const bar = '#'.repeat(filled) + '.'.repeat(barWidth - filled);
  const eta = rate > 0 ? formatEta((p.total - p.done) / rate) : '?';
  return `[${bar}] ${formatInt(p.done)}/${formatInt(p.total)}  ${formatInt(rate)} msg/s  ETA ${eta}${failed}`;
}

function formatMs(ms: number): string {
  return Number.isFinite(ms) ? `${ms.toFixed(2)} ms` : '-';
}

/** "550: 3, ECONNRESET: 1" (most frequent first), or "none". */
export function formatErrors(errors: Record<string, number>): string {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k}: ${formatInt(n)}`).join(', ');
}

/** "0.42 s (42 µs per message)": the generator's own cost. */
function formatCpu(r: LoadResult): string {
  const ops = r.ok + r.failed;
  return `${r.cpuSeconds.toFixed(2)} s${ops > 0 ? ` (${formatInt((r.cpuSeconds * 1e6) / ops)} µs per message)` : ''}`;
}

/** A two-column plain table: what was run (`about`), then the figures. */
export function formatSummary(result: LoadResult, about: readonly (readonly [string, string])[] = []): string[] {
  const rows: [string, string][] = [
    ...about.map(([k, v]): [string, string] => [k, v]),
    ['messages ok', formatInt(result.ok)],
    ['failed', formatInt(result.failed)],
    ['seconds', result.seconds.toFixed(3)],
    ['msg/s', formatInt(result.rate)],
    ['MB/s', result.mbPerSec.toFixed(2)],
    ['latency p50', formatMs(result.p50Ms)],
    ['latency p95', formatMs(result.p95Ms)],
    ['latency p99', formatMs(result.p99Ms)],
    ['errors', formatErrors(result.errors)],
    ['client cpu', formatCpu(result)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}
