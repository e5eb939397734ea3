/**
 * SMTP load: postline (a separate `postline serve` process, fsync=batch)
 * against Postfix's smtp-sink (which stores nothing) with the same client
 * and the same load in the same run; smtp-source against postline when
 * Postfix is installed (installed here when missing and we are root). Also
 * memory per idle connection at 10,000 connections.
 *
 * Beside them, the same loads against bench/lib/fsync-sink.ts: a Node SMTP
 * sink that does nothing but fdatasync each group of messages before its
 * 250s — the ceiling for any durable server on this runtime and disk, so the
 * table separates what postline costs from what Node plus fsync cost.
 *
 * Then the load generators themselves, against the same smtp-sink:
 * `postline bench smtp` (the compiled CLI as a child process, --json) and
 * smtp-source, same messages, size and sessions, alternating, 3 rounds (1
 * with --quick). A generator must not be what limits a server's figure, so
 * ours should be at least as fast as smtp-source (ratio ≥ 1.0).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCorpus, SIZES } from '../corpus.js';
import { runSmtpLoad, type SmtpLoadResult } from '../../src/loadgen/smtp.js';
import { formatTable, type BenchContext } from '../lib/runner.js';
import { serverNodeFlags } from '../../src/core/gc-tuning.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const fsyncSinkScript = fileURLToPath(new URL('../lib/fsync-sink.js', import.meta.url));
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
  const child = spawn(process.execPath, [...serverNodeFlags(), cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, POSTLINE_LOG_LEVEL: 'info' } });
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

/** The do-nothing Node sink that fsyncs before 250 (bench/lib/fsync-sink.ts): postline's ceiling on this machine. */
async function startFsyncSink(dir: string): Promise<Server> {
  const child = spawn(process.execPath, [fsyncSinkScript, join(dir, 'fsync-sink.dat')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fsync-sink did not start within 10 s')), 10_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.once('data', (d: string) => {
      clearTimeout(timer);
      resolve(Number(d.trim()));
    });
    child.once('exit', (code) => reject(new Error(`fsync-sink exited with ${code}`)));
  });
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

/**
 * smtp-source's -l is the payload without its headers (From, To, Date,
 * Message-Id: ~130 bytes here), broken into lines of 80 plus CRLF: this -l
 * makes its whole message about sizeBytes, like ours.
 */
function sourcePayload(sizeBytes: number): number {
  return Math.max(1, Math.floor(((sizeBytes - 130) * 80) / 82));
}

function smtpSource(port: number, messages: number, sessions: number, sizeBytes: number, reuse: boolean): number | null {
  return smtpSourceRun(port, messages, sessions, sizeBytes, reuse)?.rate ?? null;
}

/**
 * One smtp-source run: its rate by wall clock and its CPU seconds (user +
 * system), read from the shell that waited for it (/proc/PID/stat cutime and
 * cstime, fields 16 and 17) — no dependency on /usr/bin/time.
 */
