/**
 * Composition root: config → objects → listeners. The only module that
 * knows every concrete class; everything else gets small ports.
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Config, ListenerConfig, ListenerName } from './config/types.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Logger } from './core/log.js';
import { Listener, type ConnectionInfo } from './net/listener.js';
import type { Duplex } from 'node:stream';
import { createSecureContext, loadTlsMaterial } from './net/tls.js';
import { startTls, upgradeToTls } from './net/starttls.js';
import { NetworkList } from './policy/networks.js';
import { PopBeforeSmtp } from './policy/pop-before-smtp.js';
import { AuthFailureLimiter, ConnectionCounter } from './policy/rate.js';
import { MailPolicy } from './policy/recipients.js';
import { Replies } from './protocol/smtp/replies.js';
import { SmtpSession, type SmtpListenerKind } from './protocol/smtp/session.js';
import { formatReply } from './codec/smtp/reply.js';
import { formatResponse } from './codec/pop3/response.js';
import { MaildropLock } from './protocol/pop3/maildrop-lock.js';
import { Replies as Pop3Replies } from './protocol/pop3/replies.js';
import { Pop3Session } from './protocol/pop3/session.js';
import { IMAP_LIMITS } from './protocol/imap/limits.js';
import { Untagged as ImapUntagged } from './protocol/imap/responses.js';
import { ImapSession } from './protocol/imap/session.js';
import { Intake } from './queue/intake.js';
import { QueueScheduler } from './queue/scheduler.js';
import { createResolver, type DnsResolver } from './dns/index.js';
import { Router } from './delivery/router.js';
import { DestinationPool } from './delivery/pool.js';
import { deliverWebhook } from './delivery/webhook.js';
import { ControlServer, type ControlRequest, type ControlResponse } from './net/control-socket.js';
import { controlSocketPath, listing } from './cli/queue.js';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Store } from './store/store.js';
import type { UserDirectory } from './users/directory.js';
import type { WorkerPool } from './pool/pool.js';
import type { DnsCache } from './dns/index.js';
import { HttpServer } from './http/server.js';
import { createMetrics } from './metrics/metrics.js';

/** A long-running part of the server. Started in list order, stopped in reverse. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceDeps {
  store: Store;
  users: UserDirectory;
  logger: Logger;
  clock?: Clock;
  /** The server's worker pool, for /metrics (utilisation, queue wait). */
  pool?: WorkerPool;
}

/** Per listener, for /healthz and /metrics: up from listening until stop begins; open connections are the listener's own count. */
interface ListenerTally {
  listener: Listener | null;
  up: boolean;
  accepted: number;
  refused: number;
}

function tallyFor(tallies: Map<ListenerName, ListenerTally>, kind: ListenerName): ListenerTally {
  const tally: ListenerTally = { listener: null, up: false, accepted: 0, refused: 0 };
  tallies.set(kind, tally);
  return tally;
}

/** What tests and the HTTP endpoint want to know about running listeners. */
export interface RunningListeners {
  addresses: Partial<Record<ListenerName, { host: string; port: number }>>;
}

const SMTP_KINDS: SmtpListenerKind[] = ['smtp', 'submission', 'smtps'];
const POP3_KINDS = ['pop3', 'pop3s'] as const;
const IMAP_KINDS = ['imap', 'imaps'] as const;
/** How long sessions may finish after SIGTERM before they are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

/** The running server's parts: services to start and stop, and a config reload (SIGHUP). */
export interface Server {
  services: Service[];
  /** Applies what can change while running; says which changed keys need a restart. */
  reconfigure(next: Readonly<Config>): Promise<{ needsRestart: string[] }>;
}

/**
 * Keys read once at start: a change is reported as needing a restart and
 * the running value is kept, so everything keeps seeing one consistent config.
 */
const RESTART_ONLY_KEYS = ['hostname', 'dataDir', 'dns', 'admin', 'workers', 'store'] as const satisfies readonly (keyof Config)[];

export function buildServices(config: Readonly<Config>, deps: ServiceDeps, running: RunningListeners = { addresses: {} }): Service[] {
  return buildServer(config, deps, running).services;
}

