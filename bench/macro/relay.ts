/**
 * Relaying: 1 KB messages accepted over SMTP for a remote domain, queued
 * durably, then delivered by MX lookup to a sink — Postfix's smtp-sink when
 * installed, else a minimal sink here. A small DNS server in this process
 * answers the MX/A queries and counts them, so the figure "DNS queries per
 * delivered message" shows the cache at work (→ 0 for a hot domain).
 *
 * Side by side, when Postfix is installed and we are root: a Postfix
 * instance of its own (config, queue and data under a temp dir) relaying the
 * same load from the same generator to the same sink (relayhost), measured
 * the same way: from the first message sent until its queue is empty.
 * Three rounds each, alternating which server goes first; medians.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { generateCorpus, SIZES } from '../corpus.js';
import { runSmtpLoad } from '../../src/loadgen/smtp.js';
import { formatTable, type BenchContext } from '../lib/runner.js';
import { controlRequest } from '../../src/net/control-socket.js';
import { serverNodeFlags } from '../../src/core/gc-tuning.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SMTP_SINK = '/usr/sbin/smtp-sink';

/** Answers MX sink.example → mx.sink.example, A mx.sink.example → 127.0.0.1 (TTL 300); counts queries. */
async function startDns(): Promise<{ port: number; queries: () => number; close(): void }> {
  const udp = createSocket('udp4');
  let queries = 0;
  udp.on('message', (msg, rinfo) => {
    queries++;
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase();
    const answers: dnsPacket.Answer[] = [];
    if (question.type === 'MX' && name === 'sink.example') answers.push({ type: 'MX', name, ttl: 300, data: { preference: 10, exchange: 'mx.sink.example' } });
    if (question.type === 'A' && name === 'mx.sink.example') answers.push({ type: 'A', name, ttl: 300, data: '127.0.0.1' });
    const soa: dnsPacket.Answer = { type: 'SOA', name: 'sink.example', ttl: 300, data: { mname: 'ns.sink.example', rname: 'h.sink.example', serial: 1, refresh: 300, retry: 300, expire: 300, minimum: 300 } };
    const reply = dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: q.questions, answers, authorities: answers.length ? [] : [soa] });
    udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  return { port: udp.address().port, queries: () => queries, close: () => udp.close() };
}

