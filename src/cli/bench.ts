/**
 * `postline bench smtp | imap | pop3` — the load generators of src/loadgen
 * (the ones bench/ uses) as commands, to measure any server:
 *
 *   postline bench smtp --target HOST:PORT [--messages 10000] [--size 1KB] [--sessions 20]
 *                       [--reuse] [--tls] [--from ADDR] [--to ADDR] [--timeout 30s] [--json]
 *   postline bench imap --target HOST:PORT --user U --password PW [--sessions 1]
 *                       [--rounds 1 | --messages N] [--timeout 30s] [--json]
 *   postline bench pop3 --target HOST:PORT --user U --password PW [--sessions 1] [--rounds 1]
 *                       [--timeout 30s] [--json]
 *
 * SMTP sends one message per connection unless --reuse, like Postfix's
 * smtp-source (which reuses with -d). While it runs, a progress line is
 * redrawn on stderr when stderr is a terminal (never with --json); then a
 * summary table, or with --json one JSON object, goes to stdout.
 *
 * Exit codes: 0 when at least one message was accepted or retrieved; 1 when
 * none was (the summary is still printed, then the first error), or when the
 * target could not be reached at all; 2 for bad arguments.
 */
import { isIP } from 'node:net';
import { flag, stringOption, type ParsedArgs } from './args.js';
import { usageError, type CliContext } from './context.js';
import { parseDuration, parseEmail, parseHostPort, parseSize } from '../config/units.js';
import type { HostPort } from '../config/types.js';
import { runImapLoad } from '../loadgen/imap.js';
import { makeMessage, minimumSize } from '../loadgen/message.js';
import { runPop3Load } from '../loadgen/pop3.js';
import { formatInt, formatProgressLine, formatSummary } from '../loadgen/report.js';
import { runSmtpLoad } from '../loadgen/smtp.js';
import { UnreachableError, type LoadResult, type ProgressListener } from '../loadgen/stats.js';

const MAX_MESSAGES = 10_000_000; // latencies are kept per message: 80 MB at most
const MAX_SESSIONS = 10_000;
const MAX_SIZE = 256 * 1024 * 1024; // one message is built in memory and sent N times

// ---------------------------------------------------------------- arguments

function target(args: ParsedArgs): HostPort {
  const text = stringOption(args, 'target');
  if (text === undefined) throw usageError('missing --target HOST:PORT');
  const parsed = parseHostPort(text);
  if (!parsed.ok) throw usageError(`--target: ${parsed.problem}`);
  return parsed.value;
}

function integer(args: ParsedArgs, name: string, fallback: number, max: number): number {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw usageError(`--${name}: expected an integer from 1 to ${formatInt(max)} (got ${JSON.stringify(text)})`);
  }
  return Number(text);
}

function required(args: ParsedArgs, name: string, what: string): string {
  const text = stringOption(args, name);
  if (text === undefined) throw usageError(`missing --${name} ${what}`);
  return text;
}

function address(args: ParsedArgs, name: string, fallback: string): string {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  const parsed = parseEmail(text);
  if (!parsed.ok) throw usageError(`--${name}: ${parsed.problem}`);
  return parsed.value;
}

function timeout(args: ParsedArgs): number {
  const text = stringOption(args, 'timeout');
  if (text === undefined) return 30_000;
  const parsed = parseDuration(text);
  if (!parsed.ok || parsed.value < 1) throw usageError(`--timeout: ${parsed.ok ? 'must be more than 0' : parsed.problem}`);
  return parsed.value;
}

