/**
 * One listening socket (smtp, submission, smtps, pop3, pop3s, imap, imaps),
 * protocol-agnostic: it accepts, reads the PROXY protocol header when the
 * listener is behind a load balancer, asks the caller whether to admit
 * (limits are policy's business), does the TLS handshake on implicit-TLS
 * ports, and hands the socket to a session. It also makes sure no socket
 * error can crash the process and that stop() leaves nothing open.
 *
 * Order on a `proxyProtocol` listener: accept → PROXY header (real client
 * address) → admission → TLS handshake (smtps/pop3s/imaps) → session. The
 * header comes first because it is the first thing on the wire (before the
 * ClientHello) and because admission must count the real client, not the
 * balancer. Without `proxyProtocol` that step does not exist: the code path
 * is the same synchronous one as before.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { newId } from '../core/ids.js';
import { DEFAULT_PROXY_HEADER_TIMEOUT_MS, plainAddress, readProxyHeader } from './proxy.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, upgradeToTls } from './starttls.js';

export interface ConnectionInfo {
  id: string; // short unique id for logs
  listener: string;
  /** The client: from the PROXY header on a proxyProtocol listener, else the socket's peer. IPv4-mapped IPv6 ("::ffff:1.2.3.4") is reported as plain IPv4. */
  remoteAddress: string;
  remotePort: number;
  /** The socket's own peer: the load balancer on a proxyProtocol listener (for logs), else the same as remoteAddress/remotePort. */
  peerAddress: string;
  peerPort: number;
  localPort: number;
  tls: boolean; // implicit TLS; a later STARTTLS is the session's to track
}

export type Admission = { ok: true; release: () => void } | { ok: false; refuse: (socket: Duplex) => void };

export interface ListenerOptions {
  name: string;
  host: string;
  port: number; // 0 = ephemeral (tests)
  implicitTls: SecureContext | null; // smtps/pop3s/imaps
  /** Limits decided by the caller (policy). `refuse` writes the protocol's greeting-refusal and closes. */
  admit(info: ConnectionInfo): Admission;
  /** The session owns the socket from here; `release` when closed (idempotent; the listener also calls it on 'close'). */
  onConnection(socket: Duplex, info: ConnectionInfo, release: () => void): void;
  logger: Logger;
  clock?: Clock;
  /** Implicit TLS: a client that connects and never completes the handshake is cut after this. */
  handshakeTimeoutMs?: number;
  /** A refused client that neither reads the refusal nor closes is cut after this. */
  refusalLingerMs?: number;
  /** Behind a load balancer: every connection must start with a PROXY v1/v2 header (HAProxy spec); one without is closed. */
  proxyProtocol?: boolean;
  /** proxyProtocol: a connection without a complete header after this is closed. Default 5 s. */
  proxyHeaderTimeoutMs?: number;
  /** proxyProtocol: connections still waiting for their header beyond this many are closed at once. Default 1,024. */
  maxPendingProxyHeaders?: number;
}

const DEFAULT_REFUSAL_LINGER_MS = 10_000;
/**
 * A balancer opens connections as clients arrive and sends the header at
 * once; a thousand waiting at the same moment is already an attack or a
 * broken balancer. Each holds at most 4 KB and 5 s.
 */
const DEFAULT_MAX_PENDING_PROXY_HEADERS = 1024;

export class Listener {
  private readonly server: net.Server;
  private readonly opts: ListenerOptions;
  private readonly clock: Clock;
  // Every accepted socket until it closes, admitted or not: stop() must be able to end them all.
  private readonly sockets = new Set<net.Socket>();
  private admitted = 0;
  private bound: { host: string; port: number };
  private stopping: Promise<void> | null = null;
  /** proxyProtocol: accepted sockets whose PROXY header has not arrived yet. */
  private pendingProxyHeaders = 0;
  /** Implicit TLS: the certificate new connections get (replaced on SIGHUP); null on a plaintext port. */
  private secureContext: SecureContext | null;
  private onEmpty: (() => void) | null = null;

  private constructor(opts: ListenerOptions) {
    this.opts = opts;
    this.secureContext = opts.implicitTls;
    this.clock = opts.clock ?? systemClock;
    this.bound = { host: opts.host, port: opts.port };
    // allowHalfOpen false: a client's FIN ends our side too; no session waits on a half-dead peer.
    this.server = net.createServer({ pauseOnConnect: false, noDelay: true, allowHalfOpen: false });
    this.server.on('connection', (socket: net.Socket) => this.accept(socket));
  }

