/**
 * Finds, reads, parses, overrides from the environment, validates and freezes
 * the configuration. This is the only module that reads the config file or
 * POSTLINE_* variables; everything else gets the frozen `Config` passed in.
 *
 * Which file: `opts.file`, else $POSTLINE_CONFIG, else ./postline.yaml if it
 * exists, else the embedded default. Every problem is reported, one line
 * each, as `path.to.key: problem` (or `POSTLINE_X: problem` when the value
 * came from the environment). Relative paths, from the file or from a
 * variable, are relative to the config file's directory (the working
 * directory for the embedded default).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { DEFAULT_CONFIG_YAML } from './default.js';
import { LISTENER_NAMES, validateConfig, type Issue } from './schema.js';
import type { Config } from './types.js';
import { describe } from './units.js';

export type LoadResult =
  | { ok: true; config: Readonly<Config>; warnings: string[]; source: string } // source: file path or "embedded default"
  | { ok: false; errors: string[]; source: string };

export const EMBEDDED_SOURCE = 'embedded default';

export function loadConfig(opts: { file?: string; cwd?: string; env?: Record<string, string | undefined> } = {}): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const file = opts.file ?? (env.POSTLINE_CONFIG ? env.POSTLINE_CONFIG : existsSync(resolve(cwd, 'postline.yaml')) ? 'postline.yaml' : undefined);

  let text = DEFAULT_CONFIG_YAML;
  let source = EMBEDDED_SOURCE;
  let baseDir = cwd; // the embedded default's ./data lives where the server was started
  if (file !== undefined) {
    source = resolve(cwd, file);
    baseDir = dirname(source);
    try {
      text = readFileSync(source, 'utf8');
    } catch (err) {
      return { ok: false, errors: [`config: cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? 'error'})`], source };
    }
  }

  const yaml = parseYaml(text);
  if (!yaml.ok) return { ok: false, errors: yaml.errors, source };

  const overridden = applyEnv(yaml.value, env);
  const result = validateConfig(overridden.raw, baseDir);
  const errors = [...(result.ok ? [] : result.issues.map((i) => formatIssue(i, overridden.fromEnv))), ...overridden.errors];
  if (!result.ok || errors.length > 0) return { ok: false, errors, source };
  return { ok: true, config: deepFreeze(result.config), warnings: result.warnings, source };
}

/** One problem per line, for printing. */
export function formatProblems(errors: string[]): string {
  return errors.join('\n');
}

/** YAML text → plain data. An empty file is an empty mapping (all defaults, no listeners). */
function parseYaml(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; errors: string[] } {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema (the package default): `off`, `yes`, `no` stay strings.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `config: YAML error at line ${line}, column ${col}: ${e.message}`;
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 }); // throws on an undefined alias or an alias bomb
  } catch (err) {
    return { ok: false, errors: [`config: YAML error: ${(err as Error).message}`] };
  }
  if (value == null) return { ok: true, value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [`config: expected a mapping of keys at the top level (got ${describe(value)})`] };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * How an environment value becomes YAML-like data: `text` as is, `integer`
 * as a number when it is one (else the text, so the schema reports it),
 * `list` split on commas, `listener` as the address of that listener.
 */
type EnvKind = 'text' | 'integer' | 'list' | 'listener';

const ENV_KEYS: Array<[path: string[], kind: EnvKind]> = [
  [['hostname'], 'text'],
  [['dataDir'], 'text'],
  [['domains'], 'list'],
  [['catchAll'], 'text'],
  ...LISTENER_NAMES.map((name): [string[], EnvKind] => [['listen', name], 'listener']),
  [['admin', 'token'], 'text'],
  [['tls', 'cert'], 'text'],
  [['tls', 'key'], 'text'],
  [['auth', 'plaintext'], 'text'],
  [['relay', 'trustedNetworks'], 'list'],
  [['relay', 'popBeforeSmtp'], 'text'],
  [['checks', 'ptr'], 'text'],
  [['dns', 'servers'], 'list'],
  [['dns', 'doh'], 'text'],
  [['delivery', 'port'], 'integer'],
  [['delivery', 'relayHost'], 'text'],
  [['delivery', 'retry'], 'list'],
  [['delivery', 'maxQueueLifetime'], 'text'],
  [['limits', 'maxMessageSize'], 'text'],
  [['limits', 'maxRecipients'], 'integer'],
  [['limits', 'maxConnections'], 'integer'],
  [['limits', 'maxConnectionsPerIp'], 'integer'],
  [['limits', 'idleTimeout'], 'text'],
  [['limits', 'authFailuresPerIp'], 'integer'],
  [['workers', 'threads'], 'integer'],
  [['store', 'segmentSize'], 'text'],
  [['store', 'fsync'], 'text'],
];

