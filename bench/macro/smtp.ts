/**
 * SMTP load: postline (a separate `postline serve` process, fsync=batch)
 * against Postfix's smtp-sink (which stores nothing) with the same client
 * and the same load in the same run; smtp-source against both when Postfix
 * is installed (installed here when missing and we are root). Also memory
 * per idle connection at 10,000 connections.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCorpus, SIZES } from '../corpus.js';
import { runSmtpLoad, type SmtpLoadResult } from '../lib/smtp-load.js';
import { formatTable, type BenchContext } from '../lib/runner.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SMTP_SINK = '/usr/sbin/smtp-sink';
const SMTP_SOURCE = '/usr/sbin/smtp-source';

interface Server {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

async function startPostline(dataDir: string): Promise<Server> {
  const config = join(dataDir, 'postline.yaml');
  writeFileSync(
    config,
    [
      'hostname: bench.example',
      `dataDir: ${dataDir}/data`,
      'domains: [bench.example]',
      'users: [{ address: sink@bench.example, password: "bench-password" }]',
      'listen: { smtp: "127.0.0.1:0" }',
      'limits: { maxConnections: 20000, maxConnectionsPerIp: 20000, maxMessageSize: 1MB }',
      'store: { fsync: batch }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, POSTLINE_LOG_LEVEL: 'info' } });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('postline did not start listening within 20 s')), 20_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      const m = /"listener":"smtp","address":"[^"]*:(\d+)"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume(); // keep draining logs
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`postline exited with ${code}`)));
  });
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startSmtpSink(): Promise<Server | null> {
  if (!existsSync(SMTP_SINK)) return null;
  const port = await freePort();
  // backlog 1000; smtp-sink accepts and discards everything. As root it wants -u.
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const child = spawn(SMTP_SINK, [...user, `127.0.0.1:${port}`, '1000'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let listening = false;
  for (let i = 0; i < 50 && child.exitCode === null; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s: Socket = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) {
      listening = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!listening) {
    child.kill();
    console.log('smtp-sink did not start; no side-by-side figures');
    return null;
  }
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

/** Installs Postfix's tools when missing (Debian package postfix), if we may. */
function ensurePostfixTools(log: (s: string) => void): void {
  if (existsSync(SMTP_SINK) || process.getuid?.() !== 0) return;
  log('installing postfix (smtp-sink, smtp-source) for side-by-side figures…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postfix'], { stdio: 'ignore', env, timeout: 600_000 });
}

function smtpSource(port: number, messages: number, sessions: number, sizeBytes: number, reuse: boolean): number | null {
  if (!existsSync(SMTP_SOURCE)) return null;
  // -s sessions, -m messages, -l size, -d: one connection per message unless -d is absent? (-d = disconnect after each message)
  const args = ['-s', String(sessions), '-m', String(messages), '-l', String(sizeBytes), '-f', 'load@bench.example', '-t', 'sink@bench.example', '-c'];
  if (!reuse) args.push('-d');
  args.push(`127.0.0.1:${port}`);
  const t0 = performance.now();
  const r = spawnSync(SMTP_SOURCE, args, { stdio: 'ignore', timeout: 600_000 });
  if (r.status !== 0) return null;
  return messages / ((performance.now() - t0) / 1000);
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function idleConnectionMemory(port: number, pid: number, n: number): Promise<number> {
  const before = rssKb(pid);
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, () => new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('data', () => resolve()); // the 220 greeting: the session exists
        s.on('error', () => resolve());
        sockets.push(s);
      })),
    );
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssKb(pid);
  for (const s of sockets) s.destroy();
  return ((after - before) * 1024) / n;
}

export async function run(ctx: BenchContext): Promise<void> {
  if (!ctx.quick) ensurePostfixTools((s) => console.log(s));
  const one = generateCorpus({ count: 1, seed: 7, size: SIZES['1k'] })[0]!;
  const big = generateCorpus({ count: 1, seed: 8, size: SIZES['64k'] })[0]!;
  const loads = [
    { name: '1KB, 20 sessions, reused connections', body: one, sessions: 20, reuse: true, messages: ctx.quick ? 2000 : 30_000 },
    { name: '64KB, 20 sessions, reused connections', body: big, sessions: 20, reuse: true, messages: ctx.quick ? 300 : 4000 },
    { name: '1KB, 20 sessions, one message per connection', body: one, sessions: 20, reuse: false, messages: ctx.quick ? 1000 : 10_000 },
  ];
  const rows: Record<string, string | number>[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'postline-bench-smtp-'));
  const postline = await startPostline(dir);
  const sink = await startSmtpSink();
  try {
    for (const load of loads) {
      console.log(`  ${load.name}…`);
      const common = { host: '127.0.0.1', from: 'load@bench.example', to: 'sink@bench.example', body: load.body, sessions: load.sessions, messages: load.messages, reuse: load.reuse };
      const ours: SmtpLoadResult = await runSmtpLoad({ ...common, port: postline.port });
      if (ours.failed > 0) throw new Error(`postline refused ${ours.failed} messages: ${JSON.stringify(ours.errors)}`);
      ctx.recordResult(`smtp/postline ${load.name} msg/s`, Math.round(ours.rate), 'msg/s');
      ctx.recordResult(`smtp/postline ${load.name} p99`, +ours.p99Ms.toFixed(2), 'ms', false);
      const row: Record<string, string | number> = { load: load.name, 'postline msg/s': Math.round(ours.rate), 'p50/p99 ms': `${ours.p50Ms.toFixed(1)}/${ours.p99Ms.toFixed(1)}` };
      if (sink) {
        const theirs = await runSmtpLoad({ ...common, port: sink.port });
        ctx.recordResult(`smtp/smtp-sink ${load.name} msg/s`, Math.round(theirs.rate), 'msg/s');
        row['smtp-sink msg/s'] = Math.round(theirs.rate);
        row['postline ÷ sink'] = (ours.rate / theirs.rate).toFixed(2);
        const src = smtpSource(postline.port, Math.min(load.messages, 10_000), load.sessions, load.body.length, load.reuse);
        const srcSink = smtpSource(sink.port, Math.min(load.messages, 10_000), load.sessions, load.body.length, load.reuse);
        if (src && srcSink) {
          row['smtp-source→postline'] = Math.round(src);
          row['smtp-source→sink'] = Math.round(srcSink);
          ctx.recordResult(`smtp/smtp-source→postline ${load.name} msg/s`, Math.round(src), 'msg/s');
          ctx.recordResult(`smtp/smtp-source→smtp-sink ${load.name} msg/s`, Math.round(srcSink), 'msg/s');
        }
      } else {
        row['smtp-sink msg/s'] = 'not installed';
      }
      rows.push(row);
    }
    const n = ctx.quick ? 1000 : 10_000;
    const perConn = await idleConnectionMemory(postline.port, postline.pid, n);
    ctx.recordResult(`smtp/memory per idle connection at ${n}`, Math.round(perConn), 'bytes', false);
    rows.push({ load: `memory per idle connection, ${n} connections`, 'postline msg/s': `${(perConn / 1024).toFixed(1)} KB` });
  } finally {
    await postline.stop();
    await sink?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(formatTable(rows));
}
