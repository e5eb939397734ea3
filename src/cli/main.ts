#!/usr/bin/env -S node --no-memory-reducer --initial-old-space-size=128
/**
 * The `postline` executable: one declarative command table, one dispatcher.
 * Exit codes: 0 ok, 1 failure (bad config, I/O, damage), 2 bad arguments.
 */
import { readFileSync } from 'node:fs';
import { isPostlineError } from '../core/errors.js';
import { formatHelp, parseCommandArgs, type CommandSpec } from './args.js';
import { CliExit, processContext, usageError, type CliContext } from './context.js';

type Run = CommandSpec['run'];

/**
 * Command modules load on demand: `--version`, `help` or a typo should not
 * pay for zod, pino and the store (about 0.3 s of startup).
 */
function lazy<M>(load: () => Promise<M>, pick: (m: M) => Run): Run {
  return async (args, ctx) => pick(await load())(args, ctx);
}

const user = () => import('./user.js');
const storeCommands = () => import('./store-commands.js');
const queue = () => import('./queue.js');
const bench = () => import('./bench.js');

const BENCH_OPTIONS = { target: { type: 'string' }, sessions: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } } as const;
const PASSWORD_OPTIONS = { password: { type: 'string' }, 'password-stdin': { type: 'boolean' } } as const;

const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'serve',
    usage: 'serve [--config FILE]',
    summary: 'run the server (JSON logs on stdout)',
    options: {},
    positionals: [],
    run: lazy(() => import('./serve.js'), (m) => m.runServe),
  },
  {
    name: 'check-config',
    usage: 'check-config [--config FILE]',
    summary: 'validate the configuration',
    options: {},
    positionals: [],
    run: lazy(() => import('./check-config.js'), (m) => m.runCheckConfig),
  },
  {
    name: 'user add',
    usage: 'user add ADDRESS [--password PW | --password-stdin]',
    summary: 'create or update a user',
    options: PASSWORD_OPTIONS,
    positionals: ['ADDRESS'],
    run: lazy(user, (m) => m.runUserAdd),
  },
  {
    name: 'user hash',
    usage: 'user hash [--password PW | --password-stdin]',
    summary: 'print a PHC hash for passwordHash in the config',
    options: PASSWORD_OPTIONS,
    positionals: [],
    run: lazy(user, (m) => m.runUserHash),
  },
  {
    name: 'user del',
    usage: 'user del ADDRESS',
    summary: 'delete a user',
    options: {},
    positionals: ['ADDRESS'],
    run: lazy(user, (m) => m.runUserDel),
  },
  {
    name: 'user list',
    usage: 'user list',
    summary: 'list users (address, source, created)',
    options: {},
    positionals: [],
    run: lazy(user, (m) => m.runUserList),
  },
  {
    name: 'log verify',
    usage: 'log verify',
    summary: 'check every record of the message log',
    options: {},
    positionals: [],
    run: lazy(storeCommands, (m) => m.runLogVerifyCommand),
  },
  {
    name: 'mailbox export',
    usage: 'mailbox export ADDRESS [--format mbox] [--out FILE]',
    summary: "export a user's mail",
    options: { format: { type: 'string' }, out: { type: 'string' } },
    positionals: ['ADDRESS'],
    run: lazy(storeCommands, (m) => m.runMailboxExportCommand),
  },
  {
    name: 'queue list',
    usage: 'queue list',
    summary: 'list the outbound queue (like mailq)',
    options: {},
    positionals: [],
    run: lazy(queue, (m) => m.runQueueList),
  },
  {
    name: 'queue flush',
    usage: 'queue flush',
    summary: 'try every queued message now (like postqueue -f)',
    options: {},
    positionals: [],
    run: lazy(queue, (m) => m.runQueueFlush),
  },
  {
    name: 'queue delete',
    usage: 'queue delete ID',
    summary: 'drop a queued message without a bounce (like postsuper -d)',
    options: {},
    positionals: ['ID'],
    run: lazy(queue, (m) => m.runQueueDelete),
  },
  {
    name: 'bench smtp',
    usage: 'bench smtp --target HOST:PORT [options]',
    summary: 'SMTP load (--messages N --size 1KB --sessions N --reuse --tls --from --to --timeout 30s --json)',
    options: { ...BENCH_OPTIONS, messages: { type: 'string' }, size: { type: 'string' }, reuse: { type: 'boolean' }, tls: { type: 'boolean' }, from: { type: 'string' }, to: { type: 'string' } },
    positionals: [],
    run: lazy(bench, (m) => m.runBenchSmtp),
  },
  {
    name: 'bench imap',
    usage: 'bench imap --target HOST:PORT --user U --password PW',
    summary: 'IMAP fetch load (--sessions N, --rounds N | --messages N, --timeout 30s, --json)',
    options: { ...BENCH_OPTIONS, user: { type: 'string' }, password: { type: 'string' }, rounds: { type: 'string' }, messages: { type: 'string' } },
    positionals: [],
    run: lazy(bench, (m) => m.runBenchImap),
  },
  {
    name: 'bench pop3',
    usage: 'bench pop3 --target HOST:PORT --user U --password PW',
    summary: 'POP3 retrieve-all load (--sessions N --rounds N --timeout 30s --json)',
    options: { ...BENCH_OPTIONS, user: { type: 'string' }, password: { type: 'string' }, rounds: { type: 'string' } },
    positionals: [],
    run: lazy(bench, (m) => m.runBenchPop3),
  },
  {
    name: 'help',
    usage: 'help',
    summary: 'show this help',
    options: {},
    positionals: [],
    run: async (_args, ctx) => printHelp(ctx),
  },
];

