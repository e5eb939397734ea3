/**
 * Parses one POP3 command line (RFC 1939 §3, RFC 2449, RFC 2595, RFC 5034)
 * into a typed command. Pure and total: any bytes in, a command or an error
 * value out, never a throw. Splitting the stream into lines is the framer's
 * job (src/codec/smtp/framer.ts: only CRLF ends a line, as RFC 1939 says);
 * the line length cap and the replies are the session's.
 *
 * Syntax: a keyword of 3–4 letters, case-insensitive, then arguments
 * separated by spaces. We tolerate runs of spaces and trailing spaces
 * (some clients send "STAT "), but never control characters: a NUL, CR, LF
 * or other control byte anywhere makes the line 'bad-bytes'. Only USER and
 * PASS carry free text (addresses and passwords may be UTF-8); everything
 * else must be ASCII. PASS takes the rest of the line, spaces included
 * (RFC 1939 §7: "the server may treat spaces in the argument as part of
 * the password").
 */

export type Pop3Command =
  | { verb: 'USER'; name: string }
  | { verb: 'PASS'; password: string }
  /** Parsed only so it can be refused by name: we offer no APOP (it needs plaintext-equivalent secrets). */
  | { verb: 'APOP' }
  /** `mechanism` null: bare "AUTH", the pre-RFC 5034 request to list mechanisms (some clients still send it). */
  | { verb: 'AUTH'; mechanism: string | null; initial: string | null }
  | { verb: 'STAT' }
  | { verb: 'LIST'; msg: number | null }
  | { verb: 'RETR'; msg: number }
  | { verb: 'TOP'; msg: number; lines: number }
  | { verb: 'UIDL'; msg: number | null }
  | { verb: 'DELE'; msg: number }
  | { verb: 'NOOP' }
  | { verb: 'RSET' }
  | { verb: 'QUIT' }
  | { verb: 'CAPA' }
  | { verb: 'STLS' };

export type Pop3Verb = Pop3Command['verb'];

export type CommandErrorKind = 'unknown-command' | 'syntax' | 'bad-bytes';

export type ParsedCommand = { ok: true; command: Pop3Command } | { ok: false; kind: CommandErrorKind; verb: Pop3Verb | null; message: string };

/**
 * Largest message number or TOP line count we accept. A maildrop cannot hold
 * more than 2^32 UIDs; anything above 2^31-1 is a typo or an attack on
 * someone's integer parsing, not a request.
 */
export const MAX_NUMBER = 0x7fffffff;

const VERBS: ReadonlySet<string> = new Set<Pop3Verb>(['USER', 'PASS', 'APOP', 'AUTH', 'STAT', 'LIST', 'RETR', 'TOP', 'UIDL', 'DELE', 'NOOP', 'RSET', 'QUIT', 'CAPA', 'STLS']);
const NO_ARGS = new Set<Pop3Verb>(['STAT', 'NOOP', 'RSET', 'QUIT', 'CAPA', 'STLS']);
/** RFC 4422 §3.1 mechanism names: 1–20 of A-Z 0-9 - _. */
const MECHANISM = /^[A-Z0-9_-]{1,20}$/;
const DIGITS = /^[0-9]{1,10}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseCommand(line: Uint8Array): ParsedCommand {
  return parseRetr(line) ?? parseAny(line);
}

/**
 * "RETR n" read straight from the bytes: a client downloading a maildrop
 * sends thousands of them back to back, and the general path (decode,
 * split, regular expressions) cost ~1.6 µs each, about a tenth of serving
 * a pipelined 4 KB message. Anything but the plain form (a keyword in any
 * case, one space, 1–10 digits, a number within 1..MAX_NUMBER) returns
 * null and goes the general way, which gives the same answer for the plain
 * form too (the property test in test/unit/codec/pop3 checks both agree).
 */
