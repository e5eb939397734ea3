/**
 * Composition root: config → objects → listeners. The only module that
 * knows every concrete class; everything else gets small ports.
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Config, ListenerName } from './config/types.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Logger } from './core/log.js';
import { Listener } from './net/listener.js';
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
import { Intake } from './queue/intake.js';
import type { Store } from './store/store.js';
import type { UserDirectory } from './users/directory.js';

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
}

/** What tests and the HTTP endpoint want to know about running listeners. */
export interface RunningListeners {
  addresses: Partial<Record<ListenerName, { host: string; port: number }>>;
}

const SMTP_KINDS: SmtpListenerKind[] = ['smtp', 'submission', 'smtps'];
const POP3_KINDS = ['pop3', 'pop3s'] as const;
/** How long sessions may finish after SIGTERM before they are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export function buildServices(config: Readonly<Config>, deps: ServiceDeps, running: RunningListeners = { addresses: {} }): Service[] {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger;
  const connections = new ConnectionCounter({ max: config.limits.maxConnections, maxPerIp: config.limits.maxConnectionsPerIp });
  const authLimiter = new AuthFailureLimiter({ maxFailures: config.limits.authFailuresPerIp, windowMs: 10 * 60_000, clock });
  const popBeforeSmtp = new PopBeforeSmtp(config.relay.popBeforeSmtpMs, clock);
  const policy = new MailPolicy({ config, users: deps.users, popBeforeSmtp, trusted: NetworkList.parse(config.relay.trustedNetworks) });
  const intake = new Intake(deps.store, () => clock.now());
  const services: Service[] = [];
  // One certificate for every listener, loaded (or generated) on first use.
  let tlsContext: Promise<SecureContext> | null = null;
  const tls = (): Promise<SecureContext> =>
    (tlsContext ??= loadTlsMaterial({ tls: config.tls, dataDir: config.dataDir, hostname: config.hostname }, logger).then(createSecureContext));

  for (const kind of SMTP_KINDS) {
    const listen = config.listen[kind];
    if (!listen) continue;
    let listener: Listener | null = null;
    const sessions = new Set<SmtpSession>();
    services.push({
      name: kind,
      async start() {
        const context = await tls();
        const sessionLogger = logger.child({ component: kind });
        listener = await Listener.start({
          name: kind,
          host: listen.host,
          port: listen.port,
          implicitTls: kind === 'smtps' ? context : null,
          logger: sessionLogger,
          admit(info) {
            const verdict = connections.tryOpen(info.remoteAddress);
            if (verdict.kind === 'accept') return { ok: true, release: verdict.value };
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
                tlsContext: context,
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
        running.addresses[kind] = listener.address;
        logger.info({ listener: kind, address: `${listener.address.host}:${listener.address.port}` }, 'listening');
      },
      async stop() {
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
    services.push(pop3Service(kind, listen, { config, deps, clock, connections, authLimiter, popBeforeSmtp, maildropLocks, tls, running }));
  }
  return services;
}

interface Pop3Shared {
  config: Readonly<Config>;
  deps: ServiceDeps;
  clock: Clock;
  connections: ConnectionCounter;
  authLimiter: AuthFailureLimiter;
  popBeforeSmtp: PopBeforeSmtp;
  maildropLocks: MaildropLock;
  tls: () => Promise<SecureContext>;
  running: RunningListeners;
}

/** A pop3 (plaintext + STLS) or pop3s (implicit TLS) listener; the same shape as the SMTP ones above. */
function pop3Service(kind: (typeof POP3_KINDS)[number], listen: { host: string; port: number }, shared: Pop3Shared): Service {
  const { config, deps, clock, connections, authLimiter, popBeforeSmtp, maildropLocks, running } = shared;
  const logger = deps.logger.child({ component: kind });
  let listener: Listener | null = null;
  const sessions = new Set<Pop3Session>();
  return {
    name: kind,
    async start() {
      const context = await shared.tls();
      listener = await Listener.start({
        name: kind,
        host: listen.host,
        port: listen.port,
        implicitTls: kind === 'pop3s' ? context : null,
        logger,
        admit(info) {
          const verdict = connections.tryOpen(info.remoteAddress);
          if (verdict.kind === 'accept') return { ok: true, release: verdict.value };
          const reply = verdict.reason === 'too-many-connections-from-ip' ? Pop3Replies.tooManyConnectionsFromIp : Pop3Replies.tooManyConnections;
          return { ok: false, refuse: (socket) => void socket.end(formatResponse(reply)) };
        },
        onConnection(socket, info, release) {
          const session = new Pop3Session(
            socket,
            { id: info.id, remoteAddress: info.remoteAddress, tls: info.tls },
            {
              hostname: config.hostname,
              idleTimeoutMs: config.limits.idleTimeoutMs,
              authPlaintext: config.auth.plaintext,
              tlsContext: context,
              startTls: (raw, ctx, goAhead, framerRest) =>
                startTls(raw, ctx, { goAhead, framerRest, clock, logger, connectionId: info.id }).then((r) => r.socket),
              mailbox: deps.store,
              auth: { verify: (user, password) => deps.users.verify(user, password) },
              authLimiter,
              locks: maildropLocks,
              onLogin: (ip) => popBeforeSmtp.record(ip),
              clock,
              logger,
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
      running.addresses[kind] = listener.address;
      deps.logger.info({ listener: kind, address: `${listener.address.host}:${listener.address.port}` }, 'listening');
    },
    async stop() {
      // Idle sessions are told now; one in the middle of a command (a RETR, QUIT's expunge) finishes it first.
      const stopping = listener?.stop({ graceMs: SHUTDOWN_GRACE_MS });
      for (const s of sessions) s.shutdown();
      await stopping;
    },
  };
}
