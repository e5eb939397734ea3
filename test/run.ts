/**
 * Runs every compiled test file (dist/test/**\/*.test.js) with node's test
 * runner, or with `bun test` when called with --bun. Helpers under
 * test/helpers are not test files, so we list files ourselves rather than
 * rely on the runner's directory patterns.
 *
 *   node dist/test/run.js [--bun] [filter ...]
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const useBun = args.includes('--bun');
const filters = args.filter((a) => a !== '--bun');

function listTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listTests(full));
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const files = listTests(here)
  .map((f) => './' + relative(process.cwd(), f))
  .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)));

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const result = useBun
  ? spawnSync(process.execPath, ['test', '--timeout', '120000', ...files], { stdio: 'inherit' })
  : spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