function smtpSourceRun(port: number, messages: number, sessions: number, sizeBytes: number, reuse: boolean): { rate: number; cpuSeconds: number | null } | null {
  if (!existsSync(SMTP_SOURCE)) return null;
  // -s sessions, -m messages, -l payload length; -d = "don't disconnect after sending a message" (smtp-source(1)):
  // many messages per connection. Without -d, one connection per message. No -c (a counter written per message).
  const args = ['-s', String(sessions), '-m', String(messages), '-l', String(sourcePayload(sizeBytes)), '-f', 'load@bench.example', '-t', 'sink@bench.example'];
  if (reuse) args.push('-d');
  args.push(`127.0.0.1:${port}`);
  const script = `"$0" "$@" >/dev/null 2>&1 || exit 1; cat /proc/$$/stat`;
  const t0 = performance.now();
  const r = spawnSync('/bin/sh', ['-c', script, SMTP_SOURCE, ...args], { encoding: 'utf8', timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) return null;
  // The comm field (2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = r.stdout.slice(r.stdout.lastIndexOf(')') + 2).trim().split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]); // fields 16 and 17: cutime, cstime
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return { rate: messages / seconds, cpuSeconds: Number.isFinite(ticks) ? ticks / hz : null };
}

/** `postline bench smtp --json` as a child process; its own rate, and the rate by wall clock (with node's startup). */
function postlineBench(port: number, messages: number, sessions: number, sizeBytes: number, reuse: boolean): { rate: number; wallRate: number; cpuSeconds: number } {
  const args = [cli, 'bench', 'smtp', '--target', `127.0.0.1:${port}`, '--messages', String(messages), '--sessions', String(sessions), '--size', `${sizeBytes}B`];
  args.push('--from', 'load@bench.example', '--to', 'sink@bench.example', '--json');
  if (reuse) args.push('--reuse');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 600_000 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`postline bench smtp exited with ${r.status}: ${r.stderr.trim()}`);
  const report = JSON.parse(r.stdout) as { ok: number; failed: number; messagesPerSecond: number; errors: Record<string, number>; cpuSeconds: number };
  if (report.failed > 0 || report.ok !== messages) throw new Error(`postline bench smtp: ${report.failed} failed: ${JSON.stringify(report.errors)}`);
  return { rate: report.messagesPerSecond, wallRate: messages / wall, cpuSeconds: report.cpuSeconds };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface GeneratorComparison {
  ours: number[];
  oursWall: number[];
  source: number[];
  /** CPU µs per message: ours during its run (startup excluded), smtp-source's whole process. */
  oursCpu: number[];
  sourceCpu: number[];
}

/** Both generators against the same sink, alternating which goes first. */
function compareGenerators(port: number, messages: number, sessions: number, sizeBytes: number, reuse: boolean, rounds: number): GeneratorComparison | null {
  if (!existsSync(SMTP_SOURCE)) return null;
  const c: GeneratorComparison = { ours: [], oursWall: [], source: [], oursCpu: [], sourceCpu: [] };
  for (let i = 0; i < rounds; i++) {
    const runOurs = (): void => {
      const o = postlineBench(port, messages, sessions, sizeBytes, reuse);
      c.ours.push(o.rate);
      c.oursWall.push(o.wallRate);
      c.oursCpu.push((o.cpuSeconds * 1e6) / messages);
    };
    const runSource = (): void => {
      const r = smtpSourceRun(port, messages, sessions, sizeBytes, reuse);
      if (r === null) throw new Error('smtp-source failed against smtp-sink');
      c.source.push(r.rate);
      if (r.cpuSeconds !== null) c.sourceCpu.push((r.cpuSeconds * 1e6) / messages);
    };
    if (i % 2 === 0) {
      runOurs();
      runSource();
    } else {
      runSource();
      runOurs();
    }
  }
  return c;
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
  const generatorRows: Record<string, string | number>[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'postline-bench-smtp-'));
  const postline = await startPostline(dir);
  const sink = await startSmtpSink();
  const floor = await startFsyncSink(dir);
  try {
    for (const load of loads) {
      console.log(`  ${load.name}…`);
      const common = { host: '127.0.0.1', from: 'load@bench.example', to: 'sink@bench.example', body: load.body, sessions: load.sessions, messages: load.messages, reuse: load.reuse };
      const ours: SmtpLoadResult = await runSmtpLoad({ ...common, port: postline.port });
      if (ours.failed > 0) throw new Error(`postline refused ${ours.failed} messages: ${JSON.stringify(ours.errors)}`);
      ctx.recordResult(`smtp/postline ${load.name} msg/s`, Math.round(ours.rate), 'msg/s');
      ctx.recordResult(`smtp/postline ${load.name} p99`, +ours.p99Ms.toFixed(2), 'ms', false);
      const row: Record<string, string | number> = { load: load.name, 'postline msg/s': Math.round(ours.rate), 'p50/p99 ms': `${ours.p50Ms.toFixed(1)}/${ours.p99Ms.toFixed(1)}` };
      const floorRun = await runSmtpLoad({ ...common, port: floor.port });
      ctx.recordResult(`smtp/node fsync floor ${load.name} msg/s`, Math.round(floorRun.rate), 'msg/s');
      row['node+fsync floor msg/s'] = Math.round(floorRun.rate);
      if (sink) {
        const theirs = await runSmtpLoad({ ...common, port: sink.port });
        ctx.recordResult(`smtp/smtp-sink ${load.name} msg/s`, Math.round(theirs.rate), 'msg/s');
        row['smtp-sink msg/s'] = Math.round(theirs.rate);
        row['postline ÷ sink'] = (ours.rate / theirs.rate).toFixed(2);
        row['floor ÷ sink'] = (floorRun.rate / theirs.rate).toFixed(2);
        const src = smtpSource(postline.port, Math.min(load.messages, 10_000), load.sessions, load.body.length, load.reuse);
        if (src) {
          row['smtp-source→postline'] = Math.round(src);
          ctx.recordResult(`smtp/smtp-source→postline ${load.name} msg/s`, Math.round(src), 'msg/s');
          const srcFloor = smtpSource(floor.port, Math.min(load.messages, 10_000), load.sessions, load.body.length, load.reuse);
          if (srcFloor) row['smtp-source→floor'] = Math.round(srcFloor);
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
    // The generators alone: postline (idle but alive: checkpoints, timers) is stopped first, so only smtp-sink and the generator share the machine.
    await postline.stop();
    for (const load of sink ? loads : []) {
      console.log(`  generators → smtp-sink: ${load.name}…`);
      const cmp = compareGenerators(sink!.port, load.messages, load.sessions, load.body.length, load.reuse, ctx.quick ? 1 : 3);
      if (cmp) {
        const ours = median(cmp.ours);
        const source = median(cmp.source);
        const wall = median(cmp.oursWall);
        ctx.recordResult(`smtp/postline bench→smtp-sink ${load.name} msg/s`, Math.round(ours), 'msg/s');
        ctx.recordResult(`smtp/smtp-source→smtp-sink ${load.name} msg/s`, Math.round(source), 'msg/s');
        ctx.recordResult(`smtp/postline bench ÷ smtp-source ${load.name}`, +(ours / source).toFixed(2), 'ratio', true);
        const all = (xs: number[]): string => xs.map((x) => Math.round(x)).join(' / ');
        console.log(`    postline bench ${all(cmp.ours)} msg/s (wall clock ${all(cmp.oursWall)}; CPU ${all(cmp.oursCpu)} µs/msg), smtp-source ${all(cmp.source)} msg/s (CPU ${all(cmp.sourceCpu)} µs/msg)`);
        const oursCpu = median(cmp.oursCpu);
        const sourceCpu = cmp.sourceCpu.length > 0 ? median(cmp.sourceCpu) : NaN;
        ctx.recordResult(`smtp/postline bench CPU per message ${load.name}`, Math.round(oursCpu), 'µs', false);
        if (Number.isFinite(sourceCpu)) ctx.recordResult(`smtp/smtp-source CPU per message ${load.name}`, Math.round(sourceCpu), 'µs', false);
        generatorRows.push({
          load: `${load.name}, ${load.messages.toLocaleString('en-US')} messages`,
          'postline bench msg/s': Math.round(ours),
          'wall clock': Math.round(wall),
          'smtp-source msg/s': Math.round(source),
          'postline bench ÷ smtp-source': (ours / source).toFixed(2),
          'by wall clock': (wall / source).toFixed(2),
          target: '≥ 1.0',
          'CPU µs/msg: ours / smtp-source': `${Math.round(oursCpu)} / ${Number.isFinite(sourceCpu) ? Math.round(sourceCpu) : '?'}`,
        });
      }
    }
  } finally {
    await postline.stop();
    await sink?.stop();
    await floor.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(formatTable(rows));
  if (generatorRows.length > 0) {
    console.log(`\n## load generators against the same smtp-sink (median of ${ctx.quick ? 1 : 3}; "wall clock" includes node's startup; CPU: the generator's own)\n`);
    console.log(formatTable(generatorRows));
  }
}