export function buildServer(initial: Readonly<Config>, deps: ServiceDeps, running: RunningListeners = { addresses: {} }): Server {
  // Replaced by reconfigure(): closures read it when they run, so the next session sees new limits.
  let config = initial;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger;
  const connections = new ConnectionCounter({ max: config.limits.maxConnections, maxPerIp: config.limits.maxConnectionsPerIp });
  const authLimiter = new AuthFailureLimiter({ maxFailures: config.limits.authFailuresPerIp, windowMs: 10 * 60_000, clock });
  const popBeforeSmtp = new PopBeforeSmtp(config.relay.popBeforeSmtpMs, clock);
  // One DNS cache for PTR checks and MX lookups.
  const resolver = createResolver(config.dns, clock);
  const policy = new MailPolicy({ config, users: deps.users, popBeforeSmtp, trusted: NetworkList.parse(config.relay.trustedNetworks), resolver });
  const outbound = outboundService(config, deps, clock, policy, resolver, running);
  const intake = new Intake(deps.store, () => clock.now(), (id, body) => outbound.scheduler.kick(id, body));
  // First in the list: started before the listeners, stopped after them.
  const services: Service[] = [outbound.service];
  const tallies = new Map<ListenerName, ListenerTally>();
  const certificate = new Certificate((c) => loadTlsMaterial({ tls: c.tls, dataDir: c.dataDir, hostname: c.hostname }, logger).then(createSecureContext), () => config);

  for (const kind of SMTP_KINDS) {
    const listen = config.listen[kind];
    if (!listen) continue;
    let listener: Listener | null = null;
    const sessions = new Set<SmtpSession>();
    const tally = tallyFor(tallies, kind);
    services.push({
      name: kind,
      async start() {
        const context = await certificate.ready();
        const sessionLogger = logger.child({ component: kind });
        listener = await Listener.start({
          name: kind,
          host: listen.host,
          port: listen.port,
          proxyProtocol: listen.proxyProtocol,
          implicitTls: kind === 'smtps' ? context : null,
          logger: sessionLogger,
          admit(info) {
            tally.accepted++;
            const verdict = connections.tryOpen(info.remoteAddress);
            if (verdict.kind === 'accept') return { ok: true, release: verdict.value };
            tally.refused++;
            const reply = verdict.reason === 'too-many-connections-from-ip' ? Replies.tooManyConnectionsFromIp : Replies.tooManyConnections;
            return {
              ok: false,
              refuse: (socket) => {
                socket.end(formatReply(reply.code, reply.enhanced, reply.lines));
              },
            };
          },
          onConnection(socket, info, release) {
            const session = new SmtpSession(
              socket,
              { id: info.id, remoteAddress: info.remoteAddress, tls: info.tls },
              {
                kind,
                hostname: config.hostname,
                maxMessageSize: config.limits.maxMessageSize,
                idleTimeoutMs: config.limits.idleTimeoutMs,
                authPlaintext: config.auth.plaintext,
                tlsContext: certificate.current,
                upgradeToTls: (raw: Socket, context) => upgradeToTls(raw, context),
                policy,
                intake,
                auth: { verify: (user, password) => deps.users.verify(user, password) },
                authLimiter,
                clock,
                logger: sessionLogger,
              },
              () => {
                sessions.delete(session);
                release();
              },
            );
            sessions.add(session);
            session.start();
          },
        });
        if (kind === 'smtps') certificate.serveOn(listener);
        running.addresses[kind] = listener.address;
        Object.assign(tally, { listener, up: true });
        logger.info({ listener: kind, address: `${listener.address.host}:${listener.address.port}` }, 'listening');
      },
      async stop() {
        tally.up = false;
        // Idle sessions get 421 now; sessions in a transaction finish it first.
        const stopping = listener?.stop({ graceMs: SHUTDOWN_GRACE_MS });
        for (const s of sessions) s.shutdown();
        await stopping;
      },
    });
  }

  // One maildrop lock table for both POP3 listeners: a user logged in on pop3 is locked on pop3s too.
  const maildropLocks = new MaildropLock();
  for (const kind of POP3_KINDS) {
    const listen = config.listen[kind];
    if (!listen) continue;
    services.push(pop3Service(kind, listen, { currentConfig: () => config, deps, clock, connections, authLimiter, popBeforeSmtp, maildropLocks, certificate, running, tallies }));
  }
  for (const kind of IMAP_KINDS) {
    const listen = config.listen[kind];
    if (!listen) continue;
    services.push(imapService(kind, listen, { currentConfig: () => config, deps, clock, connections, authLimiter, popBeforeSmtp, certificate, running, tallies }));
  }
  const http = config.listen.http;
  // Last in the list: started after every other listener, stopped first.
  if (http) services.push(httpService(http, { config, deps, clock, resolver, intake, scheduler: outbound.scheduler, tallies, running }));

  const reconfigure = async (next: Readonly<Config>): Promise<{ needsRestart: string[] }> => {
    const needsRestart: string[] = [];
    for (const name of new Set([...Object.keys(config.listen), ...Object.keys(next.listen)]) as Set<ListenerName>) {
      if (!isDeepStrictEqual(config.listen[name], next.listen[name])) needsRestart.push(`listen.${name}`);
    }
    const effective: Config = { ...next, listen: config.listen };
    for (const key of RESTART_ONLY_KEYS) {
      if (isDeepStrictEqual(config[key], next[key])) continue;
      needsRestart.push(key);
      (effective as Record<typeof key, unknown>)[key] = config[key];
    }
    // What can fail comes first, so a failure leaves the running config whole: the certificate
    // (read again even when its paths are the same: renewed files), then users (hashing takes a moment).
    const renewed = await certificate.loadFor(effective);
    await deps.users.setConfigUsers(effective.users);
    if (renewed) certificate.use(renewed);
    config = Object.freeze(effective);
    connections.setLimits({ max: config.limits.maxConnections, maxPerIp: config.limits.maxConnectionsPerIp });
    authLimiter.setMaxFailures(config.limits.authFailuresPerIp);
    popBeforeSmtp.setTtl(config.relay.popBeforeSmtpMs);
    policy.reconfigure(config, NetworkList.parse(config.relay.trustedNetworks));
    outbound.scheduler.reconfigure({
      router: makeRouter(config, resolver),
      retryMs: config.delivery.retryMs,
      maxQueueLifetimeMs: config.delivery.maxQueueLifetimeMs,
    });
    return { needsRestart };
  };
  return { services, reconfigure };
}

