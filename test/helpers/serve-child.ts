/**
 * A `postline serve` child process for crash and signal tests: started on a
 * config file, its SMTP port read from the "listening" log line, its later
 * log lines kept, stopped with any signal (SIGKILL for a crash, SIGTERM for
 * a graceful stop).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ServeChild {
  /** The smtp listener's port. */
  port: number;
  /** Every stdout line so far (JSON log lines). */
  logs: string[];
  /** Sends the signal; resolves with the exit code once the process is gone. */
  signal(sig: NodeJS.Signals): Promise<number | null>;
}

export function startServeChild(config: string): Promise<ServeChild> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    const early = (code: number | null): void => reject(new Error(`server exited early (${code}) with ${config}`));
    child.once('exit', early);
    child.stdout.on('data', (d: string) => {
      buf += d;
      const m = /"listener":"smtp","address":"[^"]*:(\d+)"/.exec(buf);
      if (!m) return;
      child.stdout.removeAllListeners('data');
      child.removeListener('exit', early);
      const logs = buf.split('\n');
      child.stdout.on('data', (more: string) => logs.push(...more.split('\n')));
      resolve({
        port: Number(m[1]),
        logs,
        signal: (sig) => {
          child.kill(sig);
          return exited;
        },
      });
    });
  });
}
