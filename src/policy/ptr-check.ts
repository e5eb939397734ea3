/**
 * The MX-port PTR checks of SPEC §4.3 (`checks.ptr`), as a verdict:
 *
 *   fcrdns         the client IP has a PTR name that resolves (A for IPv4,
 *                  AAAA for IPv6) back to that same IP — forward-confirmed
 *                  reverse DNS (RFC 8601 §3 "iprev")
 *   sender-domain  fcrdns, and one confirmed PTR name has the same
 *                  registrable domain (Public Suffix List) as MAIL FROM;
 *                  the null sender `<>` gets fcrdns only
 *
 * Refusal → reject('ptr-mismatch') (550 5.7.25, RFC 7372); a DNS lookup that
 * timed out or got SERVFAIL and left the outcome open → defer('dns-temporary')
 * (451 4.4.3), so a legitimate sender retries instead of bouncing.
 */
import { domainToASCII } from 'node:url';
import { getDomain } from 'tldts';
import type { Config } from '../config/types.js';
import type { DnsResolver } from '../dns/types.js';
import { canonicalIp } from '../dns/names.js';
import { accept, defer, reject, type Verdict } from './verdict.js';

export type PtrCheckMode = Config['checks']['ptr'];

// A host with many PTR names gets only the first ones forward-checked, which
// bounds the lookups one client can cause (the same limit as SPF's "ptr"
// mechanism, RFC 7208 §5.5).
export const MAX_PTR_NAMES = 10;

/**
 * Runs the §4.3 check for one MAIL FROM. `senderDomain` is the MAIL FROM
 * domain, or null for the null sender.
 *
 * Not for authenticated clients or clients in relay.trustedNetworks (nor
 * POP-before-SMTP ones): the SPEC applies these checks to strangers on the MX
 * port only, and the caller — the SMTP session — decides who is a stranger.
 * This function checks whoever it is given.
 *
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, from dual-stack sockets) is checked
 * as the IPv4 address. `resolver` should be the shared cache, so a client's
 * repeated MAIL FROMs cost no queries.
 */
export async function checkPtr(mode: PtrCheckMode, clientIp: string, senderDomain: string | null, resolver: DnsResolver): Promise<Verdict> {
  if (mode === 'off') return accept();
  const ip = canonicalIp(clientIp);
  if (ip === null) return reject('ptr-mismatch', `client address ${clientIp} is not an IP`);

  const ptr = await resolver.ptr(ip);
  if (ptr.kind === 'temporary') return defer('dns-temporary', `PTR ${ip}: ${ptr.detail}`);
  if (ptr.kind !== 'records') return reject('ptr-mismatch', `${ip} has no PTR (${ptr.kind})`);

  const names = [...new Set(ptr.records)].slice(0, MAX_PTR_NAMES);
  const v6 = ip.includes(':');
  const forward = await Promise.all(names.map((n) => (v6 ? resolver.aaaa(n) : resolver.a(n))));
  const confirmed: string[] = [];
  const unsure: string[] = []; // forward lookup failed for now: might have confirmed
  forward.forEach((answer, i) => {
    if (answer.kind === 'records' && answer.records.some((a) => canonicalIp(a) === ip)) confirmed.push(names[i]!);
    else if (answer.kind === 'temporary') unsure.push(names[i]!);
  });

  if (confirmed.length === 0) {
    if (unsure.length > 0) return defer('dns-temporary', `${ip}: forward lookup of ${unsure.join(', ')} failed for now`);
    return reject('ptr-mismatch', `${ip} PTR ${names.join(', ')} does not resolve back to it`);
  }
  if (mode === 'fcrdns' || senderDomain === null) return accept();

  const wanted = registrable(senderDomain);
  if (confirmed.some((n) => registrable(n) === wanted)) return accept();
  if (unsure.some((n) => registrable(n) === wanted)) return defer('dns-temporary', `${ip}: forward lookup of ${unsure.join(', ')} failed for now`);
  return reject('ptr-mismatch', `${ip} PTR ${confirmed.join(', ')} is not in ${wanted}`);
}

/**
 * The registrable domain ("example.co.uk" for "mail.example.co.uk"), with the
 * PSL's private section on: a PTR under `compute.amazonaws.com` or a sender at
 * `x.github.io` is its own tenant's domain, not Amazon's or GitHub's, so one
 * cloud customer cannot pass as another. A name with no registrable part
 * (`localhost`, a bare suffix) stands for itself — never `null === null`.
 * MAIL FROM may carry a UTF-8 domain (SMTPUTF8); PTR names are A-labels, so
 * the sender's domain is converted before comparing.
 */
function registrable(domain: string): string {
  let d = domain.toLowerCase().replace(/\.$/, '');
  if (/[^\x00-\x7f]/.test(d)) d = domainToASCII(d) || d;
  return getDomain(d, { allowPrivateDomains: true }) ?? d;
}