  /** Listens; rejects with a message naming the listener and address (EADDRINUSE, EACCES, …). */
  static async start(opts: ListenerOptions): Promise<Listener> {
    const listener = new Listener(opts);
    await listener.listen();
    return listener;
  }

  /** A renewed certificate (SIGHUP) for connections accepted from now on; open ones keep theirs. No-op on a plaintext port. */
  setSecureContext(context: SecureContext): void {
    if (this.secureContext !== null) this.secureContext = context;
  }

  get address(): { host: string; port: number } {
    return { ...this.bound };
  }

  /** Admitted sessions not yet released. */
  get connections(): number {
    return this.admitted;
  }

  /**
   * Stop accepting; wait up to graceMs for open connections to close, then
   * destroy the rest. Telling sessions to say goodbye is the caller's job,
   * before or during the grace period. Idempotent.
   */
  stop(opts: { graceMs: number }): Promise<void> {
    this.stopping ??= this.shutdown(opts.graceMs);
    return this.stopping;
  }

  private listen(): Promise<void> {
    const { name, host, port, logger } = this.opts;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server.removeListener('listening', onListening);
        reject(new Error(`listener ${name}: cannot listen on ${formatAddress(host, port)}: ${describeListenError(err)}`, { cause: err }));
      };
      const onListening = (): void => {
        this.server.removeListener('error', onError);
        // After listening, errors are accept failures (EMFILE…): log them, never crash.
        this.server.on('error', (err) => logger.error({ err, listener: name }, 'listener error'));
        const addr = this.server.address();
        if (addr && typeof addr === 'object') this.bound = { host: addr.address, port: addr.port };
        // debug: the composition root announces listeners to the operator.
        logger.debug({ listener: name, address: formatAddress(this.bound.host, this.bound.port), tls: this.opts.implicitTls !== null }, 'listening');
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host, port });
    });
  }

  private accept(raw: net.Socket): void {
    const id = newId();
    const { logger, name } = this.opts;
    // Attached before anything else: ECONNRESET/EPIPE on any socket must never become an uncaught exception.
    raw.on('error', (err) => logger.debug({ err, conn: id, listener: name }, 'socket error'));
    const remoteAddress = raw.remoteAddress;
    if (this.stopping || remoteAddress === undefined) {
      // Accepted while stopping, or already reset by the peer (no address any more).
      raw.destroy();
      return;
    }
    raw.setNoDelay(true);
    this.sockets.add(raw);
    // Set once admitted. Whatever the session does, a closed socket gives its
    // slot back, before stop() can see the listener empty.
    const slot: { release: (() => void) | null } = { release: null };
    raw.once('close', () => {
      slot.release?.();
      this.sockets.delete(raw);
      if (this.sockets.size === 0) this.onEmpty?.();
    });

    const peerAddress = plainAddress(remoteAddress);
    const peerPort = raw.remotePort ?? 0;
    const info: ConnectionInfo = {
      id,
      listener: name,
      remoteAddress: peerAddress,
      remotePort: peerPort,
      peerAddress,
      peerPort,
      localPort: raw.localPort ?? 0,
      tls: this.opts.implicitTls !== null,
    };
    if (!this.opts.proxyProtocol) {
      logger.debug({ conn: id, listener: name, remote: info.remoteAddress, remotePort: info.remotePort }, 'connection');
      return this.admit(raw, info, slot);
    }
    // Not yet admitted (admission needs the real client's address), so connection limits do not hold them:
    // this cap does, or a flood of silent connections could take every file descriptor for 5 s at a time.
    if (this.pendingProxyHeaders >= (this.opts.maxPendingProxyHeaders ?? DEFAULT_MAX_PENDING_PROXY_HEADERS)) {
      logger.info({ conn: id, listener: name, peer: peerAddress, pending: this.pendingProxyHeaders }, 'too many connections waiting for a PROXY header, connection closed');
      return void raw.destroy();
    }
    this.pendingProxyHeaders++;
    // Never rejects; on 'failed' the socket is already destroyed.
    void readProxyHeader(raw, { timeoutMs: this.opts.proxyHeaderTimeoutMs ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS, clock: this.clock })
      .finally(() => this.pendingProxyHeaders--)
      .then((result) => {
        const where = { conn: id, listener: name, peer: peerAddress, peerPort };
        switch (result.kind) {
          case 'failed':
            // A malformed header is a misconfigured balancer or someone bypassing it: worth the operator's eye. Timeouts and hang-ups are noise.
            if (result.reason === 'malformed') logger.info({ ...where, problem: result.problem }, 'PROXY header rejected, connection closed');
            else logger.debug({ ...where, reason: result.reason, problem: result.problem }, 'no PROXY header, connection closed');
            return;
          case 'local':
            logger.debug({ ...where, remote: peerAddress, remotePort: peerPort, proxy: `v${result.header.version} ${result.header.command}` }, 'connection');
            break;
          case 'proxied':
            info.remoteAddress = result.remoteAddress;
            info.remotePort = result.remotePort;
            logger.debug({ ...where, remote: info.remoteAddress, remotePort: info.remotePort, proxy: `v${result.header.version}` }, 'connection');
            break;
        }
        // stop() may have begun while we waited for the header.
        if (this.stopping || raw.destroyed) return void raw.destroy();
        this.admit(raw, info, slot);
      })
      .catch((err: unknown) => {
        logger.error({ err, conn: id, listener: name }, 'connection setup failed');
        raw.destroy();
      });
  }

  private admit(raw: net.Socket, info: ConnectionInfo, slot: { release: (() => void) | null }): void {
    const { logger } = this.opts;
    const { id, listener: name } = info;
    let admission: Admission;
    try {
      admission = this.opts.admit(info);
    } catch (err) {
      logger.error({ err, conn: id, listener: name }, 'admit failed');
      raw.destroy();
      return;
    }
    if (!admission.ok) return this.refuse(raw, info, admission.refuse);

    this.admitted++;
    let released = false;
    const releaseOnce = (): void => {
      if (released) return;
      released = true;
      this.admitted--;
      try {
        admission.release();
      } catch (err) {
        logger.error({ err, conn: id, listener: name }, 'release failed');
      }
    };
    slot.release = releaseOnce;

    const tls = this.secureContext;
    if (tls === null) return this.handOver(raw, info, releaseOnce);
    // Admitted before the handshake, so connections stuck in a handshake count against the limits too.
    upgradeToTls(raw, tls, { timeoutMs: this.handshakeTimeoutMs, clock: this.clock, logger, connectionId: id }).then(
      (secure) => this.handOver(secure, info, releaseOnce),
      (err) => logger.debug({ err, conn: id, listener: name }, 'tls handshake failed'),
    );
  }

  private handOver(socket: Duplex, info: ConnectionInfo, release: () => void): void {
    try {
      this.opts.onConnection(socket, info, release);
    } catch (err) {
      this.opts.logger.error({ err, conn: info.id, listener: info.listener }, 'session failed to start');
      socket.destroy();
    }
  }

  private refuse(raw: net.Socket, info: ConnectionInfo, refuse: (socket: Duplex) => void): void {
    const { logger } = this.opts;
    logger.debug({ conn: info.id, listener: info.listener, remote: info.remoteAddress }, 'connection refused');
    const linger = this.clock.setTimeout(() => raw.destroy(), this.opts.refusalLingerMs ?? DEFAULT_REFUSAL_LINGER_MS);
    linger.unref?.();
    raw.once('close', () => this.clock.clearTimeout(linger));
    const send = (socket: Duplex): void => {
      // Read and drop the client's input: otherwise its FIN goes unnoticed and the socket stays until the linger timer.
      socket.resume();
      try {
        refuse(socket);
      } catch (err) {
        logger.error({ err, conn: info.id, listener: info.listener }, 'refuse failed');
        socket.destroy();
      }
    };
    const tls = this.secureContext;
    if (tls === null) return send(raw);
    // On an implicit-TLS port the client only understands the refusal inside TLS.
    upgradeToTls(raw, tls, { timeoutMs: this.handshakeTimeoutMs, clock: this.clock, logger, connectionId: info.id }).then(send, (err) =>
      logger.debug({ err, conn: info.id, listener: info.listener }, 'tls handshake failed'),
    );
  }

  private get handshakeTimeoutMs(): number {
    return this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  }

  private async shutdown(graceMs: number): Promise<void> {
    const { logger, name } = this.opts;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.sockets.size > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, graceMs);
        this.onEmpty = () => {
          this.clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.sockets.size > 0) {
      logger.info({ listener: name, connections: this.sockets.size }, 'grace period over, closing remaining connections');
      // Our own 'close' bookkeeping (releases) must have run before we report stopped; server.close's callback does not promise that.
      const empty = new Promise<void>((resolve) => (this.onEmpty = resolve));
      for (const socket of this.sockets) socket.destroy();
      await empty;
    }
    await closed;
    logger.info({ listener: name }, 'stopped');
  }
}

function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function describeListenError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use (EADDRINUSE); is another server running on this port?';
    case 'EACCES':
      return 'permission denied (EACCES); ports below 1024 need privileges';
    case 'EADDRNOTAVAIL':
      return 'no such address on this machine (EADDRNOTAVAIL)';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}
