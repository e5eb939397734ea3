/**
 * Where `user add` / `user hash` get the password from:
 *   --password PW       the argument (visible in `ps` and shell history; fine for scripts and tests)
 *   --password-stdin    stdin, up to the first newline-terminated end
 *   neither             stdin when it is a pipe or file; an echo-free prompt (asked twice) on a terminal
 */
import { CliExit, usageError, type CliContext } from './context.js';

// No real password is this long; the cap stops `postline user add x < /dev/zero`.
const MAX_PASSWORD_BYTES = 4096;

export interface PasswordSource {
  password: string | undefined;
  stdin: boolean;
}

/** Argument-level checks, done before anything is read or loaded. */
export function checkPasswordArgs(src: PasswordSource): void {
  if (src.password !== undefined && src.stdin) throw usageError('--password and --password-stdin are mutually exclusive');
  if (src.password === '') throw usageError('empty password');
}

export async function obtainPassword(ctx: CliContext, src: PasswordSource): Promise<string> {
  checkPasswordArgs(src);
  if (src.password !== undefined) return src.password;
  const password = !src.stdin && ctx.stdin.isTTY ? await promptTwice(ctx) : await readStdin(ctx.stdin);
  if (password === '') throw usageError('empty password');
  return password;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_PASSWORD_BYTES) throw usageError(`password on stdin longer than ${MAX_PASSWORD_BYTES} bytes`);
    chunks.push(buf);
  }
  // `echo secret |` and here-strings add one newline; it is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function promptTwice(ctx: CliContext): Promise<string> {
  const first = await promptHidden(ctx, 'Password: ');
  if (first === '') return first;
  const second = await promptHidden(ctx, 'Repeat password: ');
  // Not a usage error: main reports it as `postline: user add: …` with exit 1.
  if (first !== second) throw new Error('passwords do not match');
  return first;
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function promptHidden(ctx: CliContext, prompt: string): Promise<string> {
  const { stdin, promptStream } = ctx;
  promptStream.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      promptStream.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          // Raw mode swallows Ctrl-C's signal; honour it as the shell would.
          finish();
          reject(new CliExit(130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
