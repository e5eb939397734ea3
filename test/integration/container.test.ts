/**
 * The container (issue 6): no container engine runs here, so the image is
 * checked the other two ways — by reading the Dockerfile (multi-stage,
 * non-root, entrypoint `postline serve` with /etc/postline/postline.yaml, the
 * /var/lib/postline volume, the ports, a HEALTHCHECK on /healthz), and by
 * running `postline serve --config` on the very config file the image ships,
 * outside a container, moved to temp paths and loopback ports by the same
 * POSTLINE_* variables an operator would use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { cleanEnv, run, within, type Workspace, serve } from '../helpers/cli.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const imageConfig = join(repo, 'docs/container/postline.yaml');

/** Dockerfile instructions of the final stage, continuation lines joined. */
function finalStage(): { instruction: string; args: string }[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: { instruction: string; args: string }[][] = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    if (instruction!.toUpperCase() === 'FROM') stages.push([]);
    stages[stages.length - 1]?.push({ instruction: instruction!.toUpperCase(), args: rest.join(' ') });
  }
  assert.ok(stages.length >= 2, 'a multi-stage build: build, then a slim runtime');
  return stages[stages.length - 1]!;
}

test('the Dockerfile: runtime stage runs `postline serve --config /etc/postline/postline.yaml` as a non-root user, with the volume, ports and a health check', () => {
  const stage = finalStage();
  const one = (name: string): string => {
    const found = stage.filter((s) => s.instruction === name);
    assert.equal(found.length, 1, `one ${name} in the runtime stage`);
    return found[0]!.args;
  };
  const entrypoint = JSON.parse(one('ENTRYPOINT')) as string[];
  const cmd = JSON.parse(one('CMD')) as string[];
  assert.deepEqual([...entrypoint.slice(-1), ...cmd], ['/app/dist/src/cli/main.js', 'serve', '--config', '/etc/postline/postline.yaml']);
  assert.equal(entrypoint[0], 'node');
  assert.notEqual(one('USER'), 'root');
  assert.match(one('VOLUME'), /\/var\/lib\/postline/);
  assert.deepEqual(one('EXPOSE').split(/\s+/).map(Number).sort((a, b) => a - b), [25, 110, 143, 465, 587, 993, 995, 8025]);
  assert.match(one('HEALTHCHECK'), /127\.0\.0\.1:8025\/healthz/);
  assert.ok(stage.some((s) => s.instruction === 'COPY' && s.args.includes('docs/container/postline.yaml /etc/postline/postline.yaml')));
  // The runtime stage has no compiler and no dev dependencies: they stay in the build stage.
  assert.ok(!stage.some((s) => s.instruction === 'RUN' && /npm (ci|install)/.test(s.args)));
});

test('the compose example: a relay and a sink built from this Dockerfile, each with its own volume', () => {
  const compose = parse(readFileSync(join(repo, 'docs/container/compose.yaml'), 'utf8')) as { services: Record<string, { volumes?: string[]; configs?: { target: string }[] }> };
  assert.deepEqual(Object.keys(compose.services).sort(), ['relay', 'sink']);
  for (const service of Object.values(compose.services)) {
    assert.ok(service.volumes?.some((v) => v.endsWith(':/var/lib/postline')));
    assert.ok(service.configs?.some((c) => c.target === '/etc/postline/postline.yaml'));
  }
});

test("the image's config serves outside a container: every listener up, /healthz 200", { timeout: 60_000 }, async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'postline-image-'));
  // What an operator would override; the file itself is used as shipped.
  const env = cleanEnv({
    POSTLINE_DATA_DIR: join(cwd, 'data'),
    ...Object.fromEntries(['SMTP', 'SUBMISSION', 'SMTPS', 'POP3', 'POP3S', 'IMAP', 'IMAPS', 'HTTP'].map((l) => [`POSTLINE_LISTEN__${l}`, '127.0.0.1:0'])),
  });
  try {
    const checked = await run(['check-config', '--config', imageConfig], { cwd, env });
    assert.equal(checked.code, 0, checked.stderr);
    const ws: Workspace = { cwd, config: imageConfig, dataDir: join(cwd, 'data') };
    const served = serve(ws, env);
    try {
      const ready = await served.waitForLog((l) => l.msg === 'postline ready', 20_000);
      assert.deepEqual((ready.services as string[]).sort(), ['http', 'imap', 'imaps', 'pop3', 'pop3s', 'queue', 'smtp', 'smtps', 'submission']);
      const http = served.logs.find((l) => l.msg === 'listening' && l.listener === 'http');
      const response = await fetch(`http://${String(http!.address)}/healthz`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: 'ok' });
      served.child.kill('SIGTERM');
      assert.equal(await within(served.exit, 15_000, 'exit after SIGTERM'), 0);
    } finally {
      served.child.kill('SIGKILL');
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
