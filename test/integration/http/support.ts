/**
 * Shared by the HTTP listener tests (not a test file): a server config with
 * an http listener, a small HTTP client over real sockets, a strict parser
 * for the Prometheus text format, and an SMTP sender.
 */
import http from 'node:http';
import net from 'node:net';
import assert from 'node:assert/strict';
import { DEFAULT_TEST_YAML, startTestServer, type TestServer } from '../../helpers/server.js';
import { RawSmtp } from '../../helpers/smtp-client.js';

export const TOKEN = 'metrics-and-admin-test-token';

/** The default test listeners plus `http` (the listen mapping cannot be extended by appending YAML). */
export function withHttp(http = '127.0.0.1:0'): string {
  const marker = '  imaps: 127.0.0.1:0\n';
  assert.ok(DEFAULT_TEST_YAML.includes(marker), 'DEFAULT_TEST_YAML changed shape');
  return DEFAULT_TEST_YAML.replace(marker, `${marker}  http: ${http}\n`);
}

export function startHttpServer(extraYaml = '', options: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  return startTestServer(extraYaml, { baseYaml: withHttp(), ...options });
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection (no agent, no keep-alive pool). */
export function request(port: number, method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    // node's client sends a GET body without framing unless told its length.
    const headers = options.body === undefined ? options.headers : { 'content-length': String(Buffer.byteLength(options.body)), ...options.headers };
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function bearer(token = TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/**
 * Raw bytes over a socket; resolves with everything received when the server
 * closes, or when `timeoutMs` passes (then `closed` is false).
 */
export function rawExchange(port: number, bytes: string | Buffer, options: { end?: boolean; timeoutMs?: number } = {}): Promise<{ data: string; closed: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 5000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      if (bytes.length > 0) socket.write(bytes);
      if (options.end) socket.end();
    });
  });
}

export type Samples = Map<string, number>;

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly: every line
 * is a HELP, a TYPE, or a sample of a metric whose TYPE came first. Samples
 * are keyed `name{a="x",b="y"}` with labels sorted, or just `name`.
 */
export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  const types = new Map<string, string>();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|NaN|\\+Inf|-Inf))$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${NAME}) .*$`).exec(line);
    if (m) continue;
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      assert.ok(!types.has(m[1]!), `TYPE twice for ${m[1]}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = sampleRe.exec(line);
    assert.ok(m, `not a Prometheus text line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const family = [...types.keys()].find((t) => name === t || (/_(bucket|sum|count)$/.test(name) && name.replace(/_(bucket|sum|count)$/, '') === t));
    assert.ok(family, `sample ${name} without a TYPE line`);
    const labels: [string, string][] = [];
    if (m[2]) {
      labelRe.lastIndex = 0;
      while (labelRe.lastIndex < m[2].length) {
        const l = labelRe.exec(m[2]);
        assert.ok(l, `bad labels in ${JSON.stringify(line)}`);
        labels.push([l[1]!, l[2]!]);
      }
    }
    labels.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const key = labels.length ? `${name}{${labels.map(([k, v]) => `${k}="${v}"`).join(',')}}` : name;
    assert.ok(!samples.has(key), `duplicate sample ${key}`);
    samples.set(key, Number(m[3]));
  }
  return samples;
}

export async function scrape(server: TestServer): Promise<Samples> {
  const res = await request(server.port('http'), 'GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.body);
}

/** A sample's value, 0 when absent (a counter not yet moved). */
export function value(samples: Samples, key: string): number {
  return samples.get(key) ?? 0;
}

/** Polls until `check` passes or the deadline. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One message over plain SMTP from loopback; returns the final reply code. */
export async function sendMail(port: number, from: string, to: string[], subject = 'metrics test'): Promise<number> {
  const c = await RawSmtp.connect(port);
  try {
    assert.equal((await c.reply()).code, 220);
    assert.equal((await c.cmd('EHLO client.example')).code, 250);
    assert.equal((await c.cmd(`MAIL FROM:<${from}>`)).code, 250);
    for (const r of to) assert.equal((await c.cmd(`RCPT TO:<${r}>`)).code, 250, `RCPT ${r}`);
    assert.equal((await c.cmd('DATA')).code, 354);
    const reply = await c.cmd(`From: <${from}>\r\nTo: <${to[0]}>\r\nSubject: ${subject}\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@client.example>\r\n\r\nHello.\r\n.`);
    await c.cmd('QUIT').catch(() => null);
    return reply.code;
  } finally {
    c.close();
  }
}
