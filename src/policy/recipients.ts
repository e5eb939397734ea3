/**
 * Who may send as whom, and where each RCPT goes (SPEC §4.1, §4.2). Pure
 * decisions over the config and the user directory: the SMTP session asks,
 * gets a Verdict, and maps its reason to a reply.
 *
 * Relay safety rests on one rule: a recipient is routed by its final
 * domain and nothing else. The local part is never parsed for routing
 * (no `%` hack, no bang path, no `@` inside quotes) and the source route is
 * dropped (RFC 5321 §3.6.1 and Appendix C allow ignoring it). So an address
 * at a local domain can only ever become a local mailbox or be refused, and
 * only mayRelay() clients get a remote recipient they typed.
 */
import type { Config } from '../config/types.js';
import type { NetworkList } from './networks.js';
import type { PopBeforeSmtp } from './pop-before-smtp.js';
import type { DnsResolver } from '../dns/index.js';
import { checkPtr } from './ptr-check.js';
import { accept, defer, reject, type Verdict } from './verdict.js';

/** The user directory as policy sees it; UserDirectory satisfies it (has() is case-insensitive there). */
export interface UserLookup {
  has(address: string): boolean;
}

export interface ClientContext {
  ip: string;
  /** The authenticated user's address, or null before/without AUTH. */
  authenticatedAs: string | null;
  tls: boolean;
}

export type Recipient =
  | { kind: 'local'; /** the address whose mailbox receives it */ mailbox: string; original: string }
  | { kind: 'remote'; address: string; domain: string };

export interface SenderAddress {
  address: string;
  local: string;
  domain: string;
}

export interface RecipientAddress extends SenderAddress {
  quotedLocal: boolean;
  route: string[];
}

export type PolicyConfig = Pick<Config, 'domains' | 'aliases' | 'catchAll' | 'relay' | 'limits'> & { checks?: Config['checks'] };

export interface MailPolicyDeps {
  config: PolicyConfig;
  users: UserLookup;
  popBeforeSmtp: PopBeforeSmtp;
  trusted: NetworkList;
  /** For checks.ptr; without it the check is off. */
  resolver?: DnsResolver;
}

/**
 * Alias hops followed before giving up. One hop is the common case; a few
 * allow `abuse → postmaster → someone`. The cap (with the loop check) keeps a
 * bad config from costing more than a few map lookups per RCPT.
 */
export const MAX_ALIAS_HOPS = 8;

/** Result of following users and aliases from an address: where it ends, or why it did not. */
type Resolution = { kind: 'found'; address: string } | { kind: 'none' } | { kind: 'loop'; detail: string };

export class MailPolicy {
  private domains: ReadonlySet<string> = new Set();
  private aliases: ReadonlyMap<string, string> = new Map();
  private catchAll: string | null = null;
  private maxRecipients = 0;
  private maxMessageSize = 0;

  constructor(private deps: MailPolicyDeps) {
    this.reconfigure(deps.config, deps.trusted);
  }

