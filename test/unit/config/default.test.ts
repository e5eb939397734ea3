import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_YAML } from '../../../src/config/default.js';
import { validateConfig } from '../../../src/config/schema.js';

test('the embedded default spells out the schema defaults: only domains and listen differ from an empty file', () => {
  const raw = parse(DEFAULT_CONFIG_YAML) as Record<string, unknown>;
  const full = validateConfig(raw, '/srv');
  const minimal = validateConfig({ domains: raw.domains, listen: raw.listen }, '/srv');
  assert.ok(full.ok && minimal.ok);
  assert.deepEqual(full.config, minimal.config);
});

test('the embedded default lists every top-level key of the spec, as documentation', () => {
  const keys = [...DEFAULT_CONFIG_YAML.matchAll(/^#? ?([a-zA-Z]+):/gm)].map((m) => m[1]);
  for (const key of ['hostname', 'dataDir', 'domains', 'users', 'aliases', 'catchAll', 'listen', 'admin', 'tls', 'auth', 'relay', 'checks', 'dns', 'delivery', 'limits', 'workers', 'store']) {
    assert.ok(keys.includes(key), key);
  }
});
