/** Running the `postline` executable in tests: a clean env, a temp workspace, one-shot commands and a served process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MAIN = CLI_MAIN;


/** The parent's env minus POSTLINE_* (they would leak into the config), plus a cheap hash cost. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('POSTLINE_')) env[k] = v;
  return { ...env, POSTLINE_SCRYPT_LN: '4', ...extra };
}

export interface Workspace {
  cwd: string;
  config: string;
  dataDir: string;
}

/** A temp cwd with a config file whose dataDir is ./data next to it. */
export function workspace(yaml = ''): Workspace {
  const cwd = mkdtempSync(join(tmpdir(), 'postline-cli-'));
  const config = join(cwd, 'test.yaml');
  writeFileSync(config, `hostname: mx.test.example\ndataDir: ./data\ndomains: [example.org]\nstore: { fsync: off }\n${yaml}`);
  return { cwd, config, dataDir: join(cwd, 'data') };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(args: string[], opts: { cwd: string; input?: string; env?: Record<string, string> }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // Always a pipe, never a TTY: without input the command sees an empty stdin.
    child.stdin!.end(opts.input ?? '');
  });
}

export interface Served {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exit: Promise<number | null>;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
}

export function serve(ws: Workspace, env = cleanEnv()): Served {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', ws.config], { cwd: ws.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      logs.push(JSON.parse(line)); // every stdout line must be JSON
    }
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    logs,
    stderr: () => stderr,
    exit,
    waitForLog: (pred, ms) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find(pred);
          if (!hit) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within ${ms} ms; got:\n${logs.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${stderr}`));
        }, ms);
        waiters.add(check);
        check();
      }),
  };
}

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

