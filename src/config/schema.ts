/**
 * The postline.yaml schema (SPEC §2): raw YAML data in, a `Config` out, or
 * every problem found, each with its key path. zod gives the structure
 * (strict objects: an unknown key is an error); each leaf value is parsed by
 * the strict parsers in units.ts so that messages are short and say what was
 * found. Checks that compare keys with each other run in `crossCheck`, on the
 * raw data, because zod skips whole-object checks once any field has failed and
 * we want all problems in one run.
 *
 * A key with an empty value (YAML null) means the same as leaving it out.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parsePhc } from '../auth/password.js';
import type { Config, ListenerConfig, ListenerName } from './types.js';
import * as u from './units.js';

export const LISTENER_NAMES = ['smtp', 'submission', 'smtps', 'pop3', 'pop3s', 'imap', 'imaps', 'http'] as const satisfies readonly ListenerName[];

/** One problem: where (key path, array indices as numbers) and what. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

export type ValidateResult = { ok: true; config: Config; warnings: string[] } | { ok: false; issues: Issue[] };

type Parser<T> = (input: unknown) => u.Parsed<T>;

/** A leaf value. `fallback` is the default, written as in YAML and parsed like user input. */
function field<T>(parse: Parser<T>, fallback?: unknown) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): T => {
      const input = value ?? fallback;
      const r: u.Parsed<T> = input === undefined ? { ok: false, problem: 'required' } : parse(input);
      if (r.ok) return r.value;
      ctx.addIssue({ code: 'custom', message: r.problem });
      return z.NEVER;
    });
}

/** A group of keys; absent or empty means "all defaults". */
function section<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.preprocess((v) => v ?? {}, z.strictObject(shape));
}

function list<T>(parse: Parser<T>, fallback: unknown[] = []) {
  return z.preprocess((v) => v ?? fallback, z.array(field(parse)));
}

/** A mapping whose keys are parsed too (aliases, routes); keys that normalise to the same value clash. */
function mapOf<K extends string, V>(parseKey: Parser<K>, parseValue: Parser<V>) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): Record<K, V> => {
      const out = {} as Record<K, V>;
      if (value == null) return out;
      if (!isPlainObject(value)) {
        ctx.addIssue({ code: 'custom', message: `expected a mapping (got ${u.describe(value)})` });
        return z.NEVER;
      }
      const seen = new Set<string>(); // apart from `out`: a clash counts even when the first value was bad
      for (const [rawKey, rawValue] of Object.entries(value)) {
        const k = parseKey(rawKey);
        const v = parseValue(rawValue);
        if (!k.ok) ctx.addIssue({ code: 'custom', path: [rawKey], message: k.problem });
        else if (seen.has(k.value)) ctx.addIssue({ code: 'custom', path: [rawKey], message: `duplicate of ${k.value}` });
        else seen.add(k.value);
        if (!v.ok) ctx.addIssue({ code: 'custom', path: [rawKey], message: v.problem });
        // Parsed keys (addresses, domain names) can never be `__proto__`, so plain assignment is safe.
        if (k.ok && v.ok) out[k.value] = v.value;
      }
      return out;
    });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const nonNegative = (v: unknown) => u.parseInteger(v, 0, Number.MAX_SAFE_INTEGER);

/** `""` means "not set" for optional values written as strings (catchAll, relayHost). */
function emptyIsNull<T>(parse: Parser<T>): Parser<T | null> {
  return (v) => (v === '' ? { ok: true, value: null } : parse(v));
}

function checked<T>(parse: Parser<T>, test: (value: T) => boolean, problem: (input: unknown) => string): Parser<T> {
  return (input) => {
    const r = parse(input);
    return r.ok && !test(r.value) ? { ok: false, problem: problem(input) } : r;
  };
}

function nonEmptyString(v: unknown): u.Parsed<string> {
  return typeof v === 'string' && v !== '' ? { ok: true, value: v } : { ok: false, problem: `expected a non-empty string (got ${u.describe(v)})` };
}

/**
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` as `postline user hash` prints it.
 * The login code's own parser decides, so a hash accepted here can never be
 * one that fails only at the first login.
 */
