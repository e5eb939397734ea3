/** Small client-side helpers for the socket-layer tests (not a test file). */
import type { Duplex } from 'node:stream';

/** Collects everything a socket receives; `until(text)` waits for it to appear, `closed` for the end. */
export class Inbox {
  text = '';
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];
  private isClosed = false;

  constructor(socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      this.wake();
    });
    socket.on('error', () => {}); // resets are expected in these tests; 'close' follows
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  async until(text: string, ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.text.includes(text)) {
      if (this.isClosed) throw new Error(`closed before ${JSON.stringify(text)}; got ${JSON.stringify(this.text)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.text;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export async function waitFor(what: string, predicate: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}
