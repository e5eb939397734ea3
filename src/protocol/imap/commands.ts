/**
 * The IMAP command table: for every command the parser knows, the states it
 * is valid in and its handler. The session checks the state here, in one
 * place, before any handler runs (STYLE.md, protocol code rule 1); handlers
 * only do their work and return a named completion (responses.ts), or null
 * when they answered themselves (STARTTLS: its OK is the go-ahead and must
 * leave before the handshake).
 *
 * States (RFC 3501 §3, §6): CAPABILITY, NOOP, LOGOUT and ID anywhere;
 * STARTTLS, AUTHENTICATE, LOGIN before login; ENABLE in the authenticated
 * state only (RFC 5161 §3.1); the mailbox commands once logged in; the
 * message commands with a mailbox selected.
 */
import { decodePlain } from '../../auth/sasl.js';
import { parseAuthenticateResponse, parseDone, type Command, type CommandName } from '../../codec/imap/index.js';
import type { ImapContext, State } from './context.js';
import * as mailboxes from './mailboxes.js';
import * as messages from './messages.js';
import { Done, Untagged, type Completion } from './responses.js';

type Cmd<N extends CommandName> = Extract<Command, { name: N }>;
type Handler<N extends CommandName> = (ctx: ImapContext, cmd: Cmd<N>) => Completion | null | Promise<Completion | null>;

export interface CommandSpec<N extends CommandName> {
  states: readonly State[];
  handler: Handler<N>;
}

const ANY: readonly State[] = ['not-authenticated', 'authenticated', 'selected'];
const NOT_AUTHENTICATED: readonly State[] = ['not-authenticated'];
const AUTHENTICATED: readonly State[] = ['authenticated', 'selected'];
const SELECTED: readonly State[] = ['selected'];

export const COMMANDS: { readonly [N in CommandName]: CommandSpec<N> } = {
  CAPABILITY: { states: ANY, handler: capability },
  NOOP: { states: ANY, handler: () => Done.noop },
  LOGOUT: { states: ANY, handler: () => Done.logout },
  ID: { states: ANY, handler: id },
  STARTTLS: { states: NOT_AUTHENTICATED, handler: (ctx, cmd) => startTls(ctx, cmd.tag) },
  AUTHENTICATE: { states: NOT_AUTHENTICATED, handler: authenticate },
  LOGIN: { states: NOT_AUTHENTICATED, handler: (ctx, cmd) => (ctx.loginAllowed() ? login(ctx, cmd.username, cmd.password) : Done.privacyRequired) },
  ENABLE: { states: ['authenticated'], handler: enable },
  SELECT: { states: AUTHENTICATED, handler: mailboxes.select },
  EXAMINE: { states: AUTHENTICATED, handler: mailboxes.select },
  CREATE: { states: AUTHENTICATED, handler: mailboxes.create },
  DELETE: { states: AUTHENTICATED, handler: mailboxes.remove },
  RENAME: { states: AUTHENTICATED, handler: mailboxes.rename },
  SUBSCRIBE: { states: AUTHENTICATED, handler: mailboxes.subscribe },
  UNSUBSCRIBE: { states: AUTHENTICATED, handler: mailboxes.subscribe },
  LIST: { states: AUTHENTICATED, handler: mailboxes.list },
  LSUB: { states: AUTHENTICATED, handler: mailboxes.lsub },
  STATUS: { states: AUTHENTICATED, handler: mailboxes.status },
  APPEND: { states: AUTHENTICATED, handler: mailboxes.append },
  NAMESPACE: { states: AUTHENTICATED, handler: namespace },
  IDLE: { states: AUTHENTICATED, handler: idle },
  CHECK: { states: SELECTED, handler: messages.check },
  CLOSE: { states: SELECTED, handler: messages.close },
  UNSELECT: { states: SELECTED, handler: messages.unselect },
  EXPUNGE: { states: SELECTED, handler: messages.expunge },
  SEARCH: { states: SELECTED, handler: messages.search },
  FETCH: { states: SELECTED, handler: messages.fetch },
  STORE: { states: SELECTED, handler: messages.store },
  COPY: { states: SELECTED, handler: messages.copy },
  MOVE: { states: SELECTED, handler: messages.copy },
};

