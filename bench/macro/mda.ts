/**
 * MDA retrieval: one mailbox of 10,000 messages of 4 KB (1,000 with
 * --quick), 90 % of them \Seen, served by postline (a `postline serve` child
 * process) and, when installed (installed here when missing and we are root,
 * full runs only), by Dovecot from a Maildir holding the same bytes.
 *
 *   - IMAP `UID FETCH 1:* (BODY.PEEK[])`, `FETCH 1:* (FLAGS)`, `SEARCH UNSEEN`,
 *     each timed alone on a connection that has already done LOGIN+SELECT;
 *   - IMAP connect+LOGIN+SELECT latency (p50, p95), sequential sessions, and
 *     its steps (greeting, LOGIN, SELECT) — LOGIN is mostly password
 *     verification: {PLAIN} in Dovecot's passwd-file, scrypt in postline;
 *   - POP3 RETR of every message (our client pipelines, RFC 2449).
 *
 * Two clients: our own (src/loadgen/imap.ts, pop3.ts: fast enough
 * that the figure is the server's) and Python's imaplib/poplib (a neutral
 * client, the one Dovecot's published figures were measured with).
 *
 * Both servers are measured warm: before timing, each gets one SELECT,
 * eight FETCHes of flags and SEARCH UNSEENs, three FETCHes of every body, a
 * POP3 STAT, and before the POP3 runs three untimed POP3 retrieve-alls
 * (Dovecot builds its index files on first access; postline's reads then
 * come from the page cache as Dovecot's do). Every answer is checked — message count, total bytes,
 * unseen count — and a server that answers wrongly gets no figures and fails
 * the run. Each figure is the median of 5 runs (1 with --quick), the two
 * servers' runs alternating; FETCH FLAGS and SEARCH UNSEEN with our client,
 * of 5 samples per run. Five, not three: on this shared 2-core machine one
 * server's retrieve-all moved between 0.25 and 0.42 s from run to run in one
 * evening, and a median of three followed single outliers.
 *
 * POP3 runs after all IMAP runs: a POP3 session may mark what it retrieved
 * \Seen (Dovecot does at QUIT), which would change SEARCH UNSEEN's answer.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/core/log.js';
import { Store } from '../../src/store/store.js';
import { generateCorpus, SIZES } from '../corpus.js';
import { ensureDovecot, startDovecot, type DovecotServer } from '../lib/dovecot.js';
import { bulkFetch, fetchFlags, loginSelectLatency, openSelected, searchUnseen, type ImapTarget } from '../../src/loadgen/imap.js';
import { Pop3Connection, retrAll, type Pop3Target } from '../../src/loadgen/pop3.js';
import { formatDuration, formatTable, type BenchContext } from '../lib/runner.js';
import { serverNodeFlags } from '../../src/core/gc-tuning.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const USER = 'sink@bench.example';
const PASSWORD = 'bench-password';
const SERVERS = ['postline', 'dovecot'] as const;
type ServerName = (typeof SERVERS)[number];
type ClientName = 'own' | 'python';

/** The messages every server holds, and what a correct answer looks like. */
interface Mailbox {
  messages: Buffer[];
  totalBytes: number;
  unseen: number;
  seen: (i: number) => boolean;
}

interface Endpoint {
  name: ServerName;
  imap: ImapTarget | null;
  pop3: Pop3Target | null;
  /** Set when the server answered wrongly: no more figures from it. */
  failed: string | null;
}

// ---------------------------------------------------------------- operations

interface Operation {
  key: string;
  label: string;
  unit: 's' | 'ms';
  protocol: 'imap' | 'pop3';
}

const OPS: readonly Operation[] = [
  { key: 'uidfetch', label: 'imap uid fetch 1:* body.peek[]', unit: 's', protocol: 'imap' },
  { key: 'flags', label: 'imap fetch 1:* (flags)', unit: 'ms', protocol: 'imap' },
  { key: 'unseen', label: 'imap search unseen', unit: 'ms', protocol: 'imap' },
  { key: 'latency', label: 'imap connect+login+select p50', unit: 'ms', protocol: 'imap' },
  { key: 'latency95', label: 'imap connect+login+select p95', unit: 'ms', protocol: 'imap' },
  // Where the connect+LOGIN+SELECT time goes (own client only).
  { key: 'greeting', label: 'imap connect to greeting p50', unit: 'ms', protocol: 'imap' },
  { key: 'login', label: 'imap login p50', unit: 'ms', protocol: 'imap' },
  { key: 'select', label: 'imap select p50', unit: 'ms', protocol: 'imap' },
  { key: 'retr', label: 'pop3 retr all', unit: 's', protocol: 'pop3' },
];

