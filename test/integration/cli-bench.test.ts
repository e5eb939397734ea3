/**
 * `postline bench smtp|imap|pop3`: the compiled CLI against a real postline
 * on loopback (and, for the failure paths, against tiny scripted servers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { run, workspace } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SLOW = { timeout: 120_000 };

interface Report {
  protocol: string;
  ok: number;
  failed: number;
  seconds: number;
  messagesPerSecond: number;
  mbPerSecond: number;
  bytes: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  errors: Record<string, number>;
  firstError: string | null;
  [key: string]: unknown;
}

const cwd = workspace().cwd;

async function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; json: Report | null }> {
  const r = await run(['bench', ...args], { cwd });
  let json: Report | null = null;
  if (args.includes('--json') && r.stdout.trim() !== '') json = JSON.parse(r.stdout) as Report;
  return { ...r, json };
}

function inbox(server: TestServer, user: string): number {
  return server.store.folder(user, 'INBOX') ? server.store.listMessages(user, 'INBOX').length : 0;
}

/** A port with nobody listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A scripted server: `onConnection` gets each socket. */
async function fakeServer(onConnection: (s: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('bench smtp --json: every message arrives, one per connection and over reused connections, with and without STARTTLS', SLOW, async () => {
  const server = await startTestServer();
  try {
    const target = `127.0.0.1:${server.port('smtp')}`;
    const one = await bench(['smtp', '--target', target, '--messages', '120', '--sessions', '4', '--size', '2KB', '--to', 'ivanov@example.org', '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stderr, '', 'no progress line when stderr is not a terminal');
    const r = one.json!;
    assert.equal(r.protocol, 'smtp');
    assert.equal(r.reuse, false);
    assert.equal(r.size, 2048);
    assert.equal(r.ok, 120);
    assert.equal(r.failed, 0);
    assert.deepEqual(r.errors, {});
    assert.equal(r.bytes, 120 * 2048);
    for (const k of ['seconds', 'messagesPerSecond', 'mbPerSecond', 'p50Ms', 'p95Ms', 'p99Ms'] as const) assert.equal(typeof r[k], 'number', k);
    assert.ok(r.p50Ms! <= r.p95Ms! && r.p95Ms! <= r.p99Ms!);
    assert.equal(inbox(server, 'ivanov@example.org'), 120);

    const reused = await bench(['smtp', '--target', target, '--messages', '300', '--sessions', '5', '--reuse', '--to', 'petrov@example.org', '--json']);
    assert.equal(reused.code, 0, reused.stderr);
    assert.equal(reused.json!.reuse, true);
    assert.equal(reused.json!.ok, 300);
    assert.equal(reused.json!.size, 1024, 'default --size 1KB');
    assert.equal(inbox(server, 'petrov@example.org'), 300);

    for (const mode of [[], ['--reuse']]) {
      const tls = await bench(['smtp', '--target', target, '--messages', '12', '--sessions', '3', '--tls', ...mode, '--to', 'petrov@example.org', '--json']);
      assert.equal(tls.code, 0, tls.stderr);
      assert.equal(tls.json!.tls, true);
      assert.equal(tls.json!.ok, 12, JSON.stringify(tls.json));
    }
    assert.equal(inbox(server, 'petrov@example.org'), 324);
  } finally {
    await server.stop();
  }
});

test('bench smtp: the summary table on stdout; refused recipients are counted by reply code and exit 1', SLOW, async () => {
  const server = await startTestServer();
  try {
    const target = `127.0.0.1:${server.port('smtp')}`;
    const table = await bench(['smtp', '--target', target, '--messages', '20', '--sessions', '2', '--to', 'ivanov@example.org']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^target +smtp 127\.0\.0\.1:\d+$/m);
    assert.match(table.stdout, /^load +20 × 1,024 bytes, 2 sessions, one message per connection$/m);
    assert.match(table.stdout, /^messages ok +20$/m);
    assert.match(table.stdout, /^failed +0$/m);
    assert.match(table.stdout, /^msg\/s +[\d,]+$/m);
    assert.match(table.stdout, /^MB\/s +[\d.]+$/m);
    assert.match(table.stdout, /^latency p99 +[\d.]+ ms$/m);
    assert.match(table.stdout, /^errors +none$/m);

    for (const mode of [[], ['--reuse']]) {
      // No catch-all: unknown local recipients get 550 5.1.1 at RCPT.
      const refused = await bench(['smtp', '--target', target, '--messages', '15', '--sessions', '3', ...mode, '--to', 'unknown@example.org', '--json']);
      assert.equal(refused.code, 1, 'nothing accepted');
      assert.equal(refused.json!.ok, 0);
      assert.equal(refused.json!.failed, 15);
      assert.deepEqual(refused.json!.errors, { '550': 15 });
      assert.equal(refused.json!.p50Ms, null);
      assert.match(refused.stderr, /^postline: bench smtp: no message was accepted \(first error: 550 5\.1\.1 .*\)\n$/);
    }
    // The default recipient, postmaster@localhost, is not local here: relaying is denied.
    const relay = await bench(['smtp', '--target', target, '--messages', '3', '--sessions', '1', '--json']);
    assert.equal(relay.code, 1);
    assert.deepEqual(relay.json!.errors, { '554': 3 });
    assert.equal(relay.json!.to, 'postmaster@localhost');
  } finally {
    await server.stop();
  }
});

test('bench smtp: a refused connection is one clear line and exit 1', SLOW, async () => {
  const port = await closedPort();
  for (const proto of [['smtp'], ['imap', '--user', 'u', '--password', 'p'], ['pop3', '--user', 'u', '--password', 'p']]) {
    const r = await bench([...proto, '--target', `127.0.0.1:${port}`, '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `postline: bench ${proto[0]}: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)\n`);
  }
});

test('bench smtp: connection-level failures are counted (421 greeting, dropped connection, --timeout)', SLOW, async () => {
  const busy = await fakeServer((s) => s.end('421 4.7.0 too busy\r\n'));
  const dropper = await fakeServer((s) => {
    s.write('220 hi\r\n');
    s.on('data', (d: Buffer) => (d.toString().startsWith('EHLO') ? s.write('250 hi\r\n') : s.destroy()));
  });
  const hangup = await fakeServer((s) => {
    s.write('220 hi\r\n');
    s.on('data', (d: Buffer) => (d.toString().startsWith('EHLO') ? s.write('250 hi\r\n') : s.end('421 4.3.2 shutting down\r\n')));
  });
  const silent = await fakeServer((s) => {
    s.write('220 hi\r\n');
    s.on('data', (d: Buffer) => {
      if (d.toString().startsWith('EHLO')) s.write('250 hi\r\n'); // then nothing, ever
    });
  });
  try {
    const r421 = await bench(['smtp', '--target', `127.0.0.1:${busy.port}`, '--messages', '10', '--sessions', '2', '--json']);
    assert.equal(r421.code, 1);
    assert.deepEqual(r421.json!.errors, { '421': 10 });
    assert.equal(r421.json!.firstError, '421 4.7.0 too busy');

    const dropped = await bench(['smtp', '--target', `127.0.0.1:${dropper.port}`, '--messages', '6', '--sessions', '2', '--reuse', '--json']);
    assert.equal(dropped.code, 1);
    assert.equal(dropped.json!.failed, 6);
    const keys = Object.keys(dropped.json!.errors);
    assert.ok(keys.every((k) => k === 'closed' || k === 'ECONNRESET'), JSON.stringify(dropped.json!.errors));

    const refusedThenClosed = await bench(['smtp', '--target', `127.0.0.1:${hangup.port}`, '--messages', '4', '--sessions', '2', '--json']);
    assert.equal(refusedThenClosed.code, 1);
    assert.deepEqual(refusedThenClosed.json!.errors, { '421': 4 }, 'the reply, not the close that followed it');

    const started = Date.now();
    const stalled = await bench(['smtp', '--target', `127.0.0.1:${silent.port}`, '--messages', '2', '--sessions', '2', '--timeout', '1s', '--json']);
    assert.equal(stalled.code, 1);
    assert.deepEqual(stalled.json!.errors, { timeout: 2 });
    assert.ok(Date.now() - started < 15_000);
  } finally {
    await busy.close();
    await dropper.close();
    await hangup.close();
    await silent.close();
  }
});

test('bench: bad arguments are one line and exit 2', SLOW, async () => {
  const cases: [string[], RegExp][] = [
    [['smtp', '--target', '127.0.0.1:1', '--bogus'], /^postline: bench smtp: unknown option --bogus$/],
    [['smtp', '--target', '127.0.0.1:1', '--messages', 'abc'], /^postline: bench smtp: --messages: expected an integer from 1 to 10,000,000 \(got "abc"\)$/],
    [['smtp', '--target', '127.0.0.1:1', '--messages', '0'], /--messages: expected an integer/],
    [['smtp', '--target', '127.0.0.1:1', '--sessions', '-3'], /--sessions/],
    [['smtp'], /^postline: bench smtp: missing --target HOST:PORT$/],
    [['smtp', '--target', 'localhost'], /^postline: bench smtp: --target: expected host:port/],
    [['smtp', '--target', '127.0.0.1:1', '--size', '1XB'], /^postline: bench smtp: --size: expected a size such as 64KB, 25MB, 1GB \(got "1XB"\)$/],
    [['smtp', '--target', '127.0.0.1:1', '--size', '2GB'], /^postline: bench smtp: --size: expected 1B to 256MB/],
    [['smtp', '--target', '127.0.0.1:1', '--to', 'not an address'], /^postline: bench smtp: --to: expected an email address/],
    [['smtp', '--target', '127.0.0.1:1', '--timeout', '5'], /^postline: bench smtp: --timeout: expected a duration/],
    [['smtp', '--target', '127.0.0.1:1', '--reuse=yes'], /option --reuse takes no value/],
    [['imap', '--target', '127.0.0.1:1', '--password', 'p'], /^postline: bench imap: missing --user USER$/],
    [['imap', '--target', '127.0.0.1:1', '--user', 'u', '--password', 'p', '--rounds', '2', '--messages', '3'], /--rounds and --messages exclude each other/],
    [['pop3', '--target', '127.0.0.1:1', '--user', 'u'], /^postline: bench pop3: missing --password PASSWORD$/],
    [['pop3', '--target', '127.0.0.1:1', '--user', 'u', '--password', 'p', '--reuse'], /^postline: bench pop3: unknown option --reuse$/],
    [['nope'], /^postline: unknown command "bench nope"/],
    [[], /^postline: bench: missing subcommand \(smtp, imap, pop3\)$/],
  ];
  for (const [args, expected] of cases) {
    const r = await run(['bench', ...args], { cwd });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.match(r.stderr.trim(), expected);
  }
});

test('bench imap and bench pop3 --json against a mailbox with a few messages', SLOW, async () => {
  const server = await startTestServer();
  try {
    const fill = await bench(['smtp', '--target', `127.0.0.1:${server.port('smtp')}`, '--messages', '5', '--sessions', '1', '--size', '4KB', '--to', 'ivanov@example.org', '--json']);
    assert.equal(fill.code, 0, fill.stderr);
    const imap = `127.0.0.1:${server.port('imap')}`;
    const pop3 = `127.0.0.1:${server.port('pop3')}`;
    const login = ['--user', 'ivanov@example.org', '--password', 'ivanov-secret'];

    const once = await bench(['imap', '--target', imap, ...login, '--json']);
    assert.equal(once.code, 0, once.stderr);
    assert.equal(once.json!.protocol, 'imap');
    assert.equal(once.json!.ok, 5);
    assert.equal(once.json!.failed, 0);
    assert.ok(once.json!.bytes > 5 * 4096, 'with the Received header the server added');
    assert.equal(once.json!.rounds, 1);

    const rounds = await bench(['imap', '--target', imap, ...login, '--sessions', '2', '--rounds', '3', '--json']);
    assert.equal(rounds.code, 0, rounds.stderr);
    assert.equal(rounds.json!.ok, 30);

    const single = await bench(['imap', '--target', imap, ...login, '--sessions', '2', '--messages', '7', '--json']);
    assert.equal(single.code, 0, single.stderr);
    assert.equal(single.json!.ok, 7);
    assert.equal(single.json!.messages, 7);

    const table = await bench(['imap', '--target', imap, ...login]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^messages ok +5$/m);

    const wrong = await bench(['imap', '--target', imap, '--user', 'ivanov@example.org', '--password', 'wrong', '--json']);
    assert.equal(wrong.code, 1);
    assert.deepEqual(wrong.json!.errors, { NO: 1 });
    assert.match(wrong.stderr, /^postline: bench imap: nothing was fetched \(first error: LOGIN … → NO .*\)\n$/);

    const p = await bench(['pop3', '--target', pop3, ...login, '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.json!.protocol, 'pop3');
    assert.equal(p.json!.ok, 5);
    assert.equal(p.json!.failed, 0);
    assert.ok(p.json!.bytes > 5 * 4096);

    const p2 = await bench(['pop3', '--target', pop3, ...login, '--rounds', '2', '--json']);
    assert.equal(p2.code, 0, p2.stderr);
    assert.equal(p2.json!.ok, 10);
    assert.equal(inbox(server, 'ivanov@example.org'), 5, 'POP3 retrieval deletes nothing');

    const pwrong = await bench(['pop3', '--target', pop3, '--user', 'ivanov@example.org', '--password', 'wrong', '--json']);
    assert.equal(pwrong.code, 1);
    assert.deepEqual(pwrong.json!.errors, { '-ERR': 1 });

    const empty = await bench(['pop3', '--target', pop3, '--user', 'petrov@example.org', '--password', 'petrov-secret', '--json']);
    assert.equal(empty.code, 1);
    assert.equal(empty.json!.ok, 0);
    assert.match(empty.stderr, /nothing was retrieved \(the mailbox is empty\)/);
  } finally {
    await server.stop();
  }
});
