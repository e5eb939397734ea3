/**
 * The HTTP listener's transport (node:http, which Bun implements too): caps
 * and timeouts from ./limits.ts, a 4xx for bytes that are not HTTP, and a
 * stop() that leaves no connection open. What a request means is ./api.ts.
 *
 * A plain net.Server accepts and hands each socket to the HTTP server
 * (`emit('connection')`), after reading the PROXY header first on a
 * `proxyProtocol` listener (src/net/proxy.ts). One path for both, and every
 * socket is ours from its first moment: Bun's HTTP server reports a
 * connection only once bytes arrive, so a silent client would escape stop().
 * The price: node runs its headersTimeout/requestTimeout checks only for an
 * HTTP server that listens itself, so the deadlines are our own, per
 * connection:
 *
 *   accepted / response done ──headersTimeout──▶ request headers complete
 *   request headers complete ──requestTimeout──▶ request body complete
 *   (then the handler runs; keep-alive idleness is node's keepAliveTimeout)
 *
 * A deadline that passes gets "408 Request Timeout" and a close.
 */
import http from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { DEFAULT_PROXY_HEADER_TIMEOUT_MS, readProxyHeader } from '../net/proxy.js';
import { answer, json, type ApiReply, type HttpApp } from './api.js';
import { HTTP_LIMITS, type HttpLimits } from './limits.js';

export interface HttpServerOptions {
  host: string;
  port: number; // 0 = ephemeral (tests)
  /** A load balancer sends a PROXY protocol v1/v2 header first. */
  proxyProtocol?: boolean;
  app: HttpApp;
  logger: Logger;
  clock?: Clock;
  limits?: Partial<HttpLimits>;
}

/** Headers on every reply: nothing here is for caches or for browsers to sniff. */
const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
/** After a 4xx and close, a peer that does not read it is cut after this. */
const CLOSE_LINGER_MS = 1_000;

interface Connection {
  /** The client named by a PROXY header (for logs); null: the socket's peer. */
  client: string | null;
  /** A request received and its response not yet finished: stop() waits for these only. */
  busy: boolean;
  deadline: object | null;
}

export class HttpServer {
  private readonly front: net.Server;
  private readonly server: http.Server;
  private readonly opts: HttpServerOptions;
  private readonly limits: HttpLimits;
  private readonly clock: Clock;
  /** Every accepted socket until it closes. */
  private readonly connections = new Map<Socket, Connection>();
  private bound: { host: string; port: number };
  private stopping: Promise<void> | null = null;