/**
 * The server's one TLS certificate, for every listener: loaded (or
 * generated into dataDir) on first use, and read again on SIGHUP, so a
 * renewed certificate reaches new connections — STARTTLS and implicit-TLS
 * ports alike — without a restart. Open connections keep the one they have.
 */
class Certificate {
  private loading: Promise<SecureContext> | null = null;
  private context: SecureContext | null = null;
  private readonly implicitTlsListeners = new Set<Listener>();

  constructor(
    private readonly load: (config: Readonly<Config>) => Promise<SecureContext>,
    private readonly config: () => Readonly<Config>,
  ) {}

  /** Loads it once; every listener awaits this before it starts. */
  ready(): Promise<SecureContext> {
    this.loading ??= this.load(this.config()).then((context) => (this.context = context));
    return this.loading;
  }

  /** What a connection accepted now gets. */
  get current(): SecureContext {
    if (!this.context) throw new Error('TLS certificate used before it was loaded');
    return this.context;
  }

  /** An implicit-TLS listener, to be given a renewed certificate. */
  serveOn(listener: Listener): void {
    this.implicitTlsListeners.add(listener);
  }

  /** The certificate `config` names, loaded and checked but not yet used; null when TLS was never needed. */
  async loadFor(config: Readonly<Config>): Promise<SecureContext | null> {
    return this.loading ? this.load(config) : null;
  }

  use(context: SecureContext): void {
    this.context = context;
    this.loading = Promise.resolve(context);
    for (const listener of this.implicitTlsListeners) listener.setSecureContext(context);
  }
}

