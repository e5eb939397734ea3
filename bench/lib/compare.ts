/**
 * `--compare FILE`: puts this run's figures beside a baseline and says which
 * got worse by more than the tolerance. The baseline is any earlier `--json`
 * output (or a hand-written file of the same shape), so guarding throughput
 * is: keep a baseline per machine class, compare, fail the job on exit 1.
 */
import { readFileSync } from 'node:fs';
import { formatTable, type Figure } from './runner.js';

export const DEFAULT_TOLERANCE_PCT = 20;

export type Status = 'ok' | 'better' | 'worse' | 'new' | 'not measured' | 'unit changed' | 'no baseline value';

export interface Comparison {
  name: string;
  unit: string;
  current: number | null;
  baseline: number | null;
  /** current / baseline. */
  ratio: number | null;
  /** How much worse, in %, taking the direction into account (negative = better). */
  worsePct: number | null;
  status: Status;
}

/** Statuses that fail the run. A changed unit means the figure's meaning changed: refresh the baseline on purpose. */
export function isFailure(c: Comparison): boolean {
  return c.status === 'worse' || c.status === 'unit changed';
}

/** Reads and validates `{ figures: { name: { value, unit, higherIsBetter } } }`; throws with the reason. */
export function loadBaseline(file: string): Record<string, Figure> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read baseline ${file}: ${(err as Error).message}`);
  }
  const figures = (data as { figures?: unknown } | null)?.figures;
  if (typeof figures !== 'object' || figures === null || Array.isArray(figures)) throw new Error(`${file}: no "figures" object`);
  const out: Record<string, Figure> = {};
  for (const [name, f] of Object.entries(figures as Record<string, unknown>)) {
    const { value, unit, higherIsBetter } = (f ?? {}) as Partial<Figure>;
    if (typeof value !== 'number' || !Number.isFinite(value) || typeof unit !== 'string' || typeof higherIsBetter !== 'boolean') {
      throw new Error(`${file}: figures.${name} needs { value: number, unit: string, higherIsBetter: boolean }`);
    }
    out[name] = { value, unit, higherIsBetter };
  }
  return out;
}

/**
 * One row per figure in either set, baseline order first. The baseline's
 * direction wins: it is the reference the tolerance was agreed against.
 * Figures the run did not measure (e.g. under --only) are listed, not failed.
 */
export function compareFigures(current: Record<string, Figure>, baseline: Record<string, Figure>, tolerancePct: number): Comparison[] {
  const names = [...Object.keys(baseline), ...Object.keys(current).filter((n) => !(n in baseline))];
  return names.map((name): Comparison => {
    const cur = current[name];
    const base = baseline[name];
    const row = { name, unit: (base ?? cur)!.unit, current: cur?.value ?? null, baseline: base?.value ?? null, ratio: null, worsePct: null };
    if (!base) return { ...row, status: 'new' };
    if (!cur) return { ...row, status: 'not measured' };
    if (cur.unit !== base.unit) return { ...row, unit: `${base.unit} -> ${cur.unit}`, status: 'unit changed' };
    if (base.value <= 0) return { ...row, status: 'no baseline value' };
    const ratio = cur.value / base.value;
    const worsePct = (base.higherIsBetter ? 1 - ratio : ratio - 1) * 100;
    const status: Status = worsePct > tolerancePct ? 'worse' : worsePct < -tolerancePct ? 'better' : 'ok';
    return { ...row, ratio, worsePct, status };
  });
}

export function formatComparison(rows: readonly Comparison[], tolerancePct: number): string {
  const num = (v: number | null) => (v === null ? '-' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));
  const table = formatTable(rows.map((r) => ({
    figure: r.name,
    baseline: num(r.baseline),
    current: num(r.current),
    unit: r.unit,
    ratio: r.ratio === null ? '-' : r.ratio.toFixed(3),
    change: r.worsePct === null ? '-' : `${r.worsePct > 0 ? 'worse' : 'better'} ${Math.abs(r.worsePct).toFixed(1)}%`,
    status: r.status === 'worse' || r.status === 'unit changed' ? `${r.status.toUpperCase()} !` : r.status,
  })));
  const failed = rows.filter(isFailure).length;
  return failed === 0
    ? `${table}\n\nno figure is worse than the baseline by more than ${tolerancePct}%`
    : `${table}\n\n${failed} figure(s) worse than the baseline by more than ${tolerancePct}%, or with a changed unit`;
}

/** Parses `--tolerance`: a percentage, e.g. `20` or `12.5%`. */
export function parseTolerance(text: string): number {
  const pct = Number(text.replace(/%$/, ''));
  if (!Number.isFinite(pct) || pct < 0 || text.trim() === '') throw new Error(`--tolerance must be a percentage >= 0, got "${text}"`);
  return pct;
}
