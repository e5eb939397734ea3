/**
 * The POP3 codec: command-line parser and response serializer (with
 * dot-stuffing and TOP for message bodies). Lines are split by the SMTP
 * line framer, re-exported here: the rule is the same (only CRLF ends a
 * line, over-long lines are dropped without being buffered whole).
 */
export { MAX_NUMBER, parseCommand } from './command.js';
export type { CommandErrorKind, ParsedCommand, Pop3Command, Pop3Verb } from './command.js';
export { DotStuffer, formatResponse, topOf } from './response.js';
export type { Pop3Response } from './response.js';
export { LineFramer } from '../smtp/framer.js';
export type { FramerEvent } from '../smtp/framer.js';
