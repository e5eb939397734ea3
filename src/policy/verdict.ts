/**
 * The vocabulary of policy decisions (STYLE "Policy returns verdicts").
 * Policy never formats replies: it names a reason, and the protocol session
 * maps each reason to its wire reply in one table. The reasons are closed
 * string unions so that table can be an exhaustive `Record<Reason, Reply>`;
 * adding a reason here makes every such table fail to compile until mapped.
 *
 * `detail` is for logs only (e.g. which address or network); sessions must
 * not echo it to clients (client text reveals no configuration).
 */

export type RejectReason =
  | 'unknown-user'
  | 'relay-denied'
  | 'sender-not-owned'
  | 'relay-trick'
  | 'too-many-recipients'
  | 'message-too-big'
  | 'auth-required'
  | 'bad-sender-domain'
  /** §4.3 PTR check failed (no PTR, PTR not confirmed forward, or not the sender's domain). */
  | 'ptr-mismatch';

/** 'dns-temporary': a DNS lookup a check depends on timed out or got SERVFAIL; the client should retry. */
export type DeferReason = 'temporary-failure' | 'dns-temporary';

export type DisconnectReason = 'too-many-connections' | 'too-many-connections-from-ip' | 'auth-failures';

export type Accept<T> = { kind: 'accept'; value: T };
export type Reject = { kind: 'reject'; reason: RejectReason; detail?: string };
export type Defer = { kind: 'defer'; reason: DeferReason; detail?: string };
export type Disconnect = { kind: 'disconnect'; reason: DisconnectReason; detail?: string };

/** Every outcome that is not an accept; what the session's reply table consumes. */
export type Refusal = Reject | Defer | Disconnect;

export type Verdict<T = void> = Accept<T> | Refusal;

export function accept(): Accept<void>;
export function accept<T>(value: T): Accept<T>;
export function accept<T>(value?: T): Accept<T | undefined> {
  return { kind: 'accept', value };
}

// `detail` is left out rather than set to undefined, so verdicts compare
// cleanly with deepStrictEqual and log without noise.
export function reject(reason: RejectReason, detail?: string): Reject {
  return detail === undefined ? { kind: 'reject', reason } : { kind: 'reject', reason, detail };
}

export function defer(reason: DeferReason, detail?: string): Defer {
  return detail === undefined ? { kind: 'defer', reason } : { kind: 'defer', reason, detail };
}

export function disconnect(reason: DisconnectReason, detail?: string): Disconnect {
  return detail === undefined ? { kind: 'disconnect', reason } : { kind: 'disconnect', reason, detail };
}

export function isAccept<T>(v: Verdict<T>): v is Accept<T> {
  return v.kind === 'accept';
}
