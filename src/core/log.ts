import { pino, type Logger } from 'pino';

export type { Logger };

/** How long a buffered log line may wait before it is written. */
const LOG_FLUSH_INTERVAL_MS = 200;

/**
 * JSON-lines logger to stdout (pino). `level: 'silent'` for tests and CLI one-shots.
 *
 * `buffered: true` (the server) collects lines and writes them at 4 KB or
 * every 200 ms, whichever comes first, and synchronously at process exit.
 * Writing every line on its own cost one write(2) per message at full SMTP
 * load, about 8 % of the main thread. A SIGKILL can lose the last 200 ms of
 * log lines, never mail: the store does not depend on the log.
 */
export function createLogger(options: { level?: string; name?: string; buffered?: boolean } = {}): Logger {
  const base = { level: options.level ?? 'info', base: { name: options.name ?? 'postline' } };
  if (!options.buffered) return pino(base);
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => dest.flush(), LOG_FLUSH_INTERVAL_MS);
  timer.unref();
  process.once('exit', () => {
    clearInterval(timer);
    try {
      dest.flushSync();
    } catch {
      // stdout already closed or not yet open: nothing more we can do at exit
    }
  });
  return pino(base, dest);
}

export const silentLogger: Logger = pino({ level: 'silent' });
