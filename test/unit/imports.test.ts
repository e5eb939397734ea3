/**
 * The import rule of STYLE.md: dependencies point downstream only
 * (net → protocol → policy → queue/store → delivery), leaves (core, codec)
 * import no other part of postline, and only the composition roots (src/main,
 * src/cli) may import everything. Checked on the TypeScript sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/unit/imports.test.js → repository root
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** What each top-level part of src/ may import (besides itself). '*' = anything. */
const ALLOWED: Record<string, readonly string[] | '*'> = {
  core: [],
  codec: ['core'],
  config: ['core', 'auth'],
  auth: ['core'],
  users: ['core', 'auth', 'config'],
  pool: ['core', 'codec', 'store', 'auth'], // pool/tasks.ts names the store's encode types and MimeInfo: the task contract
  dns: ['core', 'config'],
  net: ['core', 'codec', 'config', 'protocol', 'policy', 'auth', 'pool'],
  protocol: ['core', 'codec', 'config', 'policy', 'auth'],
  policy: ['core', 'codec', 'config', 'dns', 'auth', 'users'],
  queue: ['core', 'codec', 'config', 'store', 'pool', 'delivery'],
  store: ['core', 'codec', 'pool'], // codec/mime: readMimeInfo parses messages (pool or inline)
  delivery: ['core', 'codec', 'config', 'dns', 'pool'],
  http: ['core', 'config', 'net'], // net/proxy.ts: the PROXY header before HTTP
  metrics: ['core'], // prom-client lives here; its inputs are structural ports wired by main
  loadgen: ['core', 'codec', 'config'], // a standalone client layer (postline bench, bench/): never the server's parts
  cli: '*',
  'main.ts': '*',
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (name.endsWith('.ts')) out.push(full);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g)) {
    specs.push((m[1] ?? m[2] ?? m[3])!);
  }
  return specs.filter((s) => s.startsWith('.'));
}

function partOf(srcFile: string): string {
  return relative(join(root, 'src'), srcFile).split(sep)[0]!;
}

test('src/ imports follow the downstream-only rule', () => {
  const violations: string[] = [];
  for (const file of sources(join(root, 'src'))) {
    const from = partOf(file);
    const allowed = ALLOWED[from];
    assert.ok(allowed !== undefined, `src/${from} has no entry in the import rule; add one`);
    for (const spec of importsOf(file)) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(join(root, 'src') + sep)) {
        violations.push(`${relative(root, file)} imports ${spec}, outside src/`);
        continue;
      }
      const to = partOf(target.replace(/\.js$/, '.ts'));
      if (to === from || allowed === '*' || allowed.includes(to)) continue;
      violations.push(`${relative(root, file)} (src/${from}) imports src/${to}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('workers/ see only plain-data modules: core, codecs, the store codec, the task contract, auth', () => {
  const allowed = ['core', 'store', 'pool', 'auth', 'codec'];
  const violations: string[] = [];
  for (const file of sources(join(root, 'workers'))) {
    for (const spec of importsOf(file)) {
      const target = resolve(dirname(file), spec);
      const part = relative(join(root, 'src'), target).split(sep)[0]!;
      if (!allowed.includes(part)) violations.push(`${relative(root, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});
