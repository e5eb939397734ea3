/**
 * The control socket: how `postline queue flush|delete|list` reach a running
 * server, like Postfix's postqueue talks to its master. A Unix-domain socket
 * in the data directory (so only users who can read the data can use it),
 * one JSON request line in, one JSON response line out, then close.
 *
 * Requests and responses are plain objects; what they mean is the
 * composition root's business (src/main.ts hands in the handler).
 */
import net from 'node:net';
import { unlink } from 'node:fs/promises';
import type { Logger } from '../core/log.js';

/** A request line longer than this is refused: requests are tiny. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that connects and sends nothing is cut after this. */
const REQUEST_TIMEOUT_MS = 10_000;

export type ControlRequest = { op: string } & Record<string, unknown>;
export type ControlResponse = { ok: true } & Record<string, unknown> | { ok: false; error: string };
export type ControlHandler = (request: ControlRequest) => Promise<ControlResponse>;

export class ControlServer {
  private constructor(
    private readonly server: net.Server,
    readonly path: string,
  ) {}

  /** Listens on `path`, replacing a stale socket file left by a crashed server. */
  static async start(path: string, handler: ControlHandler, logger: Logger): Promise<ControlServer> {
    // The data directory lock (taken by the store before this runs) guarantees
    // no other server owns this path, so an existing file is a leftover.
    await unlink(path).catch(() => {});
    const server = net.createServer((socket) => serve(socket, handler, logger));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new ControlServer(server, path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.path).catch(() => {});
  }
}

function serve(socket: net.Socket, handler: ControlHandler, logger: Logger): void {
  let buffered = '';
  let answered = false;
  socket.setEncoding('utf8');
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => {});
  const reply = (response: ControlResponse) => {
    answered = true;
    socket.end(JSON.stringify(response) + '\n');
  };
  socket.on('data', (chunk: string) => {
    if (answered) return;
    buffered += chunk;
    const nl = buffered.indexOf('\n');
    if (nl < 0) {
      if (buffered.length > MAX_REQUEST_BYTES) reply({ ok: false, error: 'request too long' });
      return;
    }
    let request: unknown;
    try {
      request = JSON.parse(buffered.slice(0, nl));
    } catch {
      return reply({ ok: false, error: 'request is not JSON' });
    }
    if (typeof request !== 'object' || request === null || typeof (request as { op?: unknown }).op !== 'string') {
      return reply({ ok: false, error: 'request needs an "op"' });
    }
    handler(request as ControlRequest).then(reply, (err: unknown) => {
      logger.error({ err, op: (request as ControlRequest).op }, 'control request failed');
      reply({ ok: false, error: err instanceof Error ? err.message : String(err) });
    });
  });
}

/** Sends one request to a running server; null when no server listens on `path`. */
export function controlRequest(path: string, request: ControlRequest, timeoutMs = 30_000): Promise<ControlResponse | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`postline did not answer on ${path} within ${timeoutMs / 1000} s`));
    });
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data) as ControlResponse);
      } catch {
        reject(new Error(`unreadable answer from postline on ${path}`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else reject(err);
    });
  });
}