function makeRouter(config: Readonly<Config>, resolver: DnsResolver): Router {
  return new Router({ routes: config.delivery.routes, relayHost: config.delivery.relayHost, port: config.delivery.port, resolver });
}

interface MdaShared {
  /** The config in force now (it changes on SIGHUP): read per connection. */
  currentConfig: () => Readonly<Config>;
  deps: ServiceDeps;
  clock: Clock;
  connections: ConnectionCounter;
  authLimiter: AuthFailureLimiter;
  popBeforeSmtp: PopBeforeSmtp;
  certificate: Certificate;
  running: RunningListeners;
  tallies: Map<ListenerName, ListenerTally>;
}

interface Pop3Shared extends MdaShared {
  maildropLocks: MaildropLock;
}

/** What a POP3 or IMAP listener differs in: its refusal text and how a session is made. */
interface SessionKind<S> {
  implicitTls: boolean;
  refusal(fromOneIp: boolean): string | Buffer;
  open(socket: Duplex, info: ConnectionInfo, context: SecureContext, logger: Logger, onClose: () => void): S;
}

/**
 * One POP3 or IMAP listener: shared admission (the connection counter), the
 * sessions it has open, and a graceful stop — idle sessions are told now,
 * one in the middle of a command finishes it first.
 */
function sessionService<S extends { start(): void; shutdown(): void }>(kind: ListenerName, listen: ListenerConfig, shared: MdaShared, how: SessionKind<S>): Service {
  const logger = shared.deps.logger.child({ component: kind });
  let listener: Listener | null = null;
  const sessions = new Set<S>();
  const tally = tallyFor(shared.tallies, kind);
  return {
    name: kind,
    async start() {
      const context = await shared.certificate.ready();
      listener = await Listener.start({
        name: kind,
        host: listen.host,
        port: listen.port,
        proxyProtocol: listen.proxyProtocol,
        implicitTls: how.implicitTls ? context : null,
        logger,
        admit(info) {
          tally.accepted++;
          const verdict = shared.connections.tryOpen(info.remoteAddress);
          if (verdict.kind === 'accept') return { ok: true, release: verdict.value };
          tally.refused++;
          const refusal = how.refusal(verdict.reason === 'too-many-connections-from-ip');
          return { ok: false, refuse: (socket) => void socket.end(refusal) };
        },
        onConnection(socket, info, release) {
          const session = how.open(socket, info, shared.certificate.current, logger, () => {
            sessions.delete(session);
            release();
          });
          sessions.add(session);
          session.start();
        },
      });
      if (how.implicitTls) shared.certificate.serveOn(listener);
      shared.running.addresses[kind] = listener.address;
      Object.assign(tally, { listener, up: true });
      shared.deps.logger.info({ listener: kind, address: `${listener.address.host}:${listener.address.port}` }, 'listening');
    },
    async stop() {
      tally.up = false;
      const stopping = listener?.stop({ graceMs: SHUTDOWN_GRACE_MS });
      for (const s of sessions) s.shutdown();
      await stopping;
    },
  };
}

/** A pop3 (plaintext + STLS) or pop3s (implicit TLS) listener. */
function pop3Service(kind: (typeof POP3_KINDS)[number], listen: ListenerConfig, shared: Pop3Shared): Service {
  const { currentConfig, deps, clock, authLimiter, popBeforeSmtp, maildropLocks } = shared;
  return sessionService(kind, listen, shared, {
    implicitTls: kind === 'pop3s',
    refusal: (fromOneIp) => formatResponse(fromOneIp ? Pop3Replies.tooManyConnectionsFromIp : Pop3Replies.tooManyConnections),
    open: (socket, info, context, logger, onClose) => {
      // Read per connection: a SIGHUP's new limits apply to the next session.
      const config = currentConfig();
      return new Pop3Session(
        socket,
        { id: info.id, remoteAddress: info.remoteAddress, tls: info.tls },
        {
          hostname: config.hostname,
          idleTimeoutMs: config.limits.idleTimeoutMs,
          authPlaintext: config.auth.plaintext,
          tlsContext: context,
          startTls: (raw, ctx, goAhead, framerRest) => startTls(raw, ctx, { goAhead, framerRest, clock, logger, connectionId: info.id }).then((r) => r.socket),
          mailbox: deps.store,
          auth: { verify: (user, password) => deps.users.verify(user, password) },
          authLimiter,
          locks: maildropLocks,
          onLogin: (ip) => popBeforeSmtp.record(ip),
          clock,
          logger,
        },
        onClose,
      );
    },
  });
}