/** samples[server][client][op] = milliseconds per run. */
type Samples = Record<ServerName, Record<ClientName, Record<string, number[]>>>;

function emptySamples(): Samples {
  const per = (): Record<ClientName, Record<string, number[]>> => ({ own: {}, python: {} });
  return { postline: per(), dovecot: per() };
}

function add(samples: Samples, server: ServerName, client: ClientName, op: string, ms: number): void {
  (samples[server][client][op] ??= []).push(ms);
}

/** "own 0.213 s, python 2.310 s": run `run`'s figures for one operation, so a single slow run shows in the log. */
function runSeconds(samples: Samples, server: ServerName, op: string, run: number): string {
  return (['own', 'python'] as const)
    .map((client) => {
      const ms = samples[server][client][op]?.[run - 1];
      return ms === undefined ? null : `${client} ${(ms / 1000).toFixed(3)} s`;
    })
    .filter((part) => part !== null)
    .join(', ');
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

class WrongAnswer extends Error {}

function expect(what: string, got: number, want: number): void {
  if (got !== want) throw new WrongAnswer(`${what}: got ${got}, expected ${want}`);
}

// ---------------------------------------------------------------- postline

interface PostlineServer {
  imapPort: number | null;
  pop3Port: number | null;
  stop(): Promise<void>;
}

/** Fills the store directly (the server locks the data dir, so before it starts). */
async function fillStore(dataDir: string, box: Mailbox): Promise<void> {
  const store = await Store.open({ dataDir, segmentSize: 64 * 1024 * 1024, fsync: 'batch', logger: silentLogger, threads: 'auto', checkpointIntervalMs: 0, compactionIntervalMs: 0 });
  try {
    // UIDs are taken in call order, so message i gets UID i+1 whatever the concurrency.
    const base = Date.UTC(2024, 0, 1);
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < box.messages.length; i++) {
      pending.push(store.deliver({ recipients: [USER], body: box.messages[i]!, flags: box.seen(i) ? ['\\Seen'] : [], internalDate: base + i * 60_000 }));
      if (pending.length >= 256) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  } finally {
    await store.close();
  }
}

/**
 * Starts `postline serve` with IMAP and POP3 on ephemeral ports and reads the
 * bound ports from its log. A listener that does not appear by "postline
 * ready" (or within 20 s) is reported as missing, not as an error: the MDA
 * may not exist yet in this build.
 */
async function startPostline(dir: string, log: (s: string) => void): Promise<PostlineServer | null> {
  const config = join(dir, 'postline.yaml');
  writeFileSync(
    config,
    [
      'hostname: bench.example',
      `dataDir: ${dir}/data`,
      'domains: [bench.example]',
      `users: [{ address: ${USER}, password: "${PASSWORD}" }]`,
      'listen: { imap: "127.0.0.1:0", pop3: "127.0.0.1:0" }',
      'auth: { plaintext: always }',
      'limits: { maxConnections: 10000, maxConnectionsPerIp: 1000 }',
      'store: { fsync: batch }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [...serverNodeFlags(), cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POSTLINE_LOG_LEVEL: 'info' } });
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (tail = (tail + d).slice(-4000)));
  const ports = await new Promise<{ imap: number | null; pop3: number | null; ready: boolean }>((resolve) => {
    let buf = '';
    const found = { imap: null as number | null, pop3: null as number | null, ready: false };
    const done = (): void => {
      clearTimeout(timer);
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume(); // keep draining its log
      child.removeListener('exit', onExit);
      resolve(found);
    };
    const timer = setTimeout(done, 20_000);
    const onExit = (): void => done();
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      for (const name of ['imap', 'pop3'] as const) {
        const m = new RegExp(`"listener":"${name}","address":"[^"]*:(\\d+)"`).exec(buf);
        if (m) found[name] = Number(m[1]);
      }
      if (found.imap !== null && found.pop3 !== null) return done();
      if (buf.includes('"postline ready"')) {
        found.ready = true;
        return done();
      }
      tail = (tail + d).slice(-4000);
    });
    child.once('exit', onExit);
  });
  const server: PostlineServer = { imapPort: ports.imap, pop3Port: ports.pop3, stop: () => stopChild(child) };
  if (child.exitCode !== null) {
    // Node's crash output ends with a stack and its version: the error line says more.
    const cause = tail.split('\n').find((l) => /Error|error"/.test(l)) ?? lastLines(tail);
    log(`postline serve exited with ${child.exitCode}: ${cause.trim().slice(0, 500)}`);
    log('postline imap/pop3 not available');
    return null;
  }
  if (ports.imap === null || ports.pop3 === null) {
    const missing = [ports.imap === null ? 'imap' : '', ports.pop3 === null ? 'pop3' : ''].filter(Boolean).join('/');
    log(`postline ${missing} not available (no listener in its log ${ports.ready ? 'by "postline ready"' : 'within 20 s'})`);
    if (ports.imap === null && ports.pop3 === null) {
      await server.stop();
      return null;
    }
  }
  return server;
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join(' / ');
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- python

function pythonScript(): string | null {
  const candidates = [new URL('../../../bench/lib/python-mda.py', import.meta.url), new URL('../lib/python-mda.py', import.meta.url)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(p)) return p;
  }
  return null;
}

type PyResult = Record<string, { ms?: number; messages?: number; bytes?: number; hits?: number; exists?: number; octets?: number; p50Ms?: number; p95Ms?: number; error?: string }>;

function runPython(script: string, cfg: Record<string, unknown>): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [script, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`python client exited with ${code}: ${lastLines(err)}`));
      try {
        resolve(JSON.parse(out) as PyResult);
      } catch {
        reject(new Error(`python client printed no JSON: ${out.slice(0, 300)} ${lastLines(err)}`));
      }
    });
  });
}