function parseRetr(line: Uint8Array): ParsedCommand | null {
  const len = line.length;
  if (len < 6 || len > 15 || line[4] !== 0x20) return null;
  // ASCII letters fold to upper case by clearing bit 5.
  if ((line[0]! & 0xdf) !== 0x52 || (line[1]! & 0xdf) !== 0x45 || (line[2]! & 0xdf) !== 0x54 || (line[3]! & 0xdf) !== 0x52) return null;
  let msg = 0;
  for (let i = 5; i < len; i++) {
    const d = line[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    msg = msg * 10 + d;
  }
  return msg === 0 || msg > MAX_NUMBER ? null : { ok: true, command: { verb: 'RETR', msg } };
}

/** Every command, the general way. Exported for the property test against parseRetr. */
export function parseAny(line: Uint8Array): ParsedCommand {
  let highBytes = false;
  for (let i = 0; i < line.length; i++) {
    const b = line[i]!;
    if (b < 0x20 || b === 0x7f) return fail('bad-bytes', null, b === 0 ? 'NUL in command' : 'control character in command');
    if (b >= 0x80) highBytes = true;
  }
  // One decode of the whole line (every command but USER/PASS is ASCII; those two are decoded again as UTF-8).
  const text = latin1(line);
  const space = text.indexOf(' ');
  const keyword = (space === -1 ? text : text.slice(0, space)).toUpperCase();
  if (keyword.length === 0) return fail('syntax', null, 'empty command');
  if (!VERBS.has(keyword)) return fail('unknown-command', null, 'unknown command');
  const verb = keyword as Pop3Verb;

  if (verb === 'USER' || verb === 'PASS') {
    const argument = decodeUtf8(space === -1 ? new Uint8Array(0) : line.subarray(space + 1));
    if (argument === null) return fail('bad-bytes', verb, 'argument is not valid UTF-8');
    if (verb === 'PASS') return argument.length === 0 ? fail('syntax', verb, 'PASS needs a password') : ok({ verb, password: argument });
    const args = words(argument);
    if (args.length !== 1) return fail('syntax', verb, 'USER takes one argument: the address');
    return ok({ verb, name: args[0]! });
  }

  // The keyword is ASCII (it matched), so any high byte is in the arguments.
  if (highBytes) return fail('bad-bytes', verb, 'non-ASCII argument');
  const args = space === -1 ? [] : words(text.slice(space + 1));
  if (NO_ARGS.has(verb)) {
    if (args.length > 0) return fail('syntax', verb, `${verb} takes no arguments`);
    return ok({ verb } as Pop3Command);
  }
  switch (verb) {
    case 'APOP':
      return ok({ verb });
    case 'AUTH': {
      if (args.length === 0) return ok({ verb, mechanism: null, initial: null });
      if (args.length > 2) return fail('syntax', verb, 'AUTH takes a mechanism and an optional initial response');
      const mechanism = args[0]!.toUpperCase();
      if (!MECHANISM.test(mechanism)) return fail('syntax', verb, 'invalid mechanism name');
      return ok({ verb, mechanism, initial: args[1] ?? null });
    }
    case 'LIST':
    case 'UIDL': {
      if (args.length > 1) return fail('syntax', verb, `${verb} takes at most one message number`);
      if (args.length === 0) return ok({ verb, msg: null });
      const msg = messageNumber(args[0]!);
      return msg === null ? fail('syntax', verb, 'invalid message number') : ok({ verb, msg });
    }
    case 'RETR':
    case 'DELE': {
      if (args.length !== 1) return fail('syntax', verb, `${verb} takes one message number`);
      const msg = messageNumber(args[0]!);
      return msg === null ? fail('syntax', verb, 'invalid message number') : ok({ verb, msg });
    }
    case 'TOP': {
      if (args.length !== 2) return fail('syntax', verb, 'TOP takes a message number and a line count');
      const msg = messageNumber(args[0]!);
      if (msg === null) return fail('syntax', verb, 'invalid message number');
      const lines = decimal(args[1]!);
      return lines === null ? fail('syntax', verb, 'invalid line count') : ok({ verb, msg, lines });
    }
    default:
      // Every verb with arguments is handled above; this keeps the function total if VERBS grows.
      return fail('unknown-command', null, 'unknown command');
  }
}

/** A message number: positive decimal within MAX_NUMBER (RFC 1939 §3: message numbers start at 1). */
function messageNumber(text: string): number | null {
  const n = decimal(text);
  return n === null || n === 0 ? null : n;
}

/** Non-negative decimal, at most MAX_NUMBER; no sign, no exponent, no hex. */
function decimal(text: string): number | null {
  if (!DIGITS.test(text)) return null;
  const n = Number(text);
  return n <= MAX_NUMBER ? n : null;
}

function words(text: string): string[] {
  return text.split(' ').filter((w) => w.length > 0);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

function ok(command: Pop3Command): ParsedCommand {
  return { ok: true, command };
}

function fail(kind: CommandErrorKind, verb: Pop3Verb | null, message: string): ParsedCommand {
  return { ok: false, kind, verb, message };
}