/** An imap (plaintext + STARTTLS) or imaps (implicit TLS) listener. */
function imapService(kind: (typeof IMAP_KINDS)[number], listen: ListenerConfig, shared: MdaShared): Service {
  const { currentConfig, deps, clock, authLimiter, popBeforeSmtp } = shared;
  return sessionService(kind, listen, shared, {
    implicitTls: kind === 'imaps',
    refusal: (fromOneIp) => ImapUntagged.tooManyConnections(fromOneIp),
    open: (socket, info, context, logger, onClose) => {
      // Read per connection: a SIGHUP's new limits apply to the next session.
      const config = currentConfig();
      return new ImapSession(
        socket,
        { id: info.id, remoteAddress: info.remoteAddress, tls: info.tls },
        {
          hostname: config.hostname,
          // RFC 3501 §5.4: an IMAP autologout timer is at least 30 minutes.
          idleTimeoutMs: Math.max(config.limits.idleTimeoutMs, IMAP_LIMITS.minIdleTimeoutMs),
          maxMessageSize: config.limits.maxMessageSize,
          authPlaintext: config.auth.plaintext,
          tlsContext: context,
          startTls: (raw, ctx, goAhead) => startTls(raw, ctx, { goAhead, framerRest: null, clock, logger, connectionId: info.id }).then((r) => r.socket),
          mailbox: deps.store,
          auth: { verify: (user, password) => deps.users.verify(user, password) },
          authLimiter,
          onLogin: (ip) => popBeforeSmtp.record(ip),
          clock,
          logger,
        },
        onClose,
      );
    },
  });
}

interface HttpShared {
  config: Readonly<Config>;
  deps: ServiceDeps;
  clock: Clock;
  resolver: DnsCache;
  intake: Intake;
  scheduler: QueueScheduler;
  tallies: Map<ListenerName, ListenerTally>;
  running: RunningListeners;
}

/**
 * The HTTP listener: /healthz, /metrics and, with `admin.token` set, the
 * admin API. Both read the live objects through small ports built here.
 */
function httpService(listen: ListenerConfig, shared: HttpShared): Service {
  const { config, deps, clock, resolver, intake, scheduler, tallies, running } = shared;
  const logger = deps.logger.child({ component: 'http' });
  const store = deps.store;
  const pool = deps.pool;
  let server: HttpServer | null = null;
  let metrics: ReturnType<typeof createMetrics> | null = null;
  return {
    name: 'http',
    async start() {
      metrics = createMetrics({
        listeners: () =>
          [...tallies].map(([protocol, t]) => ({ protocol, up: t.up, open: t.listener?.connections ?? 0, accepted: t.accepted, refused: t.refused })),
        intake: () => intake.stats,
        outcomes: () => scheduler.stats,
        queueItems: () => store.queueItems(),
        store: () => store.stats(),
        storeWriteFailure: () => store.writeFailure,
        observeFsync: (observer) => store.observeFsync(observer),
        pool: pool ? () => ({ threads: pool.threads, utilization: pool.utilization, queueSize: pool.queueSize, waitTimeMs: pool.waitTime }) : undefined,
        dns: () => resolver.stats(),
        now: () => clock.now(),
      });
      const render = metrics;
      const token = config.admin.token;
      server = await HttpServer.start({
        host: listen.host,
        port: listen.port,
        proxyProtocol: listen.proxyProtocol,
        logger,
        clock,
        app: {
          health() {
            const problems: string[] = [];
            for (const name of Object.keys(config.listen) as ListenerName[]) {
              if (name !== 'http' && !tallies.get(name)?.up) problems.push(`listener ${name} is not listening`);
            }
            const failure = store.writeFailure;
            if (failure) problems.push(`store: ${failure.message}`);
            return problems;
          },
          metrics: async () => ({ contentType: render.contentType, body: await render.render() }),
          admin:
            token === ''
              ? null
              : {
                  token,
                  queueList: () => listing(store.queueItems()),
                  queueFlush: () => scheduler.flush(),
                  queueDelete: (id) => scheduler.delete(id),
                  users: () => deps.users.list(),
                },
        },
      });
      running.addresses.http = server.address;
      logger.info({ listener: 'http', address: `${server.address.host}:${server.address.port}`, admin: token !== '' }, 'listening');
    },
    async stop() {
      await server?.stop();
      metrics?.close();
    },
  };
}

