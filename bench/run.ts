/**
 * `npm run bench`: prints the environment, then runs the benchmark modules
 * listed in BENCHMARKS in order.
 *
 *   node dist/bench/run.js [--only NAME[,NAME]] [--quick] [--json FILE]
 *                          [--compare FILE [--tolerance PCT]] [-- MODULE ARGS...]
 *
 * Exit codes: 0 ok; 1 a benchmark failed (threw, or an output check failed)
 * or a figure is worse than the --compare baseline by more than the
 * tolerance; 2 bad arguments or an unreadable baseline.
 *
 * Adding a benchmark: write a module exporting `async function run(ctx:
 * BenchContext)` (see bench/lib/runner.ts) and add one line to BENCHMARKS.
 * Paths are relative to this file once compiled (dist/bench/run.js).
 */
import { parseArgs } from 'node:util';
import { getResults, printEnvironment, QUICK_MICRO, recordResult, runMicro, writeResults, type BenchContext, type Figure } from './lib/runner.js';
import { compareFigures, DEFAULT_TOLERANCE_PCT, formatComparison, isFailure, loadBaseline, parseTolerance } from './lib/compare.js';

interface BenchmarkEntry {
  name: string;
  module: string;
}

const BENCHMARKS: readonly BenchmarkEntry[] = [
  { name: 'corpus', module: './micro/corpus.bench.js' },
  { name: 'decode', module: './micro/decode.bench.js' },
  { name: 'store', module: './macro/store.js' },
  { name: 'smtp', module: './macro/smtp.js' },
  { name: 'relay', module: './macro/relay.js' },
  { name: 'mda', module: './macro/mda.js' },
];

const USAGE = 'usage: node dist/bench/run.js [--only NAME[,NAME]] [--quick] [--json FILE] [--compare FILE [--tolerance PCT]] [-- MODULE ARGS...]';

interface Options {
  selected: readonly BenchmarkEntry[];
  quick: boolean;
  json: string | undefined;
  baseline: Record<string, Figure> | undefined;
  tolerancePct: number;
  moduleArgs: string[];
}

/** Everything that can be wrong with the command line is found before any benchmark runs. */
function parseOptions(argv: string[]): Options {
  const cut = argv.indexOf('--');
  const own = cut === -1 ? argv : argv.slice(0, cut);
  const { values } = parseArgs({
    args: own,
    strict: true,
    allowPositionals: false,
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      compare: { type: 'string' },
      tolerance: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`${USAGE}\nbenchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    process.exit(0);
  }
  let selected = BENCHMARKS;
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
    if (names.length === 0 || unknown.length > 0) {
      throw new Error(`--only: unknown benchmark "${unknown.join(',') || values.only}" (known: ${BENCHMARKS.map((b) => b.name).join(', ')})`);
    }
    selected = BENCHMARKS.filter((b) => names.includes(b.name));
  }
  if (values.tolerance !== undefined && values.compare === undefined) throw new Error('--tolerance needs --compare');
  return {
    selected,
    quick: values.quick,
    json: values.json,
    baseline: values.compare !== undefined ? loadBaseline(values.compare) : undefined,
    tolerancePct: values.tolerance !== undefined ? parseTolerance(values.tolerance) : DEFAULT_TOLERANCE_PCT,
    moduleArgs: cut === -1 ? [] : argv.slice(cut + 1),
  };
}

async function runOne(entry: BenchmarkEntry, ctx: BenchContext): Promise<boolean> {
  console.log(`\n# ${entry.name}`);
  const started = performance.now();
  try {
    const mod = (await import(entry.module)) as { run?: unknown };
    if (typeof mod.run !== 'function') throw new Error(`${entry.module} does not export run(ctx)`);
    await (mod.run as (ctx: BenchContext) => Promise<void>)(ctx);
    console.log(`\n(${entry.name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return true;
  } catch (err) {
    console.error(`\n${entry.name} FAILED: ${(err as Error).stack ?? String(err)}`);
    return false;
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  printEnvironment();
  const micro = opts.quick ? QUICK_MICRO : {};
  const ctx: BenchContext = {
    quick: opts.quick,
    args: opts.moduleArgs,
    recordResult,
    runMicro: (name, tasks) => runMicro(name, tasks, micro),
  };
  const failed: string[] = [];
  for (const entry of opts.selected) if (!(await runOne(entry, ctx))) failed.push(entry.name);

  // Written even after a failure: the figures that were measured are still worth keeping.
  if (opts.json !== undefined) {
    writeResults(opts.json);
    console.log(`\nresults written to ${opts.json}`);
  }
  let worse = false;
  if (opts.baseline) {
    const rows = compareFigures(getResults().figures, opts.baseline, opts.tolerancePct);
    console.log(`\n# compared with the baseline\n\n${formatComparison(rows, opts.tolerancePct)}`);
    worse = rows.some(isFailure);
  }
  if (failed.length > 0) console.error(`\nfailed: ${failed.join(', ')}`);
  return failed.length > 0 || worse ? 1 : 0;
}

// Exit explicitly: a benchmark that leaks a socket or timer must not hang the run.
process.exit(await main());