// ---------------------------------------------------------------- measuring

const WARM_REPEATS = 8;
/** Whole-mailbox reads (IMAP bulk FETCH, POP3 retrieve-all) before timing: the first three ran cold. */
const WARM_BULK = 3;

/**
 * One SELECT, eight FETCHes of flags and SEARCH UNSEENs, three FETCHes of
 * the bodies, POP3 STAT: the state both servers are measured in. The repeats
 * are there for postline's JIT: its first few SEARCHes after start run cold
 * (2.5, then ~1.3 ms, then ~0.5 ms with 10,000 hits), its first FETCH
 * FLAGS too (28, 33, 26 ms, then 4–5 ms), which a server up for more than
 * a minute never shows.
 */
async function warm(ep: Endpoint, box: Mailbox): Promise<void> {
  if (ep.imap) {
    const { conn, exists } = await openSelected(ep.imap);
    try {
      expect('SELECT EXISTS', exists, box.messages.length);
      for (let i = 0; i < WARM_REPEATS; i++) await conn.ok('FETCH 1:* (FLAGS)');
      for (let i = 0; i < WARM_REPEATS; i++) await conn.ok('SEARCH UNSEEN');
      for (let i = 0; i < WARM_BULK; i++) await conn.ok('UID FETCH 1:* (BODY.PEEK[])');
    } finally {
      await conn.logout().catch(() => conn.destroy());
    }
  }
  if (ep.pop3) {
    const c = await Pop3Connection.open(ep.pop3.host, ep.pop3.port);
    try {
      await c.ok(`USER ${ep.pop3.user}`);
      await c.ok(`PASS ${ep.pop3.password}`);
      const stat = await c.ok('STAT');
      expect('POP3 STAT count', Number(/^\+OK (\d+)/.exec(stat.line)?.[1] ?? -1), box.messages.length);
      await c.quit();
    } catch (err) {
      c.destroy();
      throw err;
    }
  }
}

/**
 * FETCH FLAGS and SEARCH UNSEEN take milliseconds, so one scheduling hiccup
 * on this shared two-core machine moves a single sample by half of itself:
 * each run takes several of them (from the same client, for both servers).
 */
