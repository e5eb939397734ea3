/**
 * What a CLI command may use: streams, env, cwd, and config loading. The CLI
 * is the one layer that reads env and process state; everything below gets
 * plain values passed in.
 */
import { PostlineError } from '../core/errors.js';

export interface CliContext {
  cwd: string;
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadStream;
  /** Interactive prompts go to stderr so stdout stays clean for pipes. */
  promptStream: NodeJS.WriteStream;
  out(line: string): void;
  err(line: string): void;
}

export function processContext(): CliContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdin: process.stdin,
    promptStream: process.stderr,
    out: (line) => void process.stdout.write(line + '\n'),
    err: (line) => void process.stderr.write(line + '\n'),
  };
}

/** Ends the command with this exit code; whatever had to be said was already written. */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** A bad argument: main prints `postline: <command>: <message>` and exits 2. */
export function usageError(message: string): PostlineError {
  return new PostlineError('ERR_CLI_USAGE', message);
}

/**
 * Hidden knob for tests: POSTLINE_SCRYPT_LN lowers the scrypt cost of new
 * hashes. Read here, in the CLI layer, and passed down as a plain number.
 */
export function scryptLnFromEnv(env: Record<string, string | undefined>): number | undefined {
  const text = env.POSTLINE_SCRYPT_LN;
  if (text === undefined || text === '') return undefined;
  const ln = Number(text);
  if (!/^[0-9]+$/.test(text) || ln < 1 || ln > 20) {
    throw new PostlineError('ERR_CLI_USAGE', `POSTLINE_SCRYPT_LN must be an integer 1..20, got "${text}"`);
  }
  return ln;
}
