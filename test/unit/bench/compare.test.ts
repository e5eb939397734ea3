/**
 * The benchmark regression guard (`npm run bench -- --compare FILE`): which
 * figures count as worse, in which direction, and what makes the run fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareFigures, formatComparison, isFailure, loadBaseline, parseTolerance } from '../../../bench/lib/compare.js';

const fig = (value: number, unit = 'msg/s', higherIsBetter = true) => ({ value, unit, higherIsBetter });

test('a throughput that drops by more than the tolerance fails; within it or better does not', () => {
  const baseline = { a: fig(1000), b: fig(1000), c: fig(1000) };
  const rows = compareFigures({ a: fig(790), b: fig(810), c: fig(1500) }, baseline, 20);
  assert.deepEqual(
    rows.map((r) => [r.name, r.status]),
    [
      ['a', 'worse'],
      ['b', 'ok'],
      ['c', 'better'],
    ],
  );
  assert.deepEqual(rows.map(isFailure), [true, false, false]);
  assert.ok(Math.abs(rows[0]!.worsePct! - 21) < 1e-9);
});

test('lower-is-better figures (latency, bytes) are worse when they grow; the baseline decides the direction', () => {
  const baseline = { p99: fig(10, 'ms', false), bytes: fig(100, 'B', false) };
  const rows = compareFigures({ p99: fig(13, 'ms', true), bytes: fig(70, 'B', false) }, baseline, 20);
  assert.deepEqual(rows.map((r) => r.status), ['worse', 'better']);
});

test('a changed unit fails (the figure means something else now); new and unmeasured figures are listed, not failed', () => {
  const rows = compareFigures({ x: fig(5, 's'), fresh: fig(1) }, { x: fig(5, 'msg/s'), gone: fig(1) }, 20);
  assert.deepEqual(
    rows.map((r) => [r.name, r.status, isFailure(r)]),
    [
      ['x', 'unit changed', true],
      ['gone', 'not measured', false],
      ['fresh', 'new', false],
    ],
  );
  assert.match(formatComparison(rows, 20), /1 figure\(s\) worse than the baseline by more than 20%/);
});

test('tolerance and baseline files are validated with a clear reason', () => {
  assert.equal(parseTolerance('12.5%'), 12.5);
  assert.equal(parseTolerance('0'), 0);
  for (const bad of ['', '-1', 'lots']) assert.throws(() => parseTolerance(bad), /--tolerance must be a percentage/);
  const dir = mkdtempSync(join(tmpdir(), 'postline-baseline-'));
  try {
    const file = join(dir, 'b.json');
    writeFileSync(file, JSON.stringify({ figures: { a: { value: 1, unit: 'msg/s', higherIsBetter: true } } }));
    assert.deepEqual(loadBaseline(file), { a: fig(1) });
    writeFileSync(file, JSON.stringify({ figures: { a: { value: 'fast', unit: 'msg/s', higherIsBetter: true } } }));
    assert.throws(() => loadBaseline(file), /figures\.a needs \{ value: number/);
    writeFileSync(file, '{');
    assert.throws(() => loadBaseline(file), /cannot read baseline/);
    assert.throws(() => loadBaseline(join(dir, 'missing.json')), /cannot read baseline/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
