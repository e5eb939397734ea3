/**
 * What the HTTP listener answers: one declarative route table, and the one
 * function that turns a request into a reply (method and path matching,
 * 404/405, the bearer check for /api). No sockets here — src/http/server.ts
 * owns the transport — so this is testable on plain values.
 *
 *   GET    /healthz            200 {"status":"ok"} | 503 {"status":"unavailable","problems":[…]}
 *   GET    /metrics            Prometheus text
 *   GET    /api/queue          admin: the outbound queue (as `postline queue list`)
 *   POST   /api/queue/flush    admin: everything queued is due now
 *   DELETE /api/queue/:id      admin: drop a queued message (404 when unknown)
 *   GET    /api/users          admin: address, source, created (never hashes)
 *
 * The admin routes exist only with a non-empty `admin.token`; without one
 * everything under /api answers 404, as if it were not there.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** What the routes need from the rest of the server; main wires it. */
export interface HttpApp {
  /** Why the server is not healthy; empty when it is. */
  health(): string[];
  metrics(): Promise<{ contentType: string; body: string }>;
  /** null: admin API off. */
  admin: AdminPort | null;
}

export interface AdminPort {
  /** The bearer token (non-empty). */
  token: string;
  queueList(): unknown[];
  /** Returns how many messages are queued. */
  queueFlush(): number;
  queueDelete(id: string): Promise<boolean>;
  users(): { address: string; source: string; created: string | null }[];
}

export interface ApiRequest {
  method: string;
  /** The request target as sent (origin-form "/path?query", or absolute-form). */
  url: string;
  authorization: string | undefined;
}

export interface ApiReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Method = 'GET' | 'POST' | 'DELETE';

type Params = Record<string, string>;

/** `path`: segments; ":name" captures one. Admin routes run only with the admin API on and the token checked. */
type Route =
  | { method: Method; path: string; kind: 'public'; handle(app: HttpApp, params: Params): ApiReply | Promise<ApiReply> }
  | { method: Method; path: string; kind: 'admin'; handle(admin: AdminPort, params: Params): ApiReply | Promise<ApiReply> };

const JSON_TYPE = 'application/json; charset=utf-8';
const REALM = 'Bearer realm="postline"';

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ApiReply {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) + '\n' };
}

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/healthz',
    kind: 'public',
    handle(app) {
      const problems = app.health();
      return problems.length === 0 ? json(200, { status: 'ok' }) : json(503, { status: 'unavailable', problems });
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    kind: 'public',
    async handle(app) {
      const m = await app.metrics();
      return { status: 200, headers: { 'content-type': m.contentType }, body: m.body };
    },
  },
  {
    method: 'GET',
    path: '/api/queue',
    kind: 'admin',
    handle: (admin) => json(200, { items: admin.queueList() }),
  },
  {
    method: 'POST',
    path: '/api/queue/flush',
    kind: 'admin',
    handle: (admin) => json(200, { queued: admin.queueFlush() }),
  },
  {
    method: 'DELETE',
    path: '/api/queue/:id',
    kind: 'admin',
    async handle(admin, params) {
      const id = params['id']!;
      return (await admin.queueDelete(id)) ? json(200, { deleted: id }) : json(404, { error: `no queued message ${id}` });
    },
  },
  {
    method: 'GET',
    path: '/api/users',
    kind: 'admin',
    // Field by field: whatever else a directory entry may carry one day (a hash), it is not listed.
    handle: (admin) => json(200, { users: admin.users().map((u) => ({ address: u.address, source: u.source, created: u.created })) }),
  },
];

/** Answers one request. Never throws: a failing handler is a 500 (the caller logs `error`). */
export async function answer(app: HttpApp, request: ApiRequest): Promise<ApiReply & { error?: unknown }> {
  const path = pathOf(request.url);
  if (path === null) return json(400, { error: 'bad request target' });
  const isApi = path === '/api' || path.startsWith('/api/');
  if (isApi) {
    if (!app.admin) return json(404, { error: 'not found' });
    const auth = checkBearer(request.authorization, app.admin.token);
    if (auth !== 'ok') {
      const challenge = auth === 'missing' ? REALM : `${REALM}, error="invalid_token"`;
      return json(401, { error: 'unauthorized' }, { 'www-authenticate': challenge });
    }
  }
  const segments = path.split('/');
  const allowed = new Set<string>();
  for (const route of ROUTES) {
    const params = match(route.path.split('/'), segments);
    if (params === null) continue;
    if (params === 'bad-escape') return json(400, { error: 'bad percent-encoding in path' });
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (route.method !== method) {
      allowed.add(route.method);
      if (route.method === 'GET') allowed.add('HEAD');
      continue;
    }
    try {
      if (route.kind === 'public') return await route.handle(app, params);
      return app.admin ? await route.handle(app.admin, params) : json(404, { error: 'not found' });
    } catch (error) {
      return { ...json(500, { error: 'internal error' }), error };
    }
  }
  if (allowed.size > 0) return json(405, { error: 'method not allowed' }, { allow: [...allowed].join(', ') });
  return json(404, { error: 'not found' });
}

/** The path of a request target without its query; null for targets that name no path ("*", garbage). */
function pathOf(target: string): string | null {
  if (target.startsWith('/')) {
    const q = target.search(/[?#]/);
    return q === -1 ? target : target.slice(0, q);
  }
  // Absolute-form (RFC 9112 §3.2.2), as sent to proxies.
  try {
    const url = new URL(target);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.pathname : null;
  } catch {
    return null;
  }
}

function match(pattern: string[], segments: string[]): Record<string, string> | 'bad-escape' | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) {
      if (s === '') return null;
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return 'bad-escape';
      }
    } else if (p !== s) return null;
  }
  return params;
}

/**
 * RFC 6750 §2.1: `Authorization: Bearer <token>`, scheme case-insensitive.
 * The comparison takes the same time however much of the token is right:
 * both sides are hashed first, so even the length does not show.
 */
function checkBearer(header: string | undefined, token: string): 'ok' | 'missing' | 'invalid' {
  if (header === undefined) return 'missing';
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return 'invalid';
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(m[1]!), digest(token)) ? 'ok' : 'invalid';
}
