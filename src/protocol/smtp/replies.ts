/**
 * Every SMTP reply postline sends, by name: code, enhanced status code
 * (RFC 3463 / RFC 5248), text. Handlers return these values; only the
 * session turns them into bytes. Client-visible text reveals nothing about
 * configuration; logs carry the detail.
 */
export interface Reply {
  code: number;
  enhanced: string | null;
  lines: string[];
  /** Close the connection after sending. */
  close?: boolean;
}

const r = (code: number, enhanced: string | null, text: string, close = false): Reply => ({ code, enhanced, lines: [text], close });

export const Replies = {
  greeting: (hostname: string): Reply => ({ code: 220, enhanced: null, lines: [`${hostname} ESMTP postline`] }),
  helo: (hostname: string, client: string): Reply => ({ code: 250, enhanced: null, lines: [`${hostname} Hello ${client}`] }),
  ehlo: (hostname: string, client: string, extensions: string[]): Reply => ({ code: 250, enhanced: null, lines: [`${hostname} Hello ${client}`, ...extensions] }),
  ok: r(250, '2.0.0', 'OK'),
  senderOk: r(250, '2.1.0', 'Sender OK'),
  recipientOk: r(250, '2.1.5', 'Recipient OK'),
  queued: (id: string): Reply => r(250, '2.0.0', `OK: queued as ${id}`),
  chunkOk: (bytes: number): Reply => r(250, '2.0.0', `${bytes} octets received`),
  resetOk: r(250, '2.0.0', 'Reset state'),
  noopOk: r(250, '2.0.0', 'OK'),
  bye: (hostname: string): Reply => r(221, '2.0.0', `${hostname} closing connection`, true),
  vrfy: r(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  help: r(214, '2.0.0', 'See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH'),
  startData: r(354, null, 'End data with <CR><LF>.<CR><LF>'),
  readyToStartTls: r(220, '2.0.0', 'Ready to start TLS'),
  authContinue: (challenge: string): Reply => ({ code: 334, enhanced: null, lines: [challenge] }),
  authOk: r(235, '2.7.0', 'Authentication successful'),

  // 4xx: try again later
  tooManyConnections: r(421, '4.7.0', 'Too many connections, try again later', true),
  tooManyConnectionsFromIp: r(421, '4.7.0', 'Too many connections from your address, try again later', true),
  authBlocked: r(421, '4.7.0', 'Too many authentication failures from your address, try again later', true),
  idleTimeout: (hostname: string): Reply => r(421, '4.4.2', `${hostname} Error: timeout exceeded`, true),
  shuttingDown: (hostname: string): Reply => r(421, '4.3.2', `${hostname} Service shutting down`, true),
  storageTemporary: r(451, '4.3.0', 'Temporary failure storing the message, try again later'),
  // RFC 3463 X.3.1 "mail system full"; 452 is RFC 5321's "insufficient system storage".
  storageFull: r(452, '4.3.1', 'Insufficient system storage, try again later'),
  tooManyRecipients: r(452, '4.5.3', 'Too many recipients'),
  tlsNotAvailable: r(454, '4.7.0', 'TLS not available'),
  authTemporary: r(454, '4.7.0', 'Temporary authentication failure'),
  dnsTemporary: r(451, '4.4.3', 'Temporary DNS failure, try again later'),

  // 5xx: permanent
  lineTooLong: r(500, '5.5.2', 'Line too long'),
  unknownCommand: r(500, '5.5.2', 'Command unrecognized'),
  syntax: (what: string): Reply => r(501, '5.5.4', `Syntax error: ${what}`),
  badSenderSyntax: (what: string): Reply => r(501, '5.1.7', `Bad sender address syntax: ${what}`),
  badRecipientSyntax: (what: string): Reply => r(501, '5.1.3', `Bad recipient address syntax: ${what}`),
  bareLineEndingCommand: r(500, '5.5.2', 'Bare CR or LF in command line'),
  notImplemented: r(502, '5.5.1', 'Command not implemented'),
  badSequence: (what: string): Reply => r(503, '5.5.1', `Bad sequence of commands: ${what}`),
  noValidRecipients: r(503, '5.5.1', 'No valid recipients'),
  mechanismUnsupported: r(504, '5.5.4', 'Unrecognized authentication mechanism'),
  authRequired: r(530, '5.7.0', 'Authentication required'),
  mustStartTls: r(530, '5.7.0', 'Must issue a STARTTLS command first'),
  authFailed: r(535, '5.7.8', 'Authentication credentials invalid'),
  unknownUser: r(550, '5.1.1', 'Recipient address rejected: user unknown'),
  relayDenied: r(554, '5.7.1', 'Relay access denied'),
  ptrMismatch: r(550, '5.7.25', 'Reverse DNS of your IP address does not match'),
  senderNotOwned: r(553, '5.7.1', 'Sender address not owned by authenticated user'),
  badAddress: (what: string): Reply => r(553, '5.1.3', `Bad address syntax: ${what}`),
  badParameter: (what: string): Reply => r(555, '5.5.4', `Unsupported or malformed parameter: ${what}`),
  messageTooBig: r(552, '5.3.4', 'Message size exceeds fixed limit'),
  bareLineEndingData: r(550, '5.6.0', 'Message contains a bare CR or LF; only CRLF line endings are allowed (RFC 5321 2.3.8)'),
  tooManyHops: r(554, '5.4.6', 'Too many hops (mail loop)'),
  smtputf8Required: r(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8'),
  tooManyErrors: r(421, '4.7.0', 'Too many errors, closing connection', true),
} as const;