function parsePasswordHash(v: unknown): u.Parsed<string> {
  if (typeof v === 'string' && parsePhc(v)) return { ok: true, value: v };
  return { ok: false, problem: 'unsupported password hash (expected $scrypt$… from `postline user hash`)' };
}

/** A path in the config is relative to the config file's directory, not to wherever the server was started. */
function directory(baseDir: string): Parser<string> {
  return (v) => {
    const r = nonEmptyString(v);
    return r.ok ? { ok: true, value: resolve(baseDir, r.value) } : { ok: false, problem: `expected a directory path (got ${u.describe(v)})` };
  };
}

/** A file we must read at startup (TLS cert/key): fail now, with the reason, rather than at the first STARTTLS. */
function readableFile(baseDir: string): Parser<string> {
  return (v) => {
    const r = nonEmptyString(v);
    if (!r.ok) return { ok: false, problem: `expected a file path (got ${u.describe(v)})` };
    const path = resolve(baseDir, r.value);
    try {
      accessSync(path, constants.R_OK);
      if (statSync(path).isDirectory()) return { ok: false, problem: `cannot read ${path} (EISDIR)` };
    } catch (err) {
      return { ok: false, problem: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    return { ok: true, value: path };
  };
}

/** `listen.<name>`: "host:port", or { address: "host:port", proxyProtocol: bool }. Port 0 = any free port (tests). */
const listener = z
  .unknown()
  .optional()
  .transform((value, ctx): ListenerConfig | undefined => {
    const problem = (message: string, path: string[] = []) => ctx.addIssue({ code: 'custom', path, message });
    if (value == null) return undefined;
    const raw = isPlainObject(value) ? value : { address: value };
    if (!isPlainObject(value) && typeof value !== 'string') {
      problem(`expected host:port or { address, proxyProtocol } (got ${u.describe(value)})`);
      return z.NEVER;
    }
    for (const key of Object.keys(raw)) if (key !== 'address' && key !== 'proxyProtocol') problem('unknown key', [key]);
    // A plain string is the address itself, so its problem belongs to the listener's own path.
    const at = isPlainObject(value) ? ['address'] : [];
    const address = raw.address == null ? ({ ok: false, problem: 'required' } as const) : u.parseHostPort(raw.address, { allowPortZero: true });
    const proxy = u.parseBoolean(raw.proxyProtocol ?? false);
    if (!address.ok) problem(address.problem, at);
    if (!proxy.ok) problem(proxy.problem, ['proxyProtocol']);
    return address.ok && proxy.ok ? { ...address.value, proxyProtocol: proxy.value } : z.NEVER;
  });

const listenShape = Object.fromEntries(LISTENER_NAMES.map((name) => [name, listener])) as Record<ListenerName, typeof listener>;

const user = z.strictObject({
  address: field(u.parseEmail),
  password: field(emptyIsNull(nonEmptyString), ''),
  passwordHash: field(emptyIsNull(parsePasswordHash), ''),
});

/** The key set as written in YAML; `baseDir` resolves relative paths. */
function yamlSchema(baseDir: string) {
  return z.strictObject({
    hostname: field(u.parseHostName, 'localhost'),
    dataDir: field(directory(baseDir), './data'),
    domains: list(u.parseDomain),
    users: z.preprocess((v) => v ?? [], z.array(user)),
    aliases: mapOf(u.parseEmail, u.parseEmail),
    catchAll: field(emptyIsNull(u.parseEmail), ''),
    listen: section(listenShape),
    admin: section({ token: field(u.parseString, '') }),
    tls: z
      .preprocess((v) => v ?? undefined, z.strictObject({ cert: field(readableFile(baseDir)), key: field(readableFile(baseDir)) }).optional())
      .transform((v) => v ?? null),
    auth: section({ plaintext: field((v) => u.parseOneOf(v, ['loopback', 'never', 'always']), 'loopback') }),
    relay: section({
      trustedNetworks: list(u.parseCidr),
      popBeforeSmtp: field(u.parseDuration, '0s'),
    }),
    checks: section({ ptr: field((v) => u.parseOneOf(v, ['off', 'fcrdns', 'sender-domain']), 'off') }),
    dns: section({
      servers: list(u.parseDnsServer),
      doh: field((v) => (v === '' ? { ok: true, value: '' } : u.parseHttpUrl(v, { httpsOnly: true })), ''),
    }),
    delivery: section({
      port: field((v) => u.parseInteger(v, 1, 65535), 25),
      routes: mapOf(u.parseDomain, (v) => {
        const hp = u.parseHostPort(v);
        if (hp.ok) return { ok: true, value: v as string };
        const url = u.parseHttpUrl(v);
        return url.ok ? url : { ok: false, problem: `expected host:port or an http(s):// URL (got ${u.describe(v)})` };
      }),
      relayHost: field(emptyIsNull((v) => u.parseHostPort(v)), ''),
      retry: z
        .preprocess((v) => v ?? ['1m', '5m', '15m', '1h', '4h'], z.array(field(checked(u.parseDuration, (ms) => ms > 0, (v) => `expected a delay greater than 0 (got ${u.describe(v)})`))))
        .check(z.minLength(1, 'expected at least one delay such as 1m (got an empty list)')),
      maxQueueLifetime: field(u.parseDuration, '5d'),
    }),
    limits: section({
      maxMessageSize: field(u.parseSize, '25MB'),
      maxRecipients: field(nonNegative, 100),
      maxConnections: field(nonNegative, 10000),
      maxConnectionsPerIp: field(nonNegative, 50),
      idleTimeout: field(u.parseDuration, '5m'),
      authFailuresPerIp: field(nonNegative, 10),
    }),
    workers: section({
      threads: field((v): u.Parsed<number | 'auto'> => {
        if (v === 'auto') return { ok: true, value: 'auto' };
        const n = u.parseInteger(v, 1, 64);
        return n.ok ? n : { ok: false, problem: `expected auto or an integer from 1 to 64 (got ${u.describe(v)})` };
      }, 'auto'),
    }),
    store: section({
      segmentSize: field(
        checked(u.parseSize, (n) => n >= 1024 ** 2 && n <= 1024 ** 3, (v) => `expected a size from 1MB to 1GB (got ${u.describe(v)})`),
        '64MB',
      ),
      fsync: field((v) => u.parseOneOf(v, ['batch', 'always', 'off']), 'batch'),
    }),
  });
}

/**
 * Builds the schema; `baseDir` is the config file's directory (the working
 * directory for the embedded default). Structure and values only: use
 * `validateConfig` for the full check, which adds the checks between keys.
 */
export function configSchema(baseDir: string) {
  return yamlSchema(baseDir).transform(toConfig);
}

/** YAML names → Config names: durations get an `Ms` suffix so no caller can mistake their unit. */
function toConfig(y: z.output<ReturnType<typeof yamlSchema>>): Config {
  const listen: Config['listen'] = {};
  for (const name of LISTENER_NAMES) if (y.listen[name]) listen[name] = y.listen[name];
  return {
    hostname: y.hostname,
    dataDir: y.dataDir,
    domains: [...new Set(y.domains)],
    users: y.users,
    aliases: y.aliases,
    catchAll: y.catchAll,
    listen,
    admin: y.admin,
    tls: y.tls,
    auth: y.auth,
    relay: { trustedNetworks: y.relay.trustedNetworks, popBeforeSmtpMs: y.relay.popBeforeSmtp },
    checks: y.checks,
    dns: y.dns,
    delivery: {
      port: y.delivery.port,
      routes: y.delivery.routes,
      relayHost: y.delivery.relayHost,
      retryMs: y.delivery.retry,
      maxQueueLifetimeMs: y.delivery.maxQueueLifetime,
    },
    limits: {
      maxMessageSize: y.limits.maxMessageSize,
      maxRecipients: y.limits.maxRecipients,
      maxConnections: y.limits.maxConnections,
      maxConnectionsPerIp: y.limits.maxConnectionsPerIp,
      idleTimeoutMs: y.limits.idleTimeout,
      authFailuresPerIp: y.limits.authFailuresPerIp,
    },
    workers: y.workers,
    store: y.store,
  };
}

/**
 * Checks between keys, on the raw data so they run even when unrelated keys
 * failed. Values that do not parse are skipped here: the schema reports them.
 */
function crossCheck(raw: Record<string, unknown>): { issues: Issue[]; warnings: string[] } {
  const issues: Issue[] = [];
  const warnings: string[] = [];
  const parsed = <T>(r: u.Parsed<T>): T | undefined => (r.ok ? r.value : undefined);

  // Only judge membership against a domain list that parsed completely, or one typo would flag every address.
  const rawDomains = raw.domains ?? [];
  const domainResults = Array.isArray(rawDomains) ? rawDomains.map(u.parseDomain) : [];
  const domains = Array.isArray(rawDomains) && domainResults.every((r) => r.ok) ? new Set(domainResults.map(parsed)) : null;
  const checkLocal = (address: string, path: Issue['path']) => {
    const domain = address.slice(address.indexOf('@') + 1);
    if (domains && !domains.has(domain)) issues.push({ path, message: `domain ${domain} is not in domains` });
  };

  const seenUsers = new Map<string, number>();
  (Array.isArray(raw.users) ? raw.users : []).forEach((entry: unknown, i) => {
    if (!isPlainObject(entry)) return;
    const hasPassword = entry.password != null && entry.password !== '';
    const hasHash = entry.passwordHash != null && entry.passwordHash !== '';
    if (hasPassword === hasHash) {
      issues.push({ path: ['users', i], message: hasPassword ? 'set password or passwordHash, not both' : 'needs password or passwordHash' });
    } else if (hasPassword) {
      warnings.push(`users.${i}.password: plain-text password in the config; prefer passwordHash from \`postline user hash\``);
    }
    const address = parsed(u.parseEmail(entry.address));
    if (address === undefined) return;
    const first = seenUsers.get(address);
    if (first !== undefined) issues.push({ path: ['users', i, 'address'], message: `${address} is already users.${first}` });
    else seenUsers.set(address, i);
    checkLocal(address, ['users', i, 'address']);
  });

  if (isPlainObject(raw.aliases)) {
    for (const key of Object.keys(raw.aliases)) {
      const alias = parsed(u.parseEmail(key));
      if (alias !== undefined) checkLocal(alias, ['aliases', key]);
    }
  }

  // Two listeners on one fixed address would fail at bind time with a less helpful message.
  if (isPlainObject(raw.listen)) {
    const byAddress = new Map<string, string>();
    for (const name of LISTENER_NAMES) {
      const value = raw.listen[name];
      const hp = parsed(u.parseHostPort(isPlainObject(value) ? value.address : value, { allowPortZero: true }));
      if (hp === undefined || hp.port === 0) continue;
      const key = `${hp.host}:${hp.port}`;
      const other = byAddress.get(key);
      if (other) issues.push({ path: ['listen', name], message: `same address as listen.${other}` });
      else byAddress.set(key, name);
    }
  }
  return { issues, warnings };
}

/** zod issues → our issues: one per unknown key, our wording for wrong container types. */
function fromZod(issue: z.core.$ZodIssue): Issue[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown key' }));
    case 'invalid_type': {
      const got = u.describe(issue.input);
      if (issue.expected === 'object') return [{ path, message: `expected a mapping (got ${got})` }];
      if (issue.expected === 'array') return [{ path, message: `expected a list (got ${got})` }];
      return [{ path, message: issue.input === undefined ? 'required' : issue.message }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * Validates raw YAML data (already merged with environment overrides).
 * `baseDir` resolves relative paths (dataDir, tls files).
 */
export function validateConfig(raw: unknown, baseDir: string): ValidateResult {
  const yaml = yamlSchema(baseDir);
  const result = yaml.transform(toConfig).safeParse(raw, { reportInput: true });
  const cross = isPlainObject(raw) ? crossCheck(raw) : { issues: [], warnings: [] };
  const issues = [...(result.success ? [] : result.error.issues.flatMap(fromZod)), ...cross.issues];
  // Group problems by top-level key in the spec's order (sort is stable), unknown keys last.
  const order = Object.keys(yaml.shape);
  const rank = (i: Issue) => {
    const at = order.indexOf(String(i.path[0]));
    return at < 0 ? order.length : at;
  };
  issues.sort((a, b) => rank(a) - rank(b));
  if (!result.success || issues.length > 0) return { ok: false, issues };
  return { ok: true, config: result.data, warnings: cross.warnings };
}
