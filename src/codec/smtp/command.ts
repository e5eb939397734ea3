/**
 * Parses one SMTP command line (as produced by LineFramer, CRLF removed) into
 * a typed command. Pure and total: any bytes in, a value out, never a throw.
 * The session owns state and replies; this module only says what was sent.
 *
 * Error kinds and the replies the session is expected to give:
 *   unknown-command   500 5.5.1  verb not recognised (RFC 5321 §4.2.4)
 *   syntax            501 5.5.4  arguments malformed (5.1.7 / 5.1.3 for bad MAIL / RCPT paths)
 *   bad-parameter     555 5.5.4  ESMTP parameter unknown, repeated or malformed (§4.1.1.11)
 *   bare-line-ending  500 5.5.2  a CR or LF inside the line: only CRLF ends a line (§2.3.8)
 *   non-ascii         500 5.5.2, or 553 5.6.7 for a UTF-8 path without SMTPUTF8 (RFC 6531 §3.7.4.1)
 *
 * Tolerances, on purpose: verbs and keywords in any case (§2.4); trailing
 * spaces and runs of spaces between arguments (clients send them; nothing
 * becomes ambiguous); one optional space after `FROM:` / `TO:`; a path
 * without angle brackets (see address.ts).
 */
import { NON_ASCII_PROBLEM, parsePath, splitPathAndParams, type AddressPath, type Path } from './address.js';

export type BodyType = '7BIT' | '8BITMIME' | 'BINARYMIME';
export type NotifyKind = 'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY';

export type MailParams = {
  /** SIZE= declared message size in octets (RFC 1870). */
  size?: number;
  /** BODY= (RFC 6152 8BITMIME, RFC 3030 BINARYMIME). */
  body?: BodyType;
  /** SMTPUTF8 given (RFC 6531 §3.4). */
  smtputf8: boolean;
  /** RET= (RFC 3461 §4.3). */
  ret?: 'FULL' | 'HDRS';
  /** ENVID=, xtext-decoded (RFC 3461 §4.4). */
  envid?: string;
  /** AUTH=, xtext-decoded; '<>' when the client says the identity is unknown (RFC 4954 §5). */
  auth?: string;
};

export type RcptParams = {
  /** NOTIFY= (RFC 3461 §4.1); NEVER only ever alone. */
  notify?: NotifyKind[];
  /** ORCPT=, as `addr-type;address` with the address xtext-decoded (RFC 3461 §4.2). */
  orcpt?: string;
};

export type SmtpCommand =
  | { verb: 'EHLO'; domain: string }
  | { verb: 'HELO'; domain: string }
  | { verb: 'MAIL'; path: Path; params: MailParams }
  | { verb: 'RCPT'; path: AddressPath; params: RcptParams }
  | { verb: 'DATA' }
  | { verb: 'BDAT'; size: number; last: boolean }
  | { verb: 'RSET' }
  | { verb: 'NOOP' }
  | { verb: 'QUIT' }
  | { verb: 'VRFY'; arg: string }
  | { verb: 'EXPN'; arg: string }
  | { verb: 'HELP'; arg: string }
  | { verb: 'STARTTLS' }
  | { verb: 'AUTH'; mechanism: string; initial: string | null };

export type SmtpVerb = SmtpCommand['verb'];

export type CommandErrorKind = 'unknown-command' | 'syntax' | 'bad-parameter' | 'bare-line-ending' | 'non-ascii';

export type ParsedCommand =
  | { ok: true; command: SmtpCommand }
  /** `verb` is set once the verb was recognised, so the session can pick e.g. 501 5.1.7 for MAIL vs 5.1.3 for RCPT. */
  | { ok: false; kind: CommandErrorKind; message: string; verb?: SmtpVerb };

export type ParseCommandOptions = {
  /**
   * UTF-8 may appear in MAIL/RCPT paths (RFC 6531). For MAIL, pass whether
   * SMTPUTF8 is advertised (the MAIL must also carry the SMTPUTF8 parameter);
   * for RCPT, pass whether the current transaction's MAIL had it.
   */
  smtputf8Allowed: boolean;
};

const VERBS: ReadonlySet<string> = new Set<SmtpVerb>([
  'EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'QUIT', 'VRFY', 'EXPN', 'HELP', 'STARTTLS', 'AUTH',
]);

/** BDAT and SIZE values: JavaScript numbers are exact up to here. */
const MAX_OCTET_COUNT = 2n ** 53n;
/** RFC 3461 §4.4: ENVID is at most 100 characters; §4.2: ORCPT at most 500. */
const MAX_ENVID_CHARS = 100;
const MAX_ORCPT_CHARS = 500;

type Fail = Extract<ParsedCommand, { ok: false }>;