  private constructor(opts: HttpServerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.limits = { ...HTTP_LIMITS, ...opts.limits };
    this.bound = { host: opts.host, port: opts.port };
    const l = this.limits;
    this.server = http.createServer({ maxHeaderSize: l.maxHeaderBytes, keepAliveTimeout: l.keepAliveTimeoutMs }, (req, res) => this.onRequest(req, res));
    // No 'timeout' listener: node destroys a socket idle this long (a backstop; the deadlines come first).
    this.server.setTimeout(l.idleSocketTimeoutMs);
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplexish) => this.onClientError(err, socket));
    this.front = net.createServer({ allowHalfOpen: false, noDelay: true }, (socket) => this.accept(socket));
    this.front.maxConnections = l.maxConnections;
  }

  /** Listens; rejects with a message naming the address (EADDRINUSE, EACCES, …). */
  static async start(opts: HttpServerOptions): Promise<HttpServer> {
    const server = new HttpServer(opts);
    await server.listen();
    return server;
  }

  get address(): { host: string; port: number } {
    return { ...this.bound };
  }

  /** Stop accepting; requests in progress get shutdownGraceMs, then every connection is cut. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private accept(socket: Socket): void {
    // Attached first: a reset peer must never become an uncaught exception.
    socket.on('error', (err) => this.opts.logger.debug({ err, listener: 'http' }, 'socket error'));
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const conn: Connection = { client: null, busy: false, deadline: null };
    this.connections.set(socket, conn);
    socket.once('close', () => {
      this.disarm(conn);
      this.connections.delete(socket);
    });
    if (!this.opts.proxyProtocol) return this.handOver(socket, conn);
    void readProxyHeader(socket, { timeoutMs: DEFAULT_PROXY_HEADER_TIMEOUT_MS, clock: this.clock }).then((result) => {
      if (result.kind === 'failed') {
        // readProxyHeader has destroyed the socket.
        this.opts.logger.debug({ listener: 'http', remote: socket.remoteAddress, reason: result.reason, problem: result.problem }, 'PROXY header refused');
        return;
      }
      if (this.stopping || socket.destroyed) return void socket.destroy();
      if (result.kind === 'proxied') conn.client = result.remoteAddress;
      this.handOver(socket, conn);
    });
  }

  private handOver(socket: Socket, conn: Connection): void {
    this.arm(socket, conn, this.limits.headersTimeoutMs);
    this.server.emit('connection', socket);
  }

  /** `quiet`: close without a 408 (a keep-alive client might read it as the answer to a request it is sending right now). */
  private arm(socket: Socket, conn: Connection, ms: number, quiet = false): void {
    this.disarm(conn);
    conn.deadline = this.clock.setTimeout(() => {
      conn.deadline = null;
      this.opts.logger.debug({ listener: 'http', remote: conn.client ?? socket.remoteAddress }, 'http request too slow');
      if (quiet) socket.destroy();
      else closeWith(socket, '408 Request Timeout', this.clock);
    }, ms);
    (conn.deadline as { unref?(): unknown }).unref?.();
  }

  private disarm(conn: Connection): void {
    if (conn.deadline) this.clock.clearTimeout(conn.deadline);
    conn.deadline = null;
  }

  private listen(): Promise<void> {
    const { host, port, logger } = this.opts;
    const target = this.front;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        target.removeListener('listening', onListening);
        reject(new Error(`listener http: cannot listen on ${formatAddress(host, port)}: ${err.code ?? ''} ${err.message}`.replace(/  +/, ' '), { cause: err }));
      };
      const onListening = (): void => {
        target.removeListener('error', onError);
        target.on('error', (err) => logger.error({ err, listener: 'http' }, 'listener error'));
        const addr = target.address();
        if (addr && typeof addr === 'object') this.bound = { host: addr.address, port: addr.port };
        resolve();
      };
      target.once('error', onError);
      target.once('listening', onListening);
      target.listen({ host, port });
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { logger } = this.opts;
    res.on('error', (err) => logger.debug({ err, listener: 'http' }, 'response error'));
    const socket = req.socket;
    const conn = this.connections.get(socket) ?? { client: null, busy: false, deadline: null };
    conn.busy = true;
    this.arm(socket, conn, this.limits.requestTimeoutMs);
    res.once('close', () => {
      conn.busy = false;
      if (socket.destroyed) return;
      // Stopping: a keep-alive connection ends with its answer (end() sends what is buffered first).
      if (this.stopping) socket.end();
      else this.arm(socket, conn, this.limits.headersTimeoutMs, true);
    });
    const max = this.limits.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return this.tooLarge(req, res);
    // No route reads a body: count it (to enforce the cap) and drop it.
    let received = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > max && !refused) {
        refused = true;
        this.tooLarge(req, res);
      }
    });
    req.on('error', (err) => logger.debug({ err, listener: 'http' }, 'request error'));
    req.on('end', () => {
      this.disarm(conn);
      if (refused) return;
      answer(this.opts.app, { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization }).then(
        (reply) => {
          if (reply.error !== undefined) logger.error({ err: reply.error, method: req.method, url: req.url }, 'http handler failed');
          // Changes made through the admin API are the operator's to audit.
          if (req.method !== 'GET' && req.method !== 'HEAD' && reply.status < 300) {
            logger.info({ listener: 'http', method: req.method, url: req.url, remote: conn.client ?? socket.remoteAddress, status: reply.status }, 'admin request');
          }
          this.send(res, reply);
        },
        // answer() does not throw; this is for a bug in it.
        (err: unknown) => {
          logger.error({ err, method: req.method, url: req.url }, 'http handler failed');
          this.send(res, json(500, { error: 'internal error' }));
        },
      );
    });
  }

  /** 413 and close: reading the rest of a large body to keep the connection is not worth it. */
  private tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.send(res, json(413, { error: `request body larger than ${this.limits.maxBodyBytes} bytes` }, { connection: 'close' }));
    // Keep reading (and dropping) meanwhile, so the client is not reset before it has read the reply; node closes after it.
    req.resume();
  }

  private send(res: http.ServerResponse, reply: ApiReply): void {
    if (res.headersSent || res.destroyed) return;
    const body = Buffer.from(reply.body, 'utf8');
    const headers: Record<string, string | number> = { ...COMMON_HEADERS, ...reply.headers, 'content-length': body.length };
    // While stopping, tell keep-alive clients this connection ends here.
    if (this.stopping) headers['connection'] = 'close';
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  /** Bytes that are not HTTP, headers too large: one status line and close. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplexish): void {
    this.opts.logger.debug({ err, listener: 'http', code: err.code }, 'bad http request');
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    closeWith(socket, status, this.clock);
  }

  private async shutdown(): Promise<void> {
    const { logger } = this.opts;
    const closed = new Promise<void>((resolve) => this.front.close(() => resolve()));
    // Connections without a request in progress (idle keep-alive, half-sent
    // headers, silent, waiting for a PROXY header) go now. Those answering a
    // request end after their response, within the grace period.
    for (const [socket, conn] of this.connections) if (!conn.busy) socket.destroy();
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, this.limits.shutdownGraceMs);
        const check = (): void => {
          if (this.connections.size > 0) return;
          this.clock.clearTimeout(timer);
          resolve();
        };
        for (const socket of this.connections.keys()) socket.once('close', check);
      });
    }
    for (const socket of this.connections.keys()) socket.destroy();
    await closed;
    logger.info({ listener: 'http' }, 'stopped');
  }
}

/** The socket of a 'clientError' (a net.Socket; typed loosely by @types/node as stream.Duplex). */
type Duplexish = { writable: boolean; destroyed: boolean; destroy(): void; end(data: string): void; once(event: 'close', fn: () => void): unknown };

/** One status line, no body, and close; a peer that does not read it is cut soon after. */
function closeWith(socket: Duplexish, status: string, clock: Clock): void {
  if (socket.destroyed) return;
  if (!socket.writable) return void socket.destroy();
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  const timer = clock.setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
  timer.unref?.();
  socket.once('close', () => clock.clearTimeout(timer));
}

function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
