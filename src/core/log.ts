import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON-lines logger to stdout (pino). `level: 'silent'` for tests and CLI one-shots. */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ level: options.level ?? 'info', base: { name: options.name ?? 'postline' } });
}

export const silentLogger: Logger = pino({ level: 'silent' });