function fail(kind: CommandErrorKind, message: string, verb?: SmtpVerb): Fail {
  return verb === undefined ? { ok: false, kind, message } : { ok: false, kind, message, verb };
}

function ok(command: SmtpCommand): ParsedCommand {
  return { ok: true, command };
}

function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

export function parseCommand(line: Buffer, opts: ParseCommandOptions): ParsedCommand {
  // Totality against callers outside the type system: any Uint8Array is read, anything else refused.
  const input: unknown = line;
  if (!(input instanceof Uint8Array)) return fail('syntax', 'not a command line');
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const utf8Allowed = opts?.smtputf8Allowed === true;

  // Byte-level checks come first: they are about the framing, not the command.
  let high = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0d || b === 0x0a) return fail('bare-line-ending', 'bare CR or LF in command line');
    if (b === 0x00) return fail('syntax', 'NUL in command line');
    if (b < 0x20 || b === 0x7f) return fail('syntax', 'control character in command line');
    if (b > 0x7f) high = true;
  }

  // Verbs are ASCII letters, so they can be read before deciding how to decode the rest.
  const sp = bytes.indexOf(0x20);
  const verbBytes = sp === -1 ? bytes : bytes.subarray(0, sp);
  if (verbBytes.length === 0) return fail('syntax', bytes.length === 0 ? 'empty command line' : 'command line starts with a space');
  const verbText = verbBytes.toString('latin1').toUpperCase();
  if (!/^[A-Z]+$/.test(verbText) || !VERBS.has(verbText)) return fail('unknown-command', 'command not recognized');
  const verb = verbText as SmtpVerb;

  let text: string;
  if (high) {
    if (!utf8Allowed) return fail('non-ascii', 'non-ASCII characters need SMTPUTF8', verb);
    text = bytes.toString('utf8');
    // Round-trip check: invalid UTF-8 decodes to U+FFFD and would re-encode differently.
    if (!Buffer.from(text, 'utf8').equals(bytes)) return fail('non-ascii', 'invalid UTF-8 in command line', verb);
  } else {
    text = bytes.toString('latin1');
  }

  // Everything after the verb; trailing spaces are tolerated (see the module comment).
  const arg = (sp === -1 ? '' : text.slice(text.indexOf(' ') + 1)).replace(/ +$/, '');
  if (verb !== 'MAIL' && verb !== 'RCPT' && hasNonAscii(arg)) {
    return fail('non-ascii', 'non-ASCII characters are only allowed in addresses', verb);
  }
  const words = arg.length === 0 ? [] : arg.replace(/^ +/, '').split(/ +/);

  switch (verb) {
    case 'EHLO':
    case 'HELO':
      // RFC 5321 §4.1.1.1 wants a domain or address literal; real clients send
      // odd names (bare hostnames, "localhost"), so any single word is taken
      // and policy may judge it.
      if (words.length === 0) return fail('syntax', `${verb} requires a domain or address literal`, verb);
      if (words.length > 1) return fail('syntax', `${verb} takes exactly one argument`, verb);
      return ok({ verb, domain: words[0]! });
    case 'MAIL':
      return parseMail(arg, utf8Allowed);
    case 'RCPT':
      return parseRcpt(arg, utf8Allowed);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      if (words.length > 0) return fail('syntax', `${verb} takes no argument`, verb);
      return ok({ verb });
    case 'NOOP':
      // "NOOP [ SP String ]" (§4.1.1.9): the argument is allowed and ignored.
      return ok({ verb });
    case 'HELP':
      return ok({ verb, arg: words.join(' ') });
    case 'VRFY':
    case 'EXPN':
      if (words.length === 0) return fail('syntax', `${verb} requires an argument`, verb);
      return ok({ verb, arg: words.join(' ') });
    case 'BDAT':
      return parseBdat(words);
    case 'AUTH':
      return parseAuth(words);
  }
}

/** `BDAT <size> [LAST]` (RFC 3030 §2). */
function parseBdat(words: string[]): ParsedCommand {
  if (words.length === 0 || words.length > 2) return fail('syntax', 'usage: BDAT <size> [LAST]', 'BDAT');
  const size = parseCount(words[0]!);
  if (size === null) return fail('syntax', 'BDAT size must be a non-negative integer', 'BDAT');
  if (words.length === 2 && words[1]!.toUpperCase() !== 'LAST') return fail('syntax', 'usage: BDAT <size> [LAST]', 'BDAT');
  return ok({ verb: 'BDAT', size, last: words.length === 2 });
}

