/**
 * The HTTP listener's transport (node:http, which Bun implements too): caps
 * and timeouts from ./limits.ts, a 4xx for bytes that are not HTTP, and a
 * stop() that leaves no connection open. What a request means is ./api.ts.
 *
 * With `proxyProtocol`, a plain net.Server accepts, reads the PROXY header
 * (src/net/proxy.ts) and only then hands the socket to the HTTP server
 * (`emit('connection')`). node checks headersTimeout/requestTimeout only for
 * a server that listens itself, so on that path a first-request deadline of
 * our own stands in for them.
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

export class HttpServer {
  private readonly server: http.Server;
  /** proxyProtocol: accepts and reads the PROXY header before the HTTP server sees the socket. */
  private readonly front: net.Server | null;
  /** proxyProtocol: the client named by the PROXY header (for logs). */
  private readonly clients = new WeakMap<Socket, string>();
  /** proxyProtocol: sockets whose first request has not arrived yet → their deadline. */
  private readonly firstRequest = new WeakMap<Socket, object>();
  private readonly opts: HttpServerOptions;
  private readonly limits: HttpLimits;
  private readonly clock: Clock;
  private readonly sockets = new Set<Socket>();
  /** Sockets with a request received and its response not yet finished: the only ones stop() waits for. */
  private readonly busy = new Set<Socket>();
  private bound: { host: string; port: number };
  private stopping: Promise<void> | null = null;

  private constructor(opts: HttpServerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.limits = { ...HTTP_LIMITS, ...opts.limits };
    this.bound = { host: opts.host, port: opts.port };
    const l = this.limits;
    this.server = http.createServer(
      {
        maxHeaderSize: l.maxHeaderBytes,
        headersTimeout: l.headersTimeoutMs,
        requestTimeout: l.requestTimeoutMs,
        keepAliveTimeout: l.keepAliveTimeoutMs,
        connectionsCheckingInterval: l.timeoutCheckIntervalMs,
      },
      (req, res) => this.onRequest(req, res),
    );
    // No 'timeout' listener: node destroys a socket idle this long.
    this.server.setTimeout(l.idleSocketTimeoutMs);
    if (opts.proxyProtocol) {
      this.front = net.createServer({ allowHalfOpen: false, noDelay: true }, (socket) => this.acceptProxied(socket));
      this.front.maxConnections = l.maxConnections;
    } else {
      this.front = null;
      this.server.maxConnections = l.maxConnections;
      this.server.on('connection', (socket: Socket) => void this.track(socket));
    }
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplexish) => this.onClientError(err, socket));
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

  /** Every accepted socket until it closes, so stop() can end them all. False: stopping, the socket is gone. */
  private track(socket: Socket): boolean {
    // Attached first: a reset peer must never become an uncaught exception.
    socket.on('error', (err) => this.opts.logger.debug({ err, listener: 'http' }, 'socket error'));
    if (this.stopping) {
      socket.destroy();
      return false;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return true;
  }

  private acceptProxied(socket: Socket): void {
    if (!this.track(socket)) return;
    const { logger } = this.opts;
    void readProxyHeader(socket, { timeoutMs: DEFAULT_PROXY_HEADER_TIMEOUT_MS, clock: this.clock }).then((result) => {
      if (result.kind === 'failed') {
        logger.debug({ listener: 'http', remote: socket.remoteAddress, reason: result.reason, problem: result.problem }, 'PROXY header refused');
        return;
      }
      if (this.stopping || socket.destroyed) return void socket.destroy();
      if (result.kind === 'proxied') this.clients.set(socket, result.remoteAddress);
      const deadline = this.clock.setTimeout(() => socket.destroy(), this.limits.headersTimeoutMs);
      deadline.unref?.();
      this.firstRequest.set(socket, deadline);
      socket.once('close', () => this.clock.clearTimeout(deadline));
      this.server.emit('connection', socket);
    });
  }

  private listen(): Promise<void> {
    const { host, port, logger } = this.opts;
    const target: net.Server = this.front ?? this.server;
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
    this.busy.add(socket);
    res.once('close', () => {
      this.busy.delete(socket);
      // Stopping: a keep-alive connection ends with its answer (end() sends what is buffered first).
      if (this.stopping) socket.end();
    });
    const deadline = this.firstRequest.get(req.socket);
    if (deadline) {
      this.clock.clearTimeout(deadline);
      this.firstRequest.delete(req.socket);
    }
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
      if (refused) return;
      answer(this.opts.app, { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization }).then(
        (reply) => {
          if (reply.error !== undefined) logger.error({ err: reply.error, method: req.method, url: req.url }, 'http handler failed');
          // Changes made through the admin API are the operator's to audit.
          if (req.method !== 'GET' && req.method !== 'HEAD' && reply.status < 300) {
            logger.info({ listener: 'http', method: req.method, url: req.url, remote: this.clients.get(req.socket) ?? req.socket.remoteAddress, status: reply.status }, 'admin request');
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

  /** Bytes that are not HTTP, headers too large, a request too slow: one status line and close. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplexish): void {
    this.opts.logger.debug({ err, listener: 'http', code: err.code }, 'bad http request');
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    // A peer that never reads the reply does not hold the socket past this.
    const timer = this.clock.setTimeout(() => socket.destroy(), 1_000);
    timer.unref?.();
    socket.once('close', () => this.clock.clearTimeout(timer));
  }

  private async shutdown(): Promise<void> {
    const { logger } = this.opts;
    const target: net.Server = this.front ?? this.server;
    const closed = new Promise<void>((resolve) => target.close(() => resolve()));
    // Connections without a request in progress (idle keep-alive, half-sent
    // headers, silent, waiting for a PROXY header) go now. Those answering a
    // request end after their response, within the grace period.
    for (const s of this.sockets) if (!this.busy.has(s)) s.destroy();
    if (this.sockets.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, this.limits.shutdownGraceMs);
        const check = (): void => {
          if (this.sockets.size > 0) return;
          this.clock.clearTimeout(timer);
          resolve();
        };
        for (const s of this.sockets) s.once('close', check);
      });
    }
    for (const s of this.sockets) s.destroy();
    // Also whatever node's HTTP parser still tracks (nothing, normally).
    this.server.closeAllConnections();
    await closed;
    logger.info({ listener: 'http' }, 'stopped');
  }
}

/** The socket of a 'clientError' (a net.Socket; typed loosely by @types/node as stream.Duplex). */
type Duplexish = { writable: boolean; destroy(): void; end(data: string): void; once(event: 'close', fn: () => void): unknown };

function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
