/**
 * `postline serve`: load config, open the store and the user directory,
 * start the services, log "postline ready"; on SIGTERM/SIGINT stop in
 * reverse order and exit 0. A second signal exits 1 at once.
 */
import { promises as fs, constants } from 'node:fs';
import type { Config } from '../config/types.js';
import { createLogger, type Logger } from '../core/log.js';
import { openStore, type Store } from '../store/index.js';
import { UserDirectory } from '../users/directory.js';
import { buildServer, type Server, type Service } from '../main.js';
import { WorkerPool } from '../pool/pool.js';
import { poolPasswordHasher } from '../pool/password-hasher.js';
import { stringOption, type ParsedArgs } from './args.js';
import { scryptLnFromEnv, usageError, type CliContext } from './context.js';
import { readConfig, requireConfig } from './load-config.js';

interface Running {
  store: Store;
  users: UserDirectory;
  services: Service[];
  pool: WorkerPool;
  reconfigure: Server['reconfigure'];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const USERS_POLL_MS = 1000; // well inside the 5 s within which `user add` must take effect

export async function runServe(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const level = ctx.env.POSTLINE_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(level)) throw usageError(`POSTLINE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const scryptLn = scryptLnFromEnv(ctx.env);
  const { config, warnings, source } = requireConfig(ctx, stringOption(args, 'config'));
  const logger = createLogger({ level, buffered: true });
  for (const w of warnings) logger.warn({ source }, w);

  // Installed before startup, so a SIGTERM during startup is still a clean stop.
  const signals = onShutdownSignal(logger);
  let running: Running;
  // Also installed early: SIGHUP's default action would end the process.
  let reloadable: Running | null = null;
  const reloads = onReloadSignal(async () => {
    if (reloadable) await reloadConfig(ctx, stringOption(args, 'config'), reloadable, logger);
    else logger.warn('SIGHUP ignored: not running (starting or stopping)');
  });
  try {
    running = await start(config, logger, scryptLn);
  } catch (err) {
    logger.error({ err, dataDir: config.dataDir, source }, 'startup failed');
    signals.dispose();
    reloads.dispose();
    await flush(logger);
    return 1;
  }
  reloadable = running;
  const userCount = running.users.list().length;
  logger.info(
    { source, hostname: config.hostname, dataDir: config.dataDir, domains: config.domains, users: userCount, services: running.services.map((s) => s.name) },
    'postline ready',
  );
  if (userCount === 0) {
    logger.info(`no users yet; add one with: npx postline user add you@${config.domains[0] ?? 'localhost'} --password-stdin`);
  }
  logger.flush(); // the ready lines now, not at the next tick of the buffer

  // Until listeners exist nothing else holds the event loop open; signal
  // handlers alone do not, so keep it alive explicitly until shutdown.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const signal = await signals.first;
  // The handler stays (a SIGHUP now must not kill the process) but does nothing.
  reloadable = null;
  clearInterval(keepAlive);
  logger.info({ signal }, 'shutting down');
  try {
    await stop(running, logger);
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    await flush(logger);
    return 1;
  }
  logger.info('stopped');
  // Handlers stay installed: a signal during the final flush still means "exit now", not a default kill.
  await flush(logger);
  return 0;
}

async function start(config: Readonly<Config>, logger: Logger, scryptLn: number | undefined): Promise<Running> {
  await ensureWritableDir(config.dataDir);
  // One worker pool for the server: record encoding and password checks.
  const pool = new WorkerPool({ threads: config.workers.threads });
  let store: Store;
  try {
    store = await openStore({
      dataDir: config.dataDir,
      segmentSize: config.store.segmentSize,
      fsync: config.store.fsync,
      threads: config.workers.threads,
      logger: logger.child({ component: 'store' }),
      pool,
    });
  } catch (err) {
    await pool.destroy();
    throw err;
  }
  const started: Service[] = [];
  let users: UserDirectory | undefined;
  try {
    const usersLogger = logger.child({ component: 'users' });
    users = await UserDirectory.open({ dataDir: config.dataDir, configUsers: config.users, logger: usersLogger, scryptLn, hasher: poolPasswordHasher(pool) });
    for (const w of users.warnings) usersLogger.warn(w);
    users.watch({ intervalMs: USERS_POLL_MS });
    const server = buildServer(config, { store, users, logger, pool });
    for (const service of server.services) {
      await service.start();
      started.push(service);
    }
    return { store, users, services: started, pool, reconfigure: server.reconfigure };
  } catch (err) {
    // Undo what did start, so the store is closed cleanly even on a failed start.
    await stop({ store, users: users ?? null, services: started, pool }, logger);
    throw err;
  }
}

async function stop(running: { store: Store; users: UserDirectory | null; services: Service[]; pool: WorkerPool }, logger: Logger): Promise<void> {
  for (const service of [...running.services].reverse()) {
    try {
      await service.stop();
    } catch (err) {
      logger.error({ err, service: service.name }, 'service stop failed');
    }
  }
  running.users?.close();
  await running.store.close();
  await running.pool.destroy();
}

/** Fails early with a clear cause (ENOTDIR, EACCES, EROFS…) instead of deep inside the store. */
async function ensureWritableDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.access(dir, constants.W_OK);
}

/**
 * SIGHUP: read the config again and apply it (users, aliases, domains,
 * routes, limits, relay, checks) without dropping a connection. A broken
 * config is refused with its errors and the running one stays.
 */
async function reloadConfig(ctx: CliContext, file: string | undefined, running: Running, logger: Logger): Promise<void> {
  const result = readConfig(ctx, file);
  if (!result.ok) {
    logger.error({ source: result.source, errors: result.errors }, 'config reload failed');
    return;
  }
  for (const w of result.warnings) logger.warn({ source: result.source }, w);
  try {
    const { needsRestart } = await running.reconfigure(result.config);
    for (const w of running.users.warnings) logger.warn({ component: 'users' }, w);
    logger.info({ source: result.source, needsRestart }, 'config reloaded');
    if (needsRestart.length > 0) logger.warn({ keys: needsRestart }, 'these changes take effect after a restart');
  } catch (err) {
    logger.error({ err, source: result.source }, 'config reload failed');
  }
}

/** Runs `reload` on each SIGHUP, one at a time; a SIGHUP during a reload runs it once more afterwards. */
function onReloadSignal(reload: () => Promise<void>): { dispose(): void } {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = reload().finally(() => {
      running = null;
      if (again) {
        again = false;
        run();
      }
    });
  };
  process.on('SIGHUP', run);
  return { dispose: () => void process.removeListener('SIGHUP', run) };
}

function onShutdownSignal(logger: Logger): { first: Promise<NodeJS.Signals>; dispose(): void } {
  let received = false;
  let resolveFirst: (signal: NodeJS.Signals) => void = () => {};
  const first = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      // The operator insists: do not wait for a shutdown that may be stuck.
      logger.warn({ signal }, 'second signal, exiting immediately');
      logger.flush();
      process.exit(1);
    }
    received = true;
    resolveFirst(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    first,
    dispose: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