/** A sink that accepts everything (used when Postfix's smtp-sink is not installed). */
async function startOwnSink(): Promise<{ port: number; close(): void }> {
  const server: NetServer = createServer((socket) => {
    let data = false;
    let buf = '';
    socket.on('error', () => {});
    socket.write('220 sink ESMTP\r\n');
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let out = '';
      for (;;) {
        if (data) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) break;
          buf = buf.slice(end + 5);
          data = false;
          out += '250 2.0.0 ok\r\n';
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl).toUpperCase();
        buf = buf.slice(nl + 2);
        if (line.startsWith('EHLO')) out += '250-sink\r\n250 PIPELINING\r\n';
        else if (line === 'DATA') {
          out += '354 go\r\n';
          data = true;
        } else if (line === 'QUIT') {
          socket.end('221 bye\r\n');
          return;
        } else out += '250 2.0.0 ok\r\n';
      }
      if (out) socket.write(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

async function startSink(): Promise<{ port: number; kind: string; close(): void }> {
  if (existsSync(SMTP_SINK)) {
    const probe = createServer();
    const port = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)));
    await new Promise((r) => probe.close(r));
    const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
    const child: ChildProcess = spawn(SMTP_SINK, [...user, `127.0.0.1:${port}`, '1000'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    if (child.exitCode === null) return { port, kind: "Postfix's smtp-sink", close: () => child.kill() };
  }
  return { ...(await startOwnSink()), kind: 'a minimal sink (smtp-sink not installed)' };
}

const POSTFIX = '/usr/sbin/postfix';

/** A throwaway Postfix relay: listens on `port`, relays everything to 127.0.0.1:`sinkPort`. Null when it cannot run here. */
async function startPostfixRelay(dir: string, port: number, sinkPort: number): Promise<{ empty(): boolean; stop(): void } | null> {
  if (!existsSync(POSTFIX) || process.getuid?.() !== 0) return null;
  const etc = join(dir, 'etc');
  const data = join(dir, 'data');
  for (const d of [etc, join(dir, 'spool'), data]) mkdirSync(d, { recursive: true });
  for (const f of ['master.cf', 'dynamicmaps.cf', 'postfix-files']) if (existsSync(`/etc/postfix/${f}`)) copyFileSync(`/etc/postfix/${f}`, join(etc, f));
  const master = readFileSync(join(etc, 'master.cf'), 'utf8').replace(/^smtp\s+inet\s.*smtpd$/m, `127.0.0.1:${port} inet n - n - - smtpd`);
  writeFileSync(join(etc, 'master.cf'), master);
  writeFileSync(
    join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/spool`,
      `data_directory = ${data}`,
      `meta_directory = ${etc}`,
      'myhostname = pf.bench.example',
      'mydestination =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      `relayhost = [127.0.0.1]:${sinkPort}`,
      `maillog_file = ${dir}/maillog`,
      `maillog_file_prefixes = ${dir}`,
      '',
    ].join('\n'),
  );
  chmodSync(dir, 0o755);
  const pf = execFileSync('id', ['-u', 'postfix']).toString().trim();
  chownSync(data, Number(pf), Number(execFileSync('id', ['-g', 'postfix']).toString().trim()));
  try {
    execFileSync(POSTFIX, ['-c', etc, 'start'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(true)); // in use: Postfix listens
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    empty: () => execFileSync('/usr/sbin/postqueue', ['-c', etc, '-p']).toString().includes('Mail queue is empty'),
    stop: () => {
      try {
        execFileSync(POSTFIX, ['-c', etc, 'stop'], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    },
  };
}

/** The port written into the instance's master.cf. */
async function postfixPort(dir: string): Promise<number> {
  const m = /^127\.0\.0\.1:(\d+) inet/m.exec(readFileSync(join(dir, 'etc', 'master.cf'), 'utf8'));
  if (!m) throw new Error('no listener in the Postfix master.cf');
  return Number(m[1]);
}

/** Rounds per server in a full run (alternating who goes first). */
const ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function freeTcpPort(): Promise<number> {
  const probe = createServer();
  const port = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)));
  await new Promise((r) => probe.close(r));
  return port;
}

/** Sends the load, then waits until `empty()`; msg/s over the whole time. */
async function relayRate(port: number, body: Buffer, messages: number, empty: () => Promise<boolean> | boolean): Promise<{ rate: number; acceptRate: number }> {
  const started = performance.now();
  const load = await runSmtpLoad({ host: '127.0.0.1', port, from: 'load@bench.example', to: 'someone@sink.example', body, sessions: 20, messages, reuse: true });
  if (load.failed > 0) throw new Error(`${load.failed} messages refused: ${JSON.stringify(load.errors)}`);
  while (!(await empty())) await new Promise((r) => setTimeout(r, 50));
  return { rate: messages / ((performance.now() - started) / 1000), acceptRate: load.rate };
}

export async function run(ctx: BenchContext): Promise<void> {
  const messages = ctx.quick ? 500 : 5000;
  const dns = await startDns();
  const sink = await startSink();
  const dir = mkdtempSync(join(tmpdir(), 'postline-bench-relay-'));
  const config = join(dir, 'postline.yaml');
  writeFileSync(
    config,
    [
      'hostname: relay.bench.example',
      `dataDir: ${dir}/data`,
      'domains: [bench.example]',
      'listen: { smtp: "127.0.0.1:0" }',
      'relay: { trustedNetworks: [127.0.0.1/32] }',
      `dns: { servers: ["127.0.0.1:${dns.port}"] }`,
      `delivery: { port: ${sink.port}, retry: [1s] }`,
      'limits: { maxConnections: 20000, maxConnectionsPerIp: 20000 }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [...serverNodeFlags(), ...(process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : []), cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        buf += d;
        const m = /"listener":"smtp","address":"[^"]*:(\d+)"/.exec(buf);
        if (!m) return;
        // From here on only drained: scanning the growing log on every chunk cost this process (and so the
        // server sharing the 2 cores) more CPU than the server's own logging.
        child.stdout!.removeAllListeners('data');
        child.stdout!.on('data', () => {});
        resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`postline exited with ${code}`)));
    });
    const body = generateCorpus({ count: 1, seed: 11, size: SIZES['1k'] })[0]!;
    const socket = join(dir, 'data', 'control.sock');
    const postlineEmpty = async (): Promise<boolean> => {
      const answer = await controlRequest(socket, { op: 'queue-list' });
      return !!answer?.ok && (answer.items as unknown[]).length === 0;
    };
    const pfDir = mkdtempSync(join(tmpdir(), 'postline-bench-postfix-'));
    const postfix = ctx.quick ? null : await startPostfixRelay(pfDir, await freeTcpPort(), sink.port);
    try {
      // Rounds alternate which server goes first: on a shared 2-core machine one run of each swings by a
      // third (Postfix measured 254–522 msg/s in one afternoon), so the figures are medians of ROUNDS.
      const rounds = ctx.quick ? 1 : ROUNDS;
      const ours: { rate: number; acceptRate: number }[] = [];
      const theirs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const postfixFirst = postfix !== null && r % 2 === 1;
        if (postfixFirst) theirs.push((await relayRate(await postfixPort(pfDir), body, messages, () => postfix.empty())).rate);
        ours.push(await relayRate(port, body, messages, postlineEmpty));
        if (postfix && !postfixFirst) theirs.push((await relayRate(await postfixPort(pfDir), body, messages, () => postfix.empty())).rate);
        console.log(`  round ${r + 1}/${rounds}: postline ${Math.round(ours[r]!.rate)} msg/s${postfix ? `, Postfix ${Math.round(theirs[r]!)} msg/s (${postfixFirst ? 'Postfix' : 'postline'} first)` : ''}`);
      }
      const oursRate = median(ours.map((o) => o.rate));
      const perMessage = dns.queries() / (messages * rounds);
      ctx.recordResult('relay/postline accept+deliver 1KB msg/s', Math.round(oursRate), 'msg/s');
      ctx.recordResult('relay/dns queries per delivered message', +perMessage.toFixed(4), 'queries', false);
      const rows: Record<string, string | number>[] = [
        { figure: `postline: ${messages} × 1 KB accepted over SMTP and relayed (MX lookup) to ${sink.kind}, msg/s (median of ${rounds})`, value: Math.round(oursRate) },
        { figure: 'postline: accept only, msg/s (median)', value: Math.round(median(ours.map((o) => o.acceptRate))) },
        { figure: 'postline: DNS queries in total / per delivered message', value: `${dns.queries()} / ${perMessage.toFixed(4)}` },
      ];
      if (postfix) {
        const theirsRate = median(theirs);
        ctx.recordResult('relay/postfix accept+deliver 1KB msg/s', Math.round(theirsRate), 'msg/s');
        rows.push({ figure: `Postfix (relayhost = the same sink), same generator, msg/s (median of ${rounds})`, value: Math.round(theirsRate) });
        rows.push({ figure: 'postline ÷ Postfix (medians)', value: (oursRate / theirsRate).toFixed(2) });
        rows.push({ figure: 'postline ÷ Postfix per round', value: ours.map((o, r) => (o.rate / theirs[r]!).toFixed(2)).join(' / ') });
      } else {
        rows.push({ figure: 'Postfix relay', value: ctx.quick ? 'skipped (--quick)' : 'not available (needs postfix installed and root)' });
      }
      console.log(formatTable(rows));
    } finally {
      postfix?.stop();
      rmSync(pfDir, { recursive: true, force: true });
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    sink.close();
    dns.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