function show(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

// ---------------------------------------------------------------- running and reporting

/** The redrawn progress line on stderr: only for a person watching (a terminal, no --json). */
function progressLine(ctx: CliContext, json: boolean): { onProgress: ProgressListener | undefined; clear(): void } {
  const stream = ctx.promptStream;
  if (json || !stream.isTTY) return { onProgress: undefined, clear: () => {} };
  let shown = false;
  return {
    onProgress: (p) => {
      stream.write(`\r${formatProgressLine(p)}\x1b[K`);
      shown = true;
    },
    clear: () => {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

const round = (x: number, digits: number): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** One JSON object: what was run, then the figures (numbers; NaN latencies become null). */
function jsonReport(about: Record<string, unknown>, r: LoadResult): string {
  return JSON.stringify({
    ...about,
    ok: r.ok,
    failed: r.failed,
    seconds: round(r.seconds, 3),
    messagesPerSecond: round(r.rate, 1),
    mbPerSecond: round(r.mbPerSec, 3),
    bytes: r.bytes,
    p50Ms: round(r.p50Ms, 3),
    p95Ms: round(r.p95Ms, 3),
    p99Ms: round(r.p99Ms, 3),
    errors: r.errors,
    firstError: r.firstError,
    cpuSeconds: round(r.cpuSeconds, 3),
  });
}

async function runAndReport(
  ctx: CliContext,
  args: ParsedArgs,
  name: string,
  about: { json: Record<string, unknown>; table: [string, string][] },
  run: (onProgress: ProgressListener | undefined) => Promise<LoadResult>,
  nothingDone: string,
): Promise<number> {
  const json = flag(args, 'json');
  const progress = progressLine(ctx, json);
  let result: LoadResult;
  try {
    result = await run(progress.onProgress);
  } catch (err) {
    if (err instanceof UnreachableError) throw new Error(err.message); // one line, exit 1
    throw err;
  } finally {
    progress.clear();
  }
  if (json) ctx.out(jsonReport(about.json, result));
  else for (const line of formatSummary(result, about.table)) ctx.out(line);
  if (result.ok > 0) return 0;
  const why = result.firstError ? ` (first error: ${result.firstError})` : result.failed === 0 ? ' (the mailbox is empty)' : '';
  ctx.err(`postline: bench ${name}: ${nothingDone}${why}`);
  return 1;
}

// ---------------------------------------------------------------- commands

export async function runBenchSmtp(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const to0 = target(args);
  const messages = integer(args, 'messages', 10_000, MAX_MESSAGES);
  const sessions = integer(args, 'sessions', 20, MAX_SESSIONS);
  const sizeText = stringOption(args, 'size') ?? '1KB';
  const size = parseSize(sizeText);
  if (!size.ok) throw usageError(`--size: ${size.problem}`);
  if (size.value < 1 || size.value > MAX_SIZE) throw usageError(`--size: expected 1B to 256MB (got ${JSON.stringify(sizeText)})`);
  const reuse = flag(args, 'reuse');
  const tls = flag(args, 'tls');
  const from = address(args, 'from', 'bench@localhost');
  // The target's postmaster: every server must accept it for its own domain (RFC 5321 §4.5.1).
  const to = address(args, 'to', `postmaster@${isIP(to0.host) === 0 ? to0.host : 'localhost'}`);
  const timeoutMs = timeout(args);
  const date = new Date();
  const body = makeMessage({ from, to, size: size.value, date });
  const where = show(to0);
  const mode = reuse ? 'reused connections' : 'one message per connection';
  const table: [string, string][] = [
    ['target', `smtp ${where}${tls ? ' (STARTTLS)' : ''}`],
    ['load', `${formatInt(messages)} × ${formatInt(body.length)} bytes, ${formatInt(sessions)} sessions, ${mode}`],
  ];
  if (body.length > size.value) table.push(['note', `--size raised to ${body.length} bytes (headers; at least ${minimumSize({ from, to, date })})`]);
  return runAndReport(
    ctx,
    args,
    'smtp',
    { json: { protocol: 'smtp', target: where, messages, size: body.length, sessions, reuse, tls, from, to }, table },
    (onProgress) => runSmtpLoad({ host: to0.host, port: to0.port, sessions, messages, body, from, to, reuse, tls, timeoutMs, onProgress }),
    'no message was accepted',
  );
}

export async function runBenchImap(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const t = target(args);
  const user = required(args, 'user', 'USER');
  const password = required(args, 'password', 'PASSWORD');
  const sessions = integer(args, 'sessions', 1, MAX_SESSIONS);
  if (stringOption(args, 'rounds') !== undefined && stringOption(args, 'messages') !== undefined) {
    throw usageError('--rounds and --messages exclude each other');
  }
  const messages = stringOption(args, 'messages') !== undefined ? integer(args, 'messages', 1, MAX_MESSAGES) : undefined;
  const rounds = messages === undefined ? integer(args, 'rounds', 1, 1_000_000) : undefined;
  const timeoutMs = timeout(args);
  const where = show(t);
  const load =
    messages === undefined
      ? `${formatInt(sessions)} session${sessions > 1 ? 's' : ''} × ${formatInt(rounds!)} round${rounds! > 1 ? 's' : ''} of UID FETCH 1:* (BODY.PEEK[])`
      : `${formatInt(messages)} × FETCH n (BODY.PEEK[]) over ${formatInt(sessions)} session${sessions > 1 ? 's' : ''}`;
  return runAndReport(
    ctx,
    args,
    'imap',
    {
      json: { protocol: 'imap', target: where, user, sessions, ...(messages === undefined ? { rounds } : { messages }) },
      table: [
        ['target', `imap ${where} as ${user}`],
        ['load', load],
      ],
    },
    (onProgress) => runImapLoad({ host: t.host, port: t.port, user, password, sessions, rounds, messages, timeoutMs, onProgress }),
    'nothing was fetched',
  );
}

export async function runBenchPop3(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const t = target(args);
  const user = required(args, 'user', 'USER');
  const password = required(args, 'password', 'PASSWORD');
  const sessions = integer(args, 'sessions', 1, MAX_SESSIONS);
  const rounds = integer(args, 'rounds', 1, 1_000_000);
  const timeoutMs = timeout(args);
  const where = show(t);
  return runAndReport(
    ctx,
    args,
    'pop3',
    {
      json: { protocol: 'pop3', target: where, user, sessions, rounds },
      table: [
        ['target', `pop3 ${where} as ${user}`],
        ['load', `${formatInt(sessions)} session${sessions > 1 ? 's' : ''} × ${formatInt(rounds)} round${rounds > 1 ? 's' : ''} of RETR every message (pipelined)`],
      ],
    },
    (onProgress) => runPop3Load({ host: t.host, port: t.port, user, password, sessions, rounds, timeoutMs, onProgress }),
    'nothing was retrieved',
  );
}