const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!));

function printHelp(ctx: CliContext): number {
  for (const line of formatHelp(COMMANDS)) ctx.out(line);
  return 0;
}

function version(): string {
  // dist/src/cli/main.js when built, src/cli/main.ts when run from source (Bun).
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'postline' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

type Found = { kind: 'command'; command: CommandSpec; rest: string[] } | { kind: 'group-help'; group: string };

/** Finds the command named by the leading words of argv; the rest are its arguments. */
function findCommand(argv: string[]): Found {
  const [first, second] = argv;
  if (first === undefined) throw usageError('missing command (try postline help)');
  if (first.startsWith('-')) throw usageError(`expected a command before ${first} (try postline help)`);
  if (GROUPS.has(first)) {
    if (second === '--help' || second === '-h') return { kind: 'group-help', group: first };
    const subs = groupCommands(first).map((c) => c.name.split(' ')[1]);
    if (second === undefined || second.startsWith('-')) throw usageError(`${first}: missing subcommand (${subs.join(', ')})`);
    const command = COMMANDS.find((c) => c.name === `${first} ${second}`);
    if (!command) throw usageError(`unknown command "${first} ${second}" (try postline help)`);
    return { kind: 'command', command, rest: argv.slice(2) };
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) throw usageError(`unknown command "${first}" (try postline help)`);
  return { kind: 'command', command, rest: argv.slice(1) };
}

function groupCommands(group: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.startsWith(group + ' '));
}

async function main(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) return printHelp(ctx);
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    ctx.out(`postline ${version()}`);
    return 0;
  }
  let command: CommandSpec | undefined;
  try {
    const found = findCommand(argv);
    if (found.kind === 'group-help') {
      for (const c of groupCommands(found.group)) ctx.out(`usage: postline ${c.usage}`);
      return 0;
    }
    command = found.command;
    const args = parseCommandArgs(command, found.rest);
    if (args.help) {
      ctx.out(`usage: postline ${command.usage}`);
      ctx.out(`  ${command.summary}; every command also takes --config FILE`);
      return 0;
    }
    return await command.run(args, ctx);
  } catch (err) {
    if (err instanceof CliExit) return err.exitCode;
    const prefix = command ? `postline: ${command.name}: ` : 'postline: ';
    if (isPostlineError(err, 'ERR_CLI_USAGE')) {
      ctx.err(prefix + err.message);
      return 2;
    }
    // Expected failures (corrupt users file, lock timeout, I/O) are one clear line, not a stack trace.
    ctx.err(prefix + (err instanceof Error ? err.message : String(err)));
    return 1;
  }
}

/** Exit only once stdout and stderr have taken everything written (pipes may be asynchronous, e.g. under Bun). */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

// A reader that went away (`postline user list | head -1`) ends the command quietly, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

main(process.argv.slice(2), processContext()).then(exitAfterFlush, (err: unknown) => {
  process.stderr.write(`postline: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exitAfterFlush(1);
});