/**
 * The outbound side: the queue runner (routing, SMTP/webhook delivery,
 * retries, bounces) and the control socket `postline queue …` talks to.
 */
function outboundService(
  config: Readonly<Config>,
  deps: ServiceDeps,
  clock: Clock,
  policy: MailPolicy,
  resolver: DnsResolver,
  running: RunningListeners,
): { service: Service; scheduler: QueueScheduler } {
  const logger = deps.logger.child({ component: 'queue' });
  const store = deps.store;
  // Postfix: default_destination_concurrency_limit = 20.
  const transport = new DestinationPool({ clock, localHostname: config.hostname, maxPerDestination: 20 });
  let scheduler: QueueScheduler;
  const bounceTo = async (recipient: string, message: Buffer): Promise<void> => {
    const at = recipient.lastIndexOf('@');
    const domain = recipient.slice(at + 1).toLowerCase();
    if (policy.isLocalDomain(domain)) {
      const verdict = policy.checkRecipient({ ip: '127.0.0.1', authenticatedAs: null, tls: false }, { address: recipient, local: recipient.slice(0, at), domain, quotedLocal: false, route: [] }, 0);
      if (verdict.kind === 'accept' && verdict.value.kind === 'local') {
        await store.deliver({ recipients: [verdict.value.mailbox], body: message });
        return;
      }
      logger.warn({ recipient }, 'bounce for an unknown local sender dropped');
      return;
    }
    // A bounce travels from the null sender, so it can never bounce again.
    const id = `${Date.now().toString(36)}${randomBytes(5).toString('hex')}`.toUpperCase();
    await store.enqueue({ id, sender: null, recipients: [recipient], arrived: clock.now(), body: message });
    scheduler.kick(id);
  };
  scheduler = new QueueScheduler({
    store,
    router: makeRouter(config, resolver),
    transport,
    webhook: deliverWebhook,
    bounces: { sendBounce: bounceTo },
    hostname: config.hostname,
    retryMs: config.delivery.retryMs,
    maxQueueLifetimeMs: config.delivery.maxQueueLifetimeMs,
    clock,
    logger,
    isSelf: (ip, port) => {
      const own = running.addresses.smtp;
      if (!own || own.port !== port) return false;
      // A listener on 0.0.0.0 / :: answers on every local address; loopback is always one of them.
      return own.host === ip || ((own.host === '0.0.0.0' || own.host === '::') && (ip.startsWith('127.') || ip === '::1'));
    },
  });
  const control = async (request: ControlRequest): Promise<ControlResponse> => {
    switch (request.op) {
      case 'queue-list':
        return { ok: true, items: listing(store.queueItems()) };
      case 'queue-flush':
        return { ok: true, queued: scheduler.flush() };
      case 'queue-delete':
        return { ok: true, deleted: await scheduler.delete(String(request.id)) };
      default:
        return { ok: false, error: `unknown request ${JSON.stringify(request.op)}` };
    }
  };
  let controlServer: ControlServer | null = null;
  const service: Service = {
    name: 'queue',
    async start() {
      controlServer = await ControlServer.start(controlSocketPath(config), control, logger);
      scheduler.start();
      logger.info({ queued: store.queueItems().length, control: controlServer.path }, 'queue runner started');
    },
    async stop() {
      await controlServer?.stop();
      await scheduler.stop();
      await transport.close();
    },
  };
  return { service, scheduler };
}
