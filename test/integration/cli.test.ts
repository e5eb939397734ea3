import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePhc, verifyPassword } from '../../src/auth/password.js';
import { cleanEnv, run, serve, within, workspace } from '../helpers/cli.js';

// Every test spawns processes; on a loaded machine that can pass Bun's 5 s default per test.
const SLOW = { timeout: 30_000 };

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

// ---------------------------------------------------------------- bad arguments

const BAD_ARGS: [args: string[], stderr: string][] = [
  [[], 'postline: missing command (try postline help)'],
  [['frobnicate'], 'postline: unknown command "frobnicate" (try postline help)'],
  [['--bogus'], 'postline: expected a command before --bogus (try postline help)'],
  [['user'], 'postline: user: missing subcommand (add, hash, del, list)'],
  [['user', 'frob'], 'postline: unknown command "user frob" (try postline help)'],
  [['user', 'add'], 'postline: user add: missing ADDRESS'],
  [['user', 'add', 'a@example.org', '--bogus'], 'postline: user add: unknown option --bogus'],
  [['user', 'add', '--bogus'], 'postline: user add: unknown option --bogus'],
  [['user', 'add', 'a@example.org', '-x'], 'postline: user add: unknown option -x'],
  [['user', 'add', 'a@example.org', '--password'], 'postline: user add: option --password needs a value'],
  [['user', 'add', 'a@example.org', '--password-stdin=yes'], 'postline: user add: option --password-stdin takes no value'],
  [['user', 'add', 'a@example.org', '--password', 'pw', '--password-stdin'], 'postline: user add: --password and --password-stdin are mutually exclusive'],
  [['user', 'add', 'a@example.org', '--password', ''], 'postline: user add: empty password'],
  [['user', 'add', 'not-an-address', '--password', 'pw'], 'postline: user add: invalid address "not-an-address": expected local@domain'],
  [['user', 'add', 'a%b@example.org', '--password', 'pw'], 'postline: user add: invalid address "a%b@example.org": local part has characters that are not allowed'],
  [['user', 'del', 'a@example.org', 'extra'], 'postline: user del: unexpected argument "extra"'],
  [['user', 'del'], 'postline: user del: missing ADDRESS'],
  [['user', 'list', '--password-stdin'], 'postline: user list: unknown option --password-stdin'],
  [['user', 'hash', '--password', 'pw', '--password-stdin'], 'postline: user hash: --password and --password-stdin are mutually exclusive'],
  [['check-config', '--config'], 'postline: check-config: option --config needs a value'],
  [['serve', 'now'], 'postline: serve: unexpected argument "now"'],
  [['log', 'verify', '--deep'], 'postline: log verify: unknown option --deep'],
  [['mailbox', 'export', 'a@example.org', '--format', 'json'], 'postline: mailbox export: unsupported format "json" (supported: mbox)'],
  [['mailbox', 'export', '--format', 'mbox'], 'postline: mailbox export: missing ADDRESS'],
  [['help', 'me'], 'postline: help: unexpected argument "me"'],
];

for (const [args, expected] of BAD_ARGS) {
  test(`bad arguments: postline ${args.join(' ')}`.trimEnd(), SLOW, async () => {
    const ws = workspace();
    const r = await run(args, { cwd: ws.cwd });
    assert.equal(r.stderr, expected + '\n', 'exactly one stderr line');
    assert.equal(r.stdout, '');
    assert.equal(r.code, 2);
    // Arguments are checked before anything happens: nothing was written.
    assert.equal(existsSync(ws.dataDir), false);
  });
}

test('bad arguments win over a bad config: exit 2, not 1', SLOW, async () => {
  const ws = workspace('bogus: 1\n');
  const r = await run(['user', 'add', 'a@example.org', '--bogus', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'postline: user add: unknown option --bogus\n');
});

// ---------------------------------------------------------------- help, version

test('help and --version go to stdout with exit 0', SLOW, async () => {
  const ws = workspace();
  const help = await run(['help'], { cwd: ws.cwd });
  assert.equal(help.code, 0);
  for (const cmd of ['serve', 'check-config', 'user add ADDRESS', 'user hash', 'user del ADDRESS', 'user list', 'log verify', 'mailbox export ADDRESS']) {
    assert.ok(help.stdout.includes(`postline ${cmd}`), `help mentions ${cmd}`);
  }
  assert.equal((await run(['--help'], { cwd: ws.cwd })).stdout, help.stdout);
  const usage = await run(['user', 'add', '--help'], { cwd: ws.cwd });
  assert.equal(usage.code, 0);
  assert.match(usage.stdout, /^usage: postline user add ADDRESS \[--password PW \| --password-stdin\]\n/);
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'));
  const version = await run(['--version'], { cwd: ws.cwd });
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `postline ${pkg.version}\n`);
});