const SHORT_SAMPLES = 5;

async function ownImap(ep: Endpoint, box: Mailbox, samples: Samples, latencyIterations: number): Promise<void> {
  const n = box.messages.length;
  const fetch = await bulkFetch(ep.imap!);
  expect('UID FETCH BODY.PEEK[] responses', fetch.stats.fetches, n);
  expect('UID FETCH BODY.PEEK[] bytes', fetch.stats.literalBytes, box.totalBytes);
  add(samples, ep.name, 'own', 'uidfetch', fetch.ms);
  for (let i = 0; i < SHORT_SAMPLES; i++) {
    const flags = await fetchFlags(ep.imap!);
    expect('FETCH FLAGS responses', flags.stats.fetches, n);
    add(samples, ep.name, 'own', 'flags', flags.ms);
    const unseen = await searchUnseen(ep.imap!);
    expect('SEARCH UNSEEN hits', unseen.stats.searchHits, box.unseen);
    add(samples, ep.name, 'own', 'unseen', unseen.ms);
  }
  const lat = await loginSelectLatency(ep.imap!, latencyIterations);
  add(samples, ep.name, 'own', 'latency', lat.p50Ms);
  add(samples, ep.name, 'own', 'latency95', lat.p95Ms);
  add(samples, ep.name, 'own', 'greeting', lat.steps.greetingP50Ms);
  add(samples, ep.name, 'own', 'login', lat.steps.loginP50Ms);
  add(samples, ep.name, 'own', 'select', lat.steps.selectP50Ms);
}

/**
 * RETRs our client keeps in flight on a server that announces PIPELINING.
 * It was 64 until 2026-11-28: postline's main thread then sat idle ~14 % of a
 * retrieve-all waiting for the client's next RETRs (no output backlog, no
 * read wait), so the figure measured the client's round trips, not the
 * server. With 256 (four runs): postline 0.225–0.261 s (was 0.216–0.359),
 * Dovecot 0.374–0.423 s (was 0.320–0.445): Dovecot, slower, never starved.
 */
const POP3_WINDOW = 256;

async function ownPop3(ep: Endpoint, box: Mailbox, samples: Samples): Promise<void> {
  const r = await retrAll(ep.pop3!, POP3_WINDOW);
  if (r.errors.length > 0) throw new WrongAnswer(`RETR errors: ${r.errors.join(' | ')}`);
  expect('POP3 STAT count', r.stat.messages, box.messages.length);
  expect('POP3 RETR messages', r.messages, box.messages.length);
  expect('POP3 RETR bytes', r.bytes, box.totalBytes);
  add(samples, ep.name, 'own', 'retr', r.ms);
  if ((samples[ep.name].own['retr'] ?? []).length === 1) console.log(`  ${ep.name} pop3: ${r.pipelined ? `PIPELINING announced, ${r.window} RETR in flight` : 'no PIPELINING in CAPA, one RETR at a time'}`);
}

function pyCheck(res: PyResult, op: string): NonNullable<PyResult[string]> {
  const r = res[op];
  if (!r) throw new WrongAnswer(`python ${op}: no result`);
  if (r.error) throw new WrongAnswer(`python ${op}: ${r.error}`);
  return r;
}

async function pythonImap(script: string, ep: Endpoint, box: Mailbox, samples: Samples, latencyIterations: number): Promise<void> {
  const res = await runPython(script, { host: ep.imap!.host, imapPort: ep.imap!.port, user: USER, password: PASSWORD, ops: ['uidfetch', 'flags', 'unseen', 'latency'], latencyIterations });
  const n = box.messages.length;
  const f = pyCheck(res, 'uidfetch');
  expect('python UID FETCH messages', f.messages!, n);
  expect('python UID FETCH bytes', f.bytes!, box.totalBytes);
  add(samples, ep.name, 'python', 'uidfetch', f.ms!);
  const fl = pyCheck(res, 'flags');
  expect('python FETCH FLAGS responses', fl.messages!, n);
  add(samples, ep.name, 'python', 'flags', fl.ms!);
  const u = pyCheck(res, 'unseen');
  expect('python SEARCH UNSEEN hits', u.hits!, box.unseen);
  add(samples, ep.name, 'python', 'unseen', u.ms!);
  const l = pyCheck(res, 'latency');
  add(samples, ep.name, 'python', 'latency', l.p50Ms!);
  add(samples, ep.name, 'python', 'latency95', l.p95Ms!);
}