/** `AUTH <mechanism> [initial-response]` (RFC 4954 §4); the SASL layer decodes the base64. */
function parseAuth(words: string[]): ParsedCommand {
  if (words.length === 0 || words.length > 2) return fail('syntax', 'usage: AUTH <mechanism> [initial-response]', 'AUTH');
  // sasl-mech = 1*20 (UPPER-ALPHA / DIGIT / "-" / "_") (RFC 4422 §3.1); clients send lower case too.
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(words[0]!)) return fail('syntax', 'invalid SASL mechanism name', 'AUTH');
  const mechanism = words[0]!.toUpperCase();
  if (words.length === 1) return ok({ verb: 'AUTH', mechanism, initial: null });
  const initial = words[1]!;
  // "=" is a present-but-empty initial response (RFC 4954 §4).
  if (initial === '=') return ok({ verb: 'AUTH', mechanism, initial: '' });
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(initial)) return fail('syntax', 'initial response is not base64', 'AUTH');
  return ok({ verb: 'AUTH', mechanism, initial });
}

/**
 * Splits `FROM:<path> params` / `TO:<path> params` into path text and
 * parameter words. RFC 5321 has no space after the colon; one is tolerated.
 */
function pathArgument(arg: string, keyword: 'FROM:' | 'TO:', verb: 'MAIL' | 'RCPT'): { path: string; params: string[] } | Fail {
  const trimmed = arg.replace(/^ +/, '');
  if (trimmed.slice(0, keyword.length).toUpperCase() !== keyword) return fail('syntax', `usage: ${verb} ${keyword}<address> [parameters]`, verb);
  let rest = trimmed.slice(keyword.length);
  if (rest.startsWith(' ')) rest = rest.slice(1);
  if (rest.length === 0) return fail('syntax', `missing path after ${keyword}`, verb);
  if (rest.startsWith(' ')) return fail('syntax', `more than one space after ${keyword}`, verb);
  const split = splitPathAndParams(rest);
  if (!split.ok) return fail('syntax', split.problem, verb);
  if (hasNonAscii(split.params)) return fail('non-ascii', 'non-ASCII characters in parameters', verb);
  const params = split.params.replace(/^ +/, '');
  return { path: split.path, params: params.length === 0 ? [] : params.split(/ +/) };
}

function pathFailure(problem: string, verb: 'MAIL' | 'RCPT'): Fail {
  return fail(problem === NON_ASCII_PROBLEM ? 'non-ascii' : 'syntax', problem, verb);
}

function parseMail(arg: string, utf8Allowed: boolean): ParsedCommand {
  const parts = pathArgument(arg, 'FROM:', 'MAIL');
  if ('ok' in parts) return parts;
  const params = parseMailParams(parts.params, utf8Allowed);
  if ('ok' in params) return params;
  // RFC 6531 §3.4: a UTF-8 address needs SMTPUTF8 on this very MAIL command,
  // so parameters are read before the path.
  const path = parsePath(parts.path, { smtputf8: utf8Allowed && params.smtputf8 });
  if (!path.ok) return pathFailure(path.problem, 'MAIL');
  if (path.path.kind === 'address' && path.path.domain === '') {
    return fail('syntax', '<postmaster> without a domain is only valid as a recipient', 'MAIL');
  }
  return ok({ verb: 'MAIL', path: path.path, params });
}

function parseRcpt(arg: string, utf8Allowed: boolean): ParsedCommand {
  const parts = pathArgument(arg, 'TO:', 'RCPT');
  if ('ok' in parts) return parts;
  const params = parseRcptParams(parts.params);
  if ('ok' in params) return params;
  const path = parsePath(parts.path, { smtputf8: utf8Allowed });
  if (!path.ok) return pathFailure(path.problem, 'RCPT');
  if (path.path.kind === 'null') return fail('syntax', 'the null path <> is not a valid recipient', 'RCPT');
  return ok({ verb: 'RCPT', path: path.path, params });
}

/**
 * Splits the parameter words into keyword → value, catching the errors common
 * to MAIL and RCPT. esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
 * esmtp-value = 1*(%d33-60 / %d62-126), i.e. printable ASCII without "="
 * (RFC 5321 §4.1.2).
 */
function splitParams(words: string[], verb: 'MAIL' | 'RCPT'): Map<string, string | null> | Fail {
  const out = new Map<string, string | null>();
  for (const word of words) {
    const eq = word.indexOf('=');
    const keyword = (eq === -1 ? word : word.slice(0, eq)).toUpperCase();
    const value = eq === -1 ? null : word.slice(eq + 1);
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) return fail('bad-parameter', `malformed parameter ${JSON.stringify(word)}`, verb);
    if (value !== null && !/^[\x21-\x3c\x3e-\x7e]+$/.test(value)) return fail('bad-parameter', `malformed ${keyword} value`, verb);
    if (out.has(keyword)) return fail('bad-parameter', `duplicate parameter ${keyword}`, verb);
    out.set(keyword, value);
  }
  return out;
}