/** `limits.maxMessageSize` → `POSTLINE_LIMITS__MAX_MESSAGE_SIZE`. */
function envName(path: string[]): string {
  return 'POSTLINE_' + path.map((key) => key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()).join('__');
}

const ENV_BY_NAME = new Map(ENV_KEYS.map(([path, kind]) => [envName(path), { path, kind }]));

/** POSTLINE_ variables that are not config keys: read by the CLI itself. */
const NOT_CONFIG = new Set(['POSTLINE_CONFIG', 'POSTLINE_LOG_LEVEL', 'POSTLINE_SCRYPT_LN']);

/** Keys that exist but are structured data; an environment variable could not express them. */
const FILE_ONLY = new Set(['POSTLINE_USERS', 'POSTLINE_ALIASES', 'POSTLINE_DELIVERY__ROUTES']);

interface Overridden {
  raw: Record<string, unknown>;
  /** Config path (dotted) → the variable that set it, to name the variable in errors. */
  fromEnv: Map<string, string>;
  errors: string[];
}

/** Writes POSTLINE_* values into a copy of the YAML data, so they are validated exactly like the file. */
function applyEnv(yaml: Record<string, unknown>, env: Record<string, string | undefined>): Overridden {
  const raw = structuredClone(yaml);
  const fromEnv = new Map<string, string>();
  const errors: string[] = [];
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (!name.startsWith('POSTLINE_') || value === undefined || NOT_CONFIG.has(name)) continue;
    const key = ENV_BY_NAME.get(name);
    if (!key) {
      errors.push(`${name}: ${FILE_ONLY.has(name) ? 'cannot be set from the environment; use the config file' : 'unknown configuration key'}`);
      continue;
    }
    const parent = key.path.slice(0, -1).reduce<Record<string, unknown> | null>((obj, k) => {
      if (obj === null) return null;
      if (obj[k] == null) obj[k] = {};
      // A section that is not a mapping is reported by the schema; leave it as the file has it.
      return typeof obj[k] === 'object' && !Array.isArray(obj[k]) ? (obj[k] as Record<string, unknown>) : null;
    }, raw);
    if (parent === null) continue;
    const last = key.path[key.path.length - 1]!;
    parent[last] = envValue(key.kind, value, parent[last]);
    fromEnv.set(key.path.join('.'), name);
  }
  return { raw, fromEnv, errors };
}

function envValue(kind: EnvKind, value: string, current: unknown): unknown {
  switch (kind) {
    case 'text':
      return value;
    case 'integer':
      return /^-?\d+$/.test(value) ? Number(value) : value;
    case 'list':
      return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'listener':
      // Keep proxyProtocol from the file: the variable moves the listener, it does not reconfigure it.
      return current !== null && typeof current === 'object' && !Array.isArray(current) ? { ...current, address: value } : value;
  }
}

/** `users.1.address: problem`; a value set from the environment is named by its variable. */
function formatIssue(issue: Issue, fromEnv: Map<string, string>): string {
  for (let n = issue.path.length; n > 0; n--) {
    const variable = fromEnv.get(issue.path.slice(0, n).join('.'));
    if (variable) return `${variable}: ${issue.message}`;
  }
  return `${issue.path.length === 0 ? 'config' : issue.path.join('.')}: ${issue.message}`;
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