  /** A new config (SIGHUP): the next command of every session sees it. */
  reconfigure(config: PolicyConfig, trusted: NetworkList): void {
    this.deps = { ...this.deps, config, trusted };
    // The validator already lower-cases these; doing it again is cheap and
    // keeps policy correct if it is ever handed a hand-built config.
    this.domains = new Set(config.domains.map(canonicalDomain));
    this.aliases = new Map(Object.entries(config.aliases).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()]));
    this.catchAll = config.catchAll === null ? null : config.catchAll.toLowerCase();
    this.maxRecipients = config.limits.maxRecipients;
    this.maxMessageSize = config.limits.maxMessageSize;
  }

  isLocalDomain(domain: string): boolean {
    return this.domains.has(canonicalDomain(domain));
  }

  /** Relaying (a non-local recipient) needs AUTH, a trusted network, or a recent POP3/IMAP login. */
  mayRelay(client: ClientContext): boolean {
    return client.authenticatedAs !== null || this.deps.trusted.contains(client.ip) || this.deps.popBeforeSmtp.allows(client.ip);
  }

  /**
   * MAIL FROM. Authenticated clients may send only as themselves or as an
   * address that delivers to them through aliases (SPEC §4.1). The null
   * sender is allowed for everyone: bounces and auto-replies legitimately use
   * it, and it cannot impersonate anyone. Unauthenticated clients (the MX
   * port) may claim any sender; PTR checks (§4.3) are a separate step.
   */
  checkSender(client: ClientContext, sender: SenderAddress | null): Verdict {
    if (client.authenticatedAs === null || sender === null) return accept();
    const me = client.authenticatedAs.toLowerCase();
    const claimed = mailboxKey(sender.local, sender.domain);
    if (claimed === me) return accept();
    // Only users and aliases count here, never the catch-all: owning the
    // catch-all must not let someone send as every address of the domain.
    const r = this.resolve(claimed);
    if (r.kind === 'found' && r.address === me) return accept();
    return reject('sender-not-owned', `${me} may not send as ${claimed}`);
  }

  /**
   * checks.ptr on the MX port (SPEC §4.3). Never for authenticated or
   * trusted clients: they are known, and a home connection without a PTR
   * record must still be able to submit. null = nothing to check.
   */
  checkClientHost(client: ClientContext, senderDomain: string | null): Promise<Verdict> | null {
    const mode = this.deps.config.checks?.ptr ?? 'off';
    if (mode === 'off' || !this.deps.resolver) return null;
    if (client.authenticatedAs !== null || this.deps.trusted.contains(client.ip)) return null;
    return checkPtr(mode, client.ip, senderDomain, this.deps.resolver);
  }

  /**
   * RCPT TO. `countSoFar` is the number of recipients already accepted in
   * this transaction. The route is deliberately not read: see the header.
   */
  checkRecipient(client: ClientContext, rcpt: RecipientAddress, countSoFar: number): Verdict<Recipient> {
    // An explicit 0 stays 0 (STYLE): maxRecipients 0 accepts no recipient.
    if (countSoFar >= this.maxRecipients) return reject('too-many-recipients', `limit ${this.maxRecipients}`);
    let domain = canonicalDomain(rcpt.domain);
    const original = withoutRoute(rcpt.address);
    // RFC 5321 §4.1.1.3: the bare <postmaster> is the postmaster of this host.
    if (domain === '' && rcpt.local.toLowerCase() === 'postmaster' && this.domains.size > 0) domain = [...this.domains][0]!;
    if (domain === '') return reject('unknown-user', `no domain in ${original}`);
    if (this.domains.has(domain)) return this.localRecipient(mailboxKey(rcpt.local, domain), original);
    if (!this.mayRelay(client)) return reject('relay-denied', `${client.ip} to ${domain}`);
    return accept({ kind: 'remote', address: original, domain });
  }

  /** SIZE= at MAIL, and the received byte count during DATA/BDAT. An explicit 0 stays 0. */
  checkMessageSize(bytes: number): Verdict {
    return bytes > this.maxMessageSize ? reject('message-too-big', `${bytes} > ${this.maxMessageSize}`) : accept();
  }

  /**
   * `key` is looked up literally: a `%`, `!` or quoted `@` in the local part
   * is just a character of a (normally nonexistent) local name, so such
   * addresses end at a user, an alias, the catch-all, or unknown-user —
   * never at another domain.
   */
  private localRecipient(key: string, original: string): Verdict<Recipient> {
    let r = this.resolve(key);
    if (r.kind === 'none' && this.catchAll !== null) {
      r = this.resolve(this.catchAll);
      // The catch-all need not be a user yet (its mailbox is made on first
      // delivery); the operator named it, so it is delivered to as written.
      if (r.kind === 'none') r = { kind: 'found', address: this.catchAll };
    }
    // RFC 5321 §4.5.1: every domain MUST accept "postmaster" (case-insensitive).
    // Without a user, alias or catch-all for it, it gets a mailbox of its own.
    if (r.kind === 'none' && key.slice(0, key.lastIndexOf('@')).toLowerCase() === 'postmaster') r = { kind: 'found', address: key.toLowerCase() };
    switch (r.kind) {
      case 'none':
        return reject('unknown-user', hasRelayTrick(key) ? `${key} (relay-trick syntax, not routed)` : key);
      case 'loop':
        // A config mistake, not the sender's: defer so no mail is lost while the operator fixes it.
        return defer('temporary-failure', r.detail);
      case 'found':
        return this.deliverTo(r.address, original);
    }
  }

  /** An alias may point outside our domains (a forward the operator configured): then it is a remote recipient. */
  private deliverTo(address: string, original: string): Verdict<Recipient> {
    const domain = domainOf(address);
    return this.domains.has(domain) ? accept({ kind: 'local', mailbox: address, original }) : accept({ kind: 'remote', address, domain });
  }

  /**
   * Follows the address through users and aliases. A user ends the chain
   * (a user's own mailbox wins over an alias of the same name); so does an
   * alias target that is neither user nor alias (the operator named it).
   */
  private resolve(address: string): Resolution {
    let current = address;
    const seen = new Set([current]);
    for (let hops = 0; hops <= MAX_ALIAS_HOPS; hops++) {
      if (this.deps.users.has(current)) return { kind: 'found', address: current };
      const target = this.aliases.get(current);
      if (target === undefined) return hops === 0 ? { kind: 'none' } : { kind: 'found', address: current };
      if (seen.has(target)) return { kind: 'loop', detail: `alias loop at ${target} (from ${address})` };
      seen.add(target);
      current = target;
    }
    return { kind: 'loop', detail: `alias chain from ${address} longer than ${MAX_ALIAS_HOPS} hops` };
  }
}

/** Lower-case, and `example.org.` (absolute form) is `example.org`: otherwise a trailing dot would make a local domain look remote. */
function canonicalDomain(domain: string): string {
  const d = domain.toLowerCase();
  return d.endsWith('.') ? d.slice(0, -1) : d;
}

/** Local parts are matched case-insensitively, as Postfix and Dovecot users expect. */
function mailboxKey(local: string, domain: string): string {
  return `${local.toLowerCase()}@${canonicalDomain(domain)}`;
}

function domainOf(address: string): string {
  return canonicalDomain(address.slice(address.lastIndexOf('@') + 1));
}

/**
 * The mailbox without any `@a,@b:` source route, in case the parser kept it
 * in `address`: a route must never reach the queue. A quoted local part may
 * contain ':' too, but never starts with '@' — so only a leading route is cut.
 */
function withoutRoute(address: string): string {
  return address.startsWith('@') ? address.slice(address.indexOf(':') + 1) : address;
}

function hasRelayTrick(key: string): boolean {
  const local = key.slice(0, key.lastIndexOf('@'));
  return /[%!@]/.test(local);
}
