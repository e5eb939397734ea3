/**
 * MIME for the IMAP server: parse a stored message once (structure.ts), then
 * render ENVELOPE / BODY / BODYSTRUCTURE (imap-format.ts), cut BODY[section]
 * bytes (sections.ts) and get decoded text for SEARCH (search-text.ts).
 * Everything here is pure and its results are plain data, so it can run in
 * a worker thread.
 */
export {
  isMultipart,
  MIME_LIMITS,
  paramValue,
  parseMessage,
  type Address,
  type Disposition,
  type EncapsulatedMessage,
  type Envelope,
  type MimeInfo,
  type MimeLimits,
  type MimePart,
  type Param,
} from './structure.js';
export { MISSING_DOMAIN, MISSING_MAILBOX } from './address.js';
export { bodyStructureString, envelopeString, formatEnvelope, imapString } from './imap-format.js';
export { findPart, parseSection, partialBytes, sectionBytes, type Section, type SectionKind } from './sections.js';
export {
  bodyText,
  containsText,
  decodeEncodedWords,
  decodeQuotedPrintable,
  headerText,
  headerValue,
  MAX_BODY_TEXT_CHARS,
  parseRfc5322Date,
  sentDate,
  type ParsedDate,
} from './search-text.js';
export { decodeCharset } from './encoded-word.js';