/** The table entry of a command, typed for it (TypeScript cannot correlate COMMANDS[cmd.name] with cmd by itself). */
export function commandSpec<N extends CommandName>(cmd: Cmd<N>): CommandSpec<N> {
  return COMMANDS[cmd.name as N] as CommandSpec<N>;
}

/**
 * RFC 3501 §7.4.1: no EXPUNGE response while answering FETCH, STORE or
 * SEARCH (their UID forms may have them: message numbers are not used).
 */
export function expungeAllowed(cmd: Command): boolean {
  switch (cmd.name) {
    case 'FETCH':
    case 'STORE':
    case 'SEARCH':
      return cmd.uid;
    default:
      return true;
  }
}

function capability(ctx: ImapContext): Completion {
  ctx.out.push(Untagged.capability(ctx.capabilities()));
  return Done.capability;
}

function id(ctx: ImapContext, cmd: Cmd<'ID'>): Completion {
  if (cmd.params !== null) ctx.deps.logger.debug({ conn: ctx.conn.id, clientId: Object.fromEntries(cmd.params) }, 'imap client id');
  // RFC 2971 §3.3: the server's own fields; the name only (a version would tell attackers what to try).
  ctx.out.push(Untagged.id('postline'));
  return Done.id;
}

function enable(ctx: ImapContext): Completion {
  // No extension we offer needs enabling (RFC 5161 §3.1): ENABLED lists none.
  ctx.out.push(Untagged.enabled([]));
  return Done.enable;
}

function namespace(ctx: ImapContext): Completion {
  ctx.out.push(Untagged.namespace);
  return Done.namespace;
}

async function idle(ctx: ImapContext): Promise<Completion> {
  const line = await ctx.idle();
  return line !== null && parseDone(line) ? Done.idle : Done.notIdle;
}

function startTls(ctx: ImapContext, tag: string): Promise<Completion | null> | Completion {
  if (ctx.conn.tls) return Done.tlsActive;
  return ctx.startTls(tag);
}

/** AUTHENTICATE PLAIN (RFC 4616), with SASL-IR (RFC 4959) or after an empty "+ " challenge. */
async function authenticate(ctx: ImapContext, cmd: Cmd<'AUTHENTICATE'>): Promise<Completion> {
  if (cmd.mechanism !== 'PLAIN') return Done.mechanismUnsupported;
  if (!ctx.loginAllowed()) return Done.privacyRequired;
  let response = cmd.initialResponse;
  if (response === null) {
    const line = await ctx.continuation('');
    const parsed = line === null ? ({ kind: 'invalid' } as const) : parseAuthenticateResponse(line);
    // RFC 3501 §6.2.2: "*" cancels, and the server answers BAD.
    if (parsed.kind === 'cancel') return Done.authCancelled;
    if (parsed.kind === 'invalid') return Done.authInvalid('not base64');
    response = parsed.base64;
  }
  const decoded = decodePlain(response);
  if (!decoded.ok) return Done.authInvalid(decoded.problem);
  const { authzid, username, password } = decoded.credentials;
  if (authzid && authzid.toLowerCase() !== username.toLowerCase()) return Done.authzidUnsupported;
  return login(ctx, username, password);
}

async function login(ctx: ImapContext, username: string, password: string): Promise<Completion> {
  const { deps, conn } = ctx;
  const ip = conn.remoteAddress;
  const owner = username.toLowerCase();
  // Asked before verifying: a blocked IP learns nothing about passwords, even a right one.
  if (deps.authLimiter.blocked(ip)) return Done.authBlocked;
  let ok: boolean;
  try {
    ok = await deps.auth.verify(owner, password);
  } catch (err) {
    deps.logger.error({ err, conn: conn.id }, 'auth backend failed');
    return Done.authTemporary;
  }
  if (!ok) {
    deps.authLimiter.recordFailure(ip);
    deps.logger.info({ conn: conn.id, ip }, 'authentication failed');
    return deps.authLimiter.blocked(ip) ? Done.authBlocked : Done.authFailed;
  }
  await deps.mailbox.ensureUser(owner);
  ctx.authenticated(owner);
  deps.onLogin(ip);
  deps.logger.info({ conn: conn.id, user: owner, tls: conn.tls }, 'imap login');
  return Done.loggedIn(ctx.capabilities());
}