function parseMailParams(words: string[], utf8Allowed: boolean): MailParams | Fail {
  const map = splitParams(words, 'MAIL');
  if (!(map instanceof Map)) return map;
  const params: MailParams = { smtputf8: false };
  const bad = (message: string) => fail('bad-parameter', message, 'MAIL');
  for (const [keyword, value] of map) {
    switch (keyword) {
      case 'SIZE': {
        const size = value === null ? null : parseCount(value);
        if (size === null) return bad('malformed SIZE value');
        params.size = size;
        break;
      }
      case 'BODY': {
        const body = value?.toUpperCase();
        if (body !== '7BIT' && body !== '8BITMIME' && body !== 'BINARYMIME') return bad('malformed BODY value');
        params.body = body;
        break;
      }
      case 'SMTPUTF8':
        if (!utf8Allowed) return bad('unknown parameter SMTPUTF8');
        if (value !== null) return bad('SMTPUTF8 takes no value');
        params.smtputf8 = true;
        break;
      case 'RET': {
        const ret = value?.toUpperCase();
        if (ret !== 'FULL' && ret !== 'HDRS') return bad('malformed RET value');
        params.ret = ret;
        break;
      }
      case 'ENVID': {
        const envid = value === null || value.length > MAX_ENVID_CHARS ? null : decodeXtext(value);
        if (envid === null) return bad('malformed ENVID value');
        params.envid = envid;
        break;
      }
      case 'AUTH': {
        // RFC 4954 §5: AUTH=<> or an xtext-encoded mailbox.
        const auth = value === null ? null : value === '<>' ? '<>' : decodeXtext(value);
        if (auth === null) return bad('malformed AUTH value');
        params.auth = auth;
        break;
      }
      default:
        return bad(`unknown parameter ${keyword}`);
    }
  }
  return params;
}

function parseRcptParams(words: string[]): RcptParams | Fail {
  const map = splitParams(words, 'RCPT');
  if (!(map instanceof Map)) return map;
  const params: RcptParams = {};
  const bad = (message: string) => fail('bad-parameter', message, 'RCPT');
  for (const [keyword, value] of map) {
    switch (keyword) {
      case 'NOTIFY': {
        const notify = value === null ? null : parseNotify(value);
        if (notify === null) return bad('malformed NOTIFY value');
        params.notify = notify;
        break;
      }
      case 'ORCPT': {
        const orcpt = value === null || value.length > MAX_ORCPT_CHARS ? null : parseOrcpt(value);
        if (orcpt === null) return bad('malformed ORCPT value');
        params.orcpt = orcpt;
        break;
      }
      default:
        return bad(`unknown parameter ${keyword}`);
    }
  }
  return params;
}

/** NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) (RFC 3461 §4.1). */
function parseNotify(value: string): NotifyKind[] | null {
  const items = value.toUpperCase().split(',');
  const seen = new Set<NotifyKind>();
  for (const item of items) {
    if (item !== 'NEVER' && item !== 'SUCCESS' && item !== 'FAILURE' && item !== 'DELAY') return null;
    if (seen.has(item)) return null;
    seen.add(item);
  }
  if (seen.has('NEVER') && seen.size > 1) return null;
  return [...seen];
}

/** ORCPT = addr-type ";" xtext, addr-type an atom such as rfc822 or utf-8 (RFC 3461 §4.2, RFC 6533). */
function parseOrcpt(value: string): string | null {
  const semi = value.indexOf(';');
  if (semi <= 0) return null;
  const type = value.slice(0, semi);
  if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/.test(type)) return null;
  const address = decodeXtext(value.slice(semi + 1));
  if (address === null || address.length === 0) return null;
  return `${type};${address}`;
}

/**
 * xtext (RFC 3461 §4): printable ASCII except "+" and "=", which travel as
 * "+" and two upper-case hex digits. Decoded text must itself be printable
 * ASCII (a "+00" NUL has no business in an envelope id or address).
 */
export function decodeXtext(value: string): string | null {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x2b /* + */) {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      const decoded = parseInt(hex, 16);
      if (decoded < 0x20 || decoded > 0x7e) return null;
      out += String.fromCharCode(decoded);
      i += 2;
    } else if (c < 0x21 || c > 0x7e || c === 0x3d /* = */) {
      return null;
    } else {
      out += value[i];
    }
  }
  return out;
}

/** A decimal octet count, 0 ≤ n ≤ 2^53 (BDAT sizes, SIZE=); null when malformed or too big. */
function parseCount(text: string): number | null {
  if (!/^[0-9]{1,20}$/.test(text)) return null;
  const n = BigInt(text);
  return n > MAX_OCTET_COUNT ? null : Number(n);
}
