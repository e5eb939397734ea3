import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS, serverNodeFlags } from '../../../src/core/gc-tuning.js';

// The flags only work on node's command line, so each launcher must carry them (src/core/gc-tuning.ts).
const repo = (path: string): string => readFileSync(fileURLToPath(new URL(`../../../../${path}`, import.meta.url)), 'utf8');

test('every launcher of `postline serve` passes the server node flags', () => {
  const flags = SERVER_NODE_FLAGS.join(' ');
  assert.ok(flags.length > 0);
  const start = JSON.parse(repo('package.json')).scripts.start as string;
  assert.match(start, new RegExp(`^node ${flags} dist/src/cli/main\\.js serve`), 'package.json start');
  const entrypoint = /^ENTRYPOINT (.*)$/m.exec(repo('Dockerfile'))?.[1];
  assert.deepEqual(JSON.parse(entrypoint ?? '[]'), ['node', ...SERVER_NODE_FLAGS, '/app/dist/src/cli/main.js'], 'Dockerfile ENTRYPOINT');
  assert.equal(repo('src/cli/main.ts').split('\n')[0], `#!/usr/bin/env -S node ${flags}`, 'the postline executable');
});

test('a child started with process.execPath gets them under node, not under Bun', () => {
  assert.deepEqual(serverNodeFlags(), process.versions.bun === undefined ? [...SERVER_NODE_FLAGS] : []);
});
