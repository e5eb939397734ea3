/**
 * Dovecot as the reference MDA for side-by-side figures: installed with
 * apt-get when missing (Debian packages dovecot-imapd, dovecot-pop3d; only
 * as root), run from a self-contained config in a temp dir — plain IMAP and
 * POP3 on free loopback ports, PLAIN auth without TLS, one passwd-file user
 * whose Maildir the caller's messages are written into.
 *
 * Nothing here may fail the benchmark because Dovecot is missing or does
 * not start: callers get null and a line explaining why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const DOVECOT = '/usr/sbin/dovecot';

export interface DovecotServer {
  version: string;
  host: string;
  imapPort: number;
  pop3Port: number;
  user: string;
  password: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  messages: readonly Buffer[];
  /** Message i (0-based) gets \Seen. */
  seen: (i: number) => boolean;
  user: string;
  password: string;
  log?: (line: string) => void;
}

/** The installed version ("2.3.19.1"), or null. */
export function dovecotVersion(): string | null {
  if (!existsSync(DOVECOT)) return null;
  const r = spawnSync(DOVECOT, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? (r.stdout.trim().split(/\s+/)[0] ?? null) : null;
}

/** Installs Dovecot when missing and we are root. Returns whether it is usable now. */
export function ensureDovecot(log: (line: string) => void = console.log): boolean {
  if (dovecotVersion()) return true;
  if (process.getuid?.() !== 0) {
    log('dovecot is not installed and we are not root: no Dovecot figures');
    return false;
  }
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) {
    log('dovecot is not installed and there is no apt-get: no Dovecot figures');
    return false;
  }
  log('installing dovecot-imapd, dovecot-pop3d for side-by-side figures…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'dovecot-imapd', 'dovecot-pop3d'], { stdio: 'ignore', env, timeout: 600_000 });
  // The package's postinst may start a system-wide instance (on 143/110);
  // ours listens on its own ports and never touches it.
  if (r.status !== 0 || !dovecotVersion()) {
    log(`could not install dovecot (apt-get exit ${r.status ?? r.signal}): no Dovecot figures`);
    return false;
  }
  return true;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

interface Account {
  name: string;
  uid: number;
  gid: number;
}

function account(name: string): Account | null {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return null;
  return { name, uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * Maildir file name as dovecot-lda would give it
 * (https://cr.yp.to/proto/maildir.html plus Dovecot's S=/W= sizes, so it
 * needs neither stat nor a scan for sizes): seconds, microseconds, the
 * delivering process's pid, host. The seconds increase with i, so Dovecot's
 * first sync gives UIDs in message order. The microseconds and pid vary as
 * they do for real deliveries (one LDA process per message) — that matters:
 * Dovecot keeps file names in a hash table keyed by a PJW hash of the name,
 * and names that differ only in a small counter (".M1P100.host") collide
 * into ~1,000 buckets for 10,000 files, which made every FETCH of all bodies
 * 5× slower than Dovecot is on a real mailbox.
 */
function maildirName(i: number, size: number, seen: boolean): string {
  let x = Math.imul(i + 1, 2654435761) >>> 0; // deterministic, well spread
  x = (x ^ (x >>> 15)) >>> 0;
  const usec = x % 1_000_000;
  const pid = 1000 + (Math.imul(x, 40503) >>> 0) % 4_000_000;
  return `${1_700_000_000 + i * 7}.M${usec}P${pid}.mx.bench.example,S=${size},W=${size}:2,${seen ? 'S' : ''}`;
}

function configText(v: { major: number; minor: number }, dir: string, imapPort: number, pop3Port: number, loginUser: string, internalUser: string, mail: Account, rootless: boolean): string {
  const common = [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `log_path = ${dir}/dovecot.log`,
    `info_log_path = ${dir}/dovecot.log`,
    'protocols = imap pop3',
    'listen = 127.0.0.1',
    'ssl = no',
    'auth_mechanisms = plain',
    `default_login_user = ${loginUser}`,
    `default_internal_user = ${internalUser}`,
    // Our mail user may be a system account (nobody); allow its uid.
    `first_valid_uid = ${Math.min(mail.uid, 500)}`,
    `first_valid_gid = ${Math.min(mail.gid, 1)}`,
    'service imap-login {',
    `  inet_listener imap {\n    address = 127.0.0.1\n    port = ${imapPort}\n  }`,
    '  inet_listener imaps {\n    port = 0\n  }',
    ...(rootless ? ['  chroot ='] : []),
    '}',
    'service pop3-login {',
    `  inet_listener pop3 {\n    address = 127.0.0.1\n    port = ${pop3Port}\n  }`,
    '  inet_listener pop3s {\n    port = 0\n  }',
    ...(rootless ? ['  chroot ='] : []),
    '}',
  ];
  if (v.major > 2 || (v.major === 2 && v.minor >= 4)) {
    // 2.4 renamed most of these (mail_location → mail_driver/mail_path, named passdb/userdb blocks).
    return [
      'dovecot_config_version = 2.4.0',
      'dovecot_storage_version = 2.4.0',
      ...common,
      'auth_allow_cleartext = yes',
      'passdb passwd-file {',
      `  passwd_file_path = ${dir}/passwd`,
      '  default_password_scheme = PLAIN',
      '}',
      'userdb static {',
      '  fields {',
      `    uid = ${mail.uid}`,
      `    gid = ${mail.gid}`,
      `    home = ${dir}/home`,
      '  }',
      '}',
      'mail_driver = maildir',
      `mail_path = ${dir}/mail`,
      '',
    ].join('\n');
  }
  return [
    ...common,
    'disable_plaintext_auth = no',
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN ${dir}/passwd`,
    '}',
    'userdb {',
    '  driver = static',
    `  args = uid=${mail.uid} gid=${mail.gid} home=${dir}/home`,
    '}',
    `mail_location = maildir:${dir}/mail`,
    '',
  ].join('\n');
}

/**
 * Writes the config and the Maildir, starts `dovecot -F`, waits until both
 * ports accept. Returns null (and logs why) when that is not possible.
 */
export async function startDovecot(opts: DovecotOptions): Promise<DovecotServer | null> {
  const log = opts.log ?? console.log;
  const version = dovecotVersion();
  if (!version) {
    log('dovecot is not installed: no Dovecot figures');
    return null;
  }
  const [major = 2, minor = 3] = version.split('.').map(Number);
  const root = process.getuid?.() === 0;
  // As root: mail processes as nobody, login processes as dovenull, internal
  // ones as dovecot (the package creates both), falling back to nobody.
  // Not root ("rootless" Dovecot): everything as ourselves.
  const self: Account = { name: userInfo().username, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const nobody = account('nobody');
  const mail = root ? nobody : self;
  if (!mail) {
    log('no "nobody" account for Dovecot mail processes: no Dovecot figures');
    return null;
  }
  const loginUser = root ? (account('dovenull') ?? nobody!).name : self.name;
  const internal = root ? (account('dovecot') ?? nobody!) : self;
  const internalUser = internal.name;

  const dir = mkdtempSync(join(tmpdir(), 'postline-bench-dovecot-'));
  let child: ChildProcess | null = null;
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    chmodSync(dir, 0o755); // the mail user must reach its Maildir
    const [imapPort, pop3Port] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'passwd'), `${opts.user}:{PLAIN}${opts.password}::::::\n`, { mode: 0o600 });
    for (const sub of ['mail/cur', 'mail/new', 'mail/tmp', 'home']) mkdirSync(join(dir, sub), { recursive: true });
    opts.messages.forEach((m, i) => writeFileSync(join(dir, 'mail/cur', maildirName(i, m.length, opts.seen(i))), m));
    if (root) {
      spawnSync('chown', ['-R', `${mail.uid}:${mail.gid}`, join(dir, 'mail'), join(dir, 'home')]);
      chownSync(dir, 0, 0);
      // The auth process runs as the internal user and reads the passwd-file.
      chownSync(join(dir, 'passwd'), internal.uid, internal.gid);
    }
    const conf = join(dir, 'dovecot.conf');
    writeFileSync(conf, configText({ major, minor }, dir, imapPort, pop3Port, loginUser, internalUser, mail, !root));

    const check = spawnSync(DOVECOT, ['-c', conf, '-n'], { encoding: 'utf8', timeout: 20_000 });
    if (check.status !== 0) {
      log(`dovecot rejected the generated config: ${(check.stderr || check.stdout).trim().split('\n').slice(-3).join(' / ')}`);
      cleanup();
      return null;
    }
    let stderr = '';
    child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const deadline = Date.now() + 20_000;
    let up = false;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      if ((await accepts(imapPort)) && (await accepts(pop3Port))) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!up) {
      const logTail = existsSync(join(dir, 'dovecot.log')) ? readFileSync(join(dir, 'dovecot.log'), 'utf8').trim().split('\n').slice(-5).join(' / ') : '';
      log(`dovecot did not start (${child.exitCode !== null ? `exit ${child.exitCode}` : 'ports not accepting'}): ${stderr.trim()} ${logTail}`);
      await stopChild(child);
      cleanup();
      return null;
    }
    const running = child;
    return {
      version,
      host: '127.0.0.1',
      imapPort,
      pop3Port,
      user: opts.user,
      password: opts.password,
      dir,
      pid: running.pid!,
      async stop() {
        await stopChild(running);
        cleanup();
      },
    };
  } catch (err) {
    log(`dovecot could not be set up: ${(err as Error).message}`);
    if (child) await stopChild(child);
    cleanup();
    return null;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