async function pythonPop3(script: string, ep: Endpoint, box: Mailbox, samples: Samples): Promise<void> {
  const res = await runPython(script, { host: ep.pop3!.host, pop3Port: ep.pop3!.port, user: USER, password: PASSWORD, ops: ['retr'] });
  const r = pyCheck(res, 'retr');
  expect('python POP3 RETR messages', r.messages!, box.messages.length);
  expect('python POP3 RETR bytes', r.bytes!, box.totalBytes);
  add(samples, ep.name, 'python', 'retr', r.ms!);
}

/** Runs fn; a wrong answer (or a protocol failure) marks the server failed instead of ending the run. */
async function guarded(ep: Endpoint, what: string, fn: () => Promise<void>): Promise<void> {
  if (ep.failed) return;
  try {
    await fn();
  } catch (err) {
    ep.failed = `${what}: ${(err as Error).message}`;
    console.log(`  ${ep.name} FAILED ${ep.failed}`);
  }
}

// ---------------------------------------------------------------- run

export async function run(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 1000 : 10_000;
  const runs = ctx.quick ? 1 : 5;
  const latencyIterations = ctx.quick ? 20 : 100;
  const log = (s: string): void => console.log(`  ${s}`);

  const messages = generateCorpus({ count, seed: 4242, size: SIZES['4k'] });
  const seen = (i: number): boolean => i % 10 !== 0;
  const box: Mailbox = { messages, totalBytes: messages.reduce((a, m) => a + m.length, 0), unseen: Math.ceil(count / 10), seen };
  log(`mailbox: ${count} messages, ${(box.totalBytes / 2 ** 20).toFixed(1)} MiB, ${box.unseen} unseen; median of ${runs} run(s)`);

  const dir = mkdtempSync(join(tmpdir(), 'postline-bench-mda-'));
  let postline: PostlineServer | null = null;
  let dovecot: DovecotServer | null = null;
  const samples = emptySamples();
  const endpoints: Endpoint[] = [];
  try {
    const filled = performance.now();
    await fillStore(join(dir, 'data'), box);
    log(`postline store filled in ${formatDuration(performance.now() - filled)}`);
    postline = await startPostline(dir, log);
    if (postline) {
      endpoints.push({
        name: 'postline',
        imap: postline.imapPort !== null ? { host: '127.0.0.1', port: postline.imapPort, user: USER, password: PASSWORD } : null,
        pop3: postline.pop3Port !== null ? { host: '127.0.0.1', port: postline.pop3Port, user: USER, password: PASSWORD } : null,
        failed: null,
      });
    }
    if (ctx.quick ? true : ensureDovecot(log)) {
      dovecot = await startDovecot({ messages, seen, user: USER, password: PASSWORD, log });
      if (dovecot) {
        log(`dovecot ${dovecot.version} on imap ${dovecot.imapPort}, pop3 ${dovecot.pop3Port}`);
        endpoints.push({
          name: 'dovecot',
          imap: { host: dovecot.host, port: dovecot.imapPort, user: USER, password: PASSWORD },
          pop3: { host: dovecot.host, port: dovecot.pop3Port, user: USER, password: PASSWORD },
          failed: null,
        });
      }
    }
    if (endpoints.length === 0) throw new Error('neither postline nor Dovecot serves IMAP/POP3: nothing to measure');

    const script = pythonScript();
    const python = script !== null && spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!python) log(`python3 or ${script ?? 'bench/lib/python-mda.py'} not available: no Python-client figures`);

    for (const ep of endpoints) await guarded(ep, 'warm-up', () => warm(ep, box));
    for (let r = 1; r <= runs; r++) {
      for (const ep of endpoints) {
        if (!ep.imap) continue;
        await guarded(ep, 'imap (own client)', () => ownImap(ep, box, samples, latencyIterations));
        if (python) await guarded(ep, 'imap (python)', () => pythonImap(script!, ep, box, samples, latencyIterations));
        log(`run ${r}/${runs}: ${ep.name} imap: uid fetch ${runSeconds(samples, ep.name, 'uidfetch', r)}`);
      }
    }
    // The POP3 warm-up is whole untimed retrieve-alls, as the IMAP warm-up has whole FETCHes: postline's
    // first retrieve-alls run while V8 still compiles its read path (724 / 549 / 398 ms for three in a
    // row, then ~350). Done here, after the IMAP runs, because a retrieval marks messages \Seen.
    for (const ep of endpoints) {
      if (ep.pop3) await guarded(ep, 'pop3 warm-up', async () => { for (let i = 0; i < WARM_BULK; i++) await retrAll(ep.pop3!, POP3_WINDOW); });
    }
    for (let r = 1; r <= runs; r++) {
      for (const ep of endpoints) {
        if (!ep.pop3) continue;
        await guarded(ep, 'pop3 (own client)', () => ownPop3(ep, box, samples));
        if (python) await guarded(ep, 'pop3 (python)', () => pythonPop3(script!, ep, box, samples));
        log(`run ${r}/${runs}: ${ep.name} pop3: retr all ${runSeconds(samples, ep.name, 'retr', r)}`);
      }
    }
  } finally {
    await postline?.stop();
    await dovecot?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------ report
  const rows: Record<string, string | number>[] = [];
  const show = (ms: number | undefined, unit: 's' | 'ms'): string => (ms === undefined ? '—' : unit === 's' ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(2)} ms`);
  const byName = new Map(endpoints.map((e) => [e.name, e]));
  for (const client of ['own', 'python'] as const) {
    for (const op of OPS) {
      const value: Partial<Record<ServerName, number>> = {};
      for (const server of SERVERS) {
        const ep = byName.get(server);
        const xs = samples[server][client][op.key];
        if (!ep || ep.failed || !xs || xs.length === 0) continue;
        value[server] = median(xs);
        const figure = op.unit === 's' ? +(value[server]! / 1000).toFixed(4) : +value[server]!.toFixed(3);
        ctx.recordResult(`mda/${server}${client === 'python' ? ' python' : ''} ${op.label} ${op.unit}`, figure, op.unit, false);
      }
      if (value.postline === undefined && value.dovecot === undefined) continue;
      const cell = (s: ServerName): string => {
        const ep = byName.get(s);
        if (!ep) return 'not available';
        if (ep.failed) return 'wrong answer';
        if (!(op.protocol === 'imap' ? ep.imap : ep.pop3)) return 'not available';
        return show(value[s], op.unit);
      };
      rows.push({
        operation: op.label,
        client: client === 'own' ? 'own (src/loadgen)' : 'python imaplib/poplib',
        postline: cell('postline'),
        dovecot: cell('dovecot'),
        'postline ÷ dovecot': value.postline !== undefined && value.dovecot !== undefined ? (value.postline / value.dovecot).toFixed(2) : '',
      });
    }
  }
  // Throughput, for the bulk operations with our client.
  for (const server of SERVERS) {
    const f = samples[server].own['uidfetch'];
    const p = samples[server].own['retr'];
    if (f?.length && !byName.get(server)?.failed) ctx.recordResult(`mda/${server} imap uid fetch msg/s`, Math.round(count / (median(f) / 1000)), 'msg/s');
    if (p?.length && !byName.get(server)?.failed) ctx.recordResult(`mda/${server} pop3 retr msg/s`, Math.round(count / (median(p) / 1000)), 'msg/s');
  }
  console.log(`\n## mda (${count} messages of 4 KB; times, lower is better; median of ${runs} runs; our FETCH FLAGS and SEARCH UNSEEN: of ${runs * SHORT_SAMPLES} samples)\n`);
  console.log(formatTable(rows));
  console.log(
    '\nLOGIN cost is password verification: Dovecot checks a {PLAIN} passwd-file entry; postline verifies the\n' +
      "config user's password against the scrypt hash it made at startup (ln=15 unless POSTLINE_SCRYPT_LN says otherwise).",
  );
  const failures = endpoints.filter((e) => e.failed);
  if (failures.length > 0) throw new Error(failures.map((e) => `${e.name} answered wrongly — ${e.failed}`).join('\n'));
}