// ---------------------------------------------------------------- check-config

test('check-config: ok with the file given, the embedded default, or ./postline.yaml', SLOW, async () => {
  const ws = workspace();
  const r = await run(['check-config', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `config ok (${ws.config})\n`);

  const relative = await run(['check-config', '--config', 'test.yaml'], { cwd: ws.cwd });
  assert.equal(relative.stdout, `config ok (${ws.config})\n`);

  const embedded = await run(['check-config'], { cwd: ws.cwd });
  assert.equal(embedded.code, 0, embedded.stderr);
  assert.equal(embedded.stdout, 'config ok (embedded default)\n');

  writeFileSync(join(ws.cwd, 'postline.yaml'), readFileSync(ws.config));
  const local = await run(['check-config'], { cwd: ws.cwd });
  assert.equal(local.stdout, `config ok (${join(ws.cwd, 'postline.yaml')})\n`);
});

test('check-config: warnings go to stderr and the exit code stays 0', SLOW, async () => {
  const ws = workspace('users:\n  - { address: plain@example.org, password: "secret" }\n');
  const r = await run(['check-config', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `config ok (${ws.config})\n`);
  assert.ok(lines(r.stderr).some((l) => l.startsWith('warning: users.0.password:')), r.stderr);
});

test('check-config: every error as "path.to.key: problem", exit 1', SLOW, async () => {
  const ws = workspace();
  writeFileSync(ws.config, 'dataDir: 5\nbogus: 1\nlimits: { maxRecipients: many }\n');
  const r = await run(['check-config', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const errs = lines(r.stderr);
  for (const key of ['dataDir: ', 'bogus: ', 'limits.maxRecipients: ']) {
    assert.ok(errs.some((l) => l.startsWith(key)), `no line for ${key.trim()} in:\n${r.stderr}`);
  }
  assert.equal(errs.at(-1), `postline: invalid config (${ws.config}): ${errs.length - 1} errors`);
});

test('check-config: a missing config file is exit 1 naming the file', SLOW, async () => {
  const ws = workspace();
  const r = await run(['check-config', '--config', 'nope.yaml'], { cwd: ws.cwd });
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(join(ws.cwd, 'nope.yaml')), r.stderr);
});

test('check-config: a corrupt users file is an error', SLOW, async () => {
  const ws = workspace();
  mkdirSync(ws.dataDir);
  writeFileSync(join(ws.dataDir, 'users.json'), '{');
  const r = await run(['check-config', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^users: users file .*users\.json is corrupt: not valid JSON/);
});

test('a command other than check-config also stops on config errors with exit 1', SLOW, async () => {
  const ws = workspace('bogus: 1\n');
  const r = await run(['user', 'list', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(r.code, 1);
  assert.ok(lines(r.stderr).some((l) => l.startsWith('bogus: ')), r.stderr);
  assert.equal(r.stdout, '');
});

// ---------------------------------------------------------------- users

test('user add / list / del round trip; the file holds only a hash', SLOW, async () => {
  const ws = workspace('users:\n  - { address: boss@example.org, passwordHash: "$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }\n');
  const c = ['--config', ws.config];
  const add = await run(['user', 'add', 'Alice@Example.org', '--password', 'correct-horse-battery', ...c], { cwd: ws.cwd });
  assert.equal(add.stderr, '');
  assert.equal(add.stdout, 'user alice@example.org created\n');
  assert.equal(add.code, 0);

  const file = join(ws.dataDir, 'users.json');
  const raw = readFileSync(file, 'utf8');
  assert.ok(!raw.includes('correct-horse-battery'), 'plain password on disk');
  const stored = JSON.parse(raw).users;
  assert.equal(stored.length, 1);
  assert.equal(stored[0].address, 'alice@example.org');
  assert.ok(parsePhc(stored[0].passwordHash));
  assert.equal(await verifyPassword('correct-horse-battery', stored[0].passwordHash), true);

  const again = await run(['user', 'add', 'alice@example.org', '--password', 'second', ...c], { cwd: ws.cwd });
  assert.equal(again.stdout, 'user alice@example.org updated\n');
  assert.equal(await verifyPassword('second', JSON.parse(readFileSync(file, 'utf8')).users[0].passwordHash), true);

  const list = await run(['user', 'list', ...c], { cwd: ws.cwd });
  assert.equal(list.code, 0);
  const rows = lines(list.stdout).map((l) => l.split('\t'));
  assert.deepEqual(rows.map((r) => r.slice(0, 2)), [['alice@example.org', 'file'], ['boss@example.org', 'config']]);
  assert.equal(rows[0]![2], stored[0].created);
  assert.equal(rows[1]![2], '-');

  const del = await run(['user', 'del', 'ALICE@example.org', ...c], { cwd: ws.cwd });
  assert.equal(del.code, 0);
  assert.equal(del.stdout, 'user alice@example.org deleted\n');
  const gone = await run(['user', 'del', 'alice@example.org', ...c], { cwd: ws.cwd });
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, 'postline: user del: no such user alice@example.org\n');
  const configUser = await run(['user', 'del', 'boss@example.org', ...c], { cwd: ws.cwd });
  assert.equal(configUser.code, 1);
  assert.equal(configUser.stderr, 'postline: user del: boss@example.org is defined in the config file; remove it there\n');
  assert.deepEqual(lines((await run(['user', 'list', ...c], { cwd: ws.cwd })).stdout).map((l) => l.split('\t')[0]), ['boss@example.org']);
});

test('user add: --password-stdin and a piped stdin; one trailing newline is dropped', SLOW, async () => {
  const ws = workspace();
  const c = ['--config', ws.config];
  const viaFlag = await run(['user', 'add', 'a@example.org', '--password-stdin', ...c], { cwd: ws.cwd, input: 'from stdin\n' });
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  const piped = await run(['user', 'add', 'b@example.org', ...c], { cwd: ws.cwd, input: 'piped pw\r\n' });
  assert.equal(piped.code, 0, piped.stderr);
  const users = JSON.parse(readFileSync(join(ws.dataDir, 'users.json'), 'utf8')).users as { address: string; passwordHash: string }[];
  const hashOf = (a: string) => users.find((u) => u.address === a)!.passwordHash;
  assert.equal(await verifyPassword('from stdin', hashOf('a@example.org')), true);
  assert.equal(await verifyPassword('from stdin\n', hashOf('a@example.org')), false);
  assert.equal(await verifyPassword('piped pw', hashOf('b@example.org')), true);

  const empty = await run(['user', 'add', 'c@example.org', '--password-stdin', ...c], { cwd: ws.cwd, input: '' });
  assert.equal(empty.code, 2);
  assert.equal(empty.stderr, 'postline: user add: empty password\n');
});

test('user add: warns about a domain that is not local and a config user that shadows the entry', SLOW, async () => {
  const ws = workspace('users:\n  - { address: boss@example.org, password: "x" }\n');
  const c = ['--config', ws.config];
  const foreign = await run(['user', 'add', 'a@elsewhere.net', '--password', 'pw', ...c], { cwd: ws.cwd });
  assert.equal(foreign.code, 0);
  assert.equal(foreign.stderr, 'postline: warning: elsewhere.net is not in domains (example.org); no mail is delivered to a@elsewhere.net\n');
  const shadowed = await run(['user', 'add', 'boss@example.org', '--password', 'pw', ...c], { cwd: ws.cwd });
  assert.equal(shadowed.code, 0);
  assert.equal(shadowed.stderr, 'postline: warning: boss@example.org is also defined in the config, which wins; the users.json entry is ignored\n');
  const list = await run(['user', 'list', ...c], { cwd: ws.cwd });
  assert.ok(list.stderr.includes('boss@example.org is in the config and in users.json'), list.stderr);
});

test('user hash prints a PHC string that verifies, from --password or stdin, without needing a config', SLOW, async () => {
  const ws = workspace();
  writeFileSync(ws.config, 'bogus: 1\n'); // a broken config must not stop `user hash`
  const viaArg = await run(['user', 'hash', '--password', 'hash me', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(viaArg.code, 0, viaArg.stderr);
  const phc = viaArg.stdout.trimEnd();
  assert.equal(viaArg.stdout, phc + '\n');
  assert.ok(parsePhc(phc), phc);
  assert.equal(await verifyPassword('hash me', phc), true);

  const viaStdin = await run(['user', 'hash', '--password-stdin'], { cwd: ws.cwd, input: 'hash me\n' });
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  assert.equal(await verifyPassword('hash me', viaStdin.stdout.trimEnd()), true);
  assert.notEqual(viaStdin.stdout, viaArg.stdout); // fresh salt

  const full = await run(['user', 'hash', '--password', 'x'], { cwd: ws.cwd, env: cleanEnv({ POSTLINE_SCRYPT_LN: '' }) });
  assert.match(full.stdout, /^\$scrypt\$ln=15,r=8,p=1\$/);
});

test('a corrupt users file makes user add fail with one clear line, exit 1', SLOW, async () => {
  const ws = workspace();
  mkdirSync(ws.dataDir);
  writeFileSync(join(ws.dataDir, 'users.json'), '{"version":1,"users":[');
  const r = await run(['user', 'add', 'a@example.org', '--password', 'pw', '--config', ws.config], { cwd: ws.cwd });
  assert.equal(r.code, 1);
  assert.equal(lines(r.stderr).length, 1);
  assert.match(r.stderr, /^postline: user add: users file .*users\.json is corrupt: not valid JSON/);
});

test('log verify and mailbox export are wired to the store commands', SLOW, async () => {
  const ws = workspace();
  const verify = await run(['log', 'verify', '--config', ws.config], { cwd: ws.cwd });
  // Whatever the store reports, it is about this config's data dir and a 0/1 exit code.
  assert.ok(verify.code === 0 || verify.code === 1, String(verify.code));
  assert.ok(verify.stdout.length > 0);
  const exp = await run(['mailbox', 'export', 'A@example.org', '--out', 'box.mbox', '--config', ws.config], { cwd: ws.cwd });
  assert.ok(exp.code === 0 || exp.code === 1, String(exp.code));
  assert.notEqual(exp.code, 2);
});

// ---------------------------------------------------------------- serve

test('serve: ready line, hint to add a user, sees `user add` without restart, SIGTERM exits 0', SLOW, async () => {
  const ws = workspace();
  const s = serve(ws);
  try {
    const ready = await s.waitForLog((l) => l.msg === 'postline ready', 4000);
    assert.equal(ready.source, ws.config);
    assert.equal(ready.level, 30);
    assert.equal(ready.users, 0);
    const hint = await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('no users yet'), 1000);
    assert.match(String(hint.msg), /npx postline user add you@example\.org --password-stdin/);

    const add = await run(['user', 'add', 'late@example.org', '--password', 'pw', '--config', ws.config], { cwd: ws.cwd });
    assert.equal(add.code, 0, add.stderr);
    const reloaded = await s.waitForLog((l) => l.msg === 'users reloaded', 5000);
    assert.equal(reloaded.users, 1);

    s.child.kill('SIGTERM');
    assert.equal(await within(s.exit, 4000, 'exit after SIGTERM'), 0);
    assert.ok(s.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'));
    assert.equal(s.logs.at(-1)!.msg, 'stopped');
    assert.equal(s.stderr(), '');
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('serve: SIGINT is a graceful stop too', SLOW, async () => {
  const ws = workspace();
  const s = serve(ws);
  try {
    await s.waitForLog((l) => l.msg === 'postline ready', 4000);
    s.child.kill('SIGINT');
    assert.equal(await within(s.exit, 4000, 'exit after SIGINT'), 0);
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('serve: a data dir that cannot be created is one JSON error line and exit 1', SLOW, async () => {
  const ws = workspace();
  writeFileSync(join(ws.cwd, 'occupied'), 'a file, not a directory');
  writeFileSync(ws.config, 'dataDir: ./occupied/data\ndomains: [example.org]\n');
  const s = serve(ws);
  assert.equal(await within(s.exit, 4000, 'exit on startup failure'), 1);
  const errors = s.logs.filter((l) => (l.level as number) >= 50);
  assert.equal(errors.length, 1, JSON.stringify(s.logs));
  assert.equal(errors[0]!.msg, 'startup failed');
  assert.ok(!s.logs.some((l) => l.msg === 'postline ready'));
});

test('serve: config errors are printed to stderr, exit 1, no JSON', SLOW, async () => {
  const ws = workspace('bogus: 1\n');
  const s = serve(ws);
  assert.equal(await within(s.exit, 4000, 'exit on bad config'), 1);
  assert.deepEqual(s.logs, []);
  assert.ok(lines(s.stderr()).some((l) => l.startsWith('bogus: ')), s.stderr());
});
