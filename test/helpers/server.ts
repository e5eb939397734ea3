/**
 * A real postline server in-process for protocol tests: config loaded from
 * YAML like `postline serve` does, a store in a temp dir, listeners on
 * ephemeral loopback ports.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { Clock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { buildServices, type RunningListeners, type Service } from '../../src/main.js';
import { Store } from '../../src/store/store.js';
import type { LogFaults } from '../../src/store/log/log.js';
import { UserDirectory } from '../../src/users/directory.js';
import { WorkerPool } from '../../src/pool/pool.js';
import { poolPasswordHasher } from '../../src/pool/password-hasher.js';
import { tempDir } from './tmp.js';

export interface TestServer {
  config: Readonly<Config>;
  store: Store;
  users: UserDirectory;
  port(name: 'smtp' | 'submission' | 'smtps' | 'pop3' | 'pop3s' | 'imap' | 'imaps' | 'http'): number;
  /** The running services (queue, listeners, http), e.g. to stop one listener. */
  services(): readonly Service[];
  dataDir: string;
  /** Stops the listeners and closes the store, then opens both again on the same data directory (new ports). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_TEST_YAML = `
hostname: mx.example.org
domains: [example.org, example.net]
users:
  - { address: ivanov@example.org, password: "ivanov-secret" }
  - { address: petrov@example.org, password: "petrov-secret" }
aliases: { abuse@example.org: ivanov@example.org }
listen:
  smtp: 127.0.0.1:0
  submission: 127.0.0.1:0
  smtps: 127.0.0.1:0
  pop3: 127.0.0.1:0
  pop3s: 127.0.0.1:0
  imap: 127.0.0.1:0
  imaps: 127.0.0.1:0
store: { fsync: batch, segmentSize: 4MB }
workers: { threads: 1 }
`;

/** `limits` adds entries to the limits mapping, e.g. "maxConnectionsPerIp: 3"; `clock` replaces the system clock of the services (protocol timers). */
export async function startTestServer(extraYaml = '', options: { limits?: string; clock?: Clock; /** replaces DEFAULT_TEST_YAML */ baseYaml?: string; /** simulated disk failures (test/integration/store-full) */ storeFaults?: { faults: LogFaults; fullDiskRetryMs: number } } = {}): Promise<TestServer> {
  const dir = tempDir('postline-smtp-');
  const file = join(dir.path, 'postline.yaml');
  const limits = `limits: { maxMessageSize: 1MB${options.limits ? `, ${options.limits}` : ''} }\n`;
  writeFileSync(file, (options.baseYaml ?? DEFAULT_TEST_YAML) + limits + `dataDir: ${dir.path}/data\n` + extraYaml);
  const loaded = loadConfig({ file, env: {} });
  if (!loaded.ok) throw new Error(`test config invalid:\n${loaded.errors.join('\n')}`);
  const config = loaded.config;
  // As in `postline serve`: one pool for record encoding and password checks.
  const pool = new WorkerPool({ threads: 1 });
  const openStore = (): Promise<Store> =>
    Store.open({ dataDir: config.dataDir, segmentSize: config.store.segmentSize, fsync: config.store.fsync, logger: silentLogger, pool, checkpointIntervalMs: 0, compactionIntervalMs: 0, ...options.storeFaults });
  const store = await openStore();
  const users = await UserDirectory.open({ dataDir: config.dataDir, configUsers: config.users, logger: silentLogger, scryptLn: 4, hasher: poolPasswordHasher(pool) });
  const running: RunningListeners = { addresses: {} };
  let services: Service[] = [];
  const startServices = async (s: Store): Promise<void> => {
    services = buildServices(config, { store: s, users, logger: silentLogger, clock: options.clock, pool }, running);
    for (const service of services) await service.start();
  };
  const stopServices = async (): Promise<void> => {
    for (const service of [...services].reverse()) await service.stop();
  };
  await startServices(store);
  const server: TestServer = {
    config,
    store,
    users,
    dataDir: config.dataDir,
    services: () => services,
    port(name) {
      const a = running.addresses[name];
      if (!a) throw new Error(`listener ${name} is not running`);
      return a.port;
    },
    async restart() {
      await stopServices();
      await server.store.close();
      running.addresses = {};
      server.store = await openStore();
      await startServices(server.store);
    },
    async stop() {
      await stopServices();
      users.close();
      await server.store.close();
      await pool.destroy();
      dir.remove();
    },
  };
  return server;
}
