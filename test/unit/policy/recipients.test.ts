import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeClock } from '../../helpers/fake-clock.js';
import type { UserDirectory } from '../../../src/users/directory.js';
import { NetworkList } from '../../../src/policy/networks.js';
import { PopBeforeSmtp } from '../../../src/policy/pop-before-smtp.js';
import {
  MailPolicy,
  type ClientContext,
  type PolicyConfig,
  type Recipient,
  type RecipientAddress,
  type UserLookup,
} from '../../../src/policy/recipients.js';
import type { Verdict } from '../../../src/policy/verdict.js';


const USERS = ['ivanov@local.example', 'petrov@local.example', 'postmaster@local.example', 'sidorov@second.example'];

const BASE: PolicyConfig = {
  domains: ['local.example', 'second.example'],
  aliases: {
    'abuse@local.example': 'ivanov@local.example',
    'team@local.example': 'abuse@local.example', // two hops
    'petrov@local.example': 'ivanov@local.example', // shadowed by the real user petrov
    'fwd@local.example': 'friend@remote.example', // operator-configured forward
    'ghost@local.example': 'archive@local.example', // target is not (yet) a user
    'loop1@local.example': 'loop2@local.example',
    'loop2@local.example': 'loop1@local.example',
  },
  catchAll: null,
  relay: { trustedNetworks: ['192.168.0.0/16'], popBeforeSmtpMs: 60_000 },
  limits: {
    maxMessageSize: 1024,
    maxRecipients: 3,
    maxConnections: 100,
    maxConnectionsPerIp: 10,
    idleTimeoutMs: 300_000,
    authFailuresPerIp: 10,
  },
};

function setup(overrides: Partial<PolicyConfig> = {}) {
  const config = { ...BASE, ...overrides };
  const clock = fakeClock();
  const users: UserLookup = { has: (a) => USERS.includes(a.toLowerCase()) };
  const popBeforeSmtp = new PopBeforeSmtp(config.relay.popBeforeSmtpMs, clock);
  const trusted = NetworkList.parse(config.relay.trustedNetworks);
  return { policy: new MailPolicy({ config, users, popBeforeSmtp, trusted }), popBeforeSmtp, clock };
}

const untrusted: ClientContext = { ip: '203.0.113.9', authenticatedAs: null, tls: false };
const trusted: ClientContext = { ip: '::ffff:192.168.1.5', authenticatedAs: null, tls: false };
const trustedV4: ClientContext = { ip: '192.168.1.5', authenticatedAs: null, tls: false };
const ivanov: ClientContext = { ip: '203.0.113.10', authenticatedAs: 'ivanov@local.example', tls: true };

/** A stand-in for the SMTP codec: `[@route,...:]local@domain`, local maybe quoted. */
function rcpt(text: string): RecipientAddress {
  let route: string[] = [];
  let mailbox = text;
  if (text.startsWith('@')) {
    const colon = text.indexOf(':');
    route = text.slice(1, colon).split(',').map((r) => r.replace(/^@/, ''));
    mailbox = text.slice(colon + 1);
  }
  const at = mailbox.lastIndexOf('@');
  let local = mailbox.slice(0, at);
  const quotedLocal = local.startsWith('"');
  if (quotedLocal) local = local.slice(1, -1);
  return { address: mailbox, local, domain: mailbox.slice(at + 1), quotedLocal, route };
}

function sender(text: string) {
  const at = text.lastIndexOf('@');
  return { address: text, local: text.slice(0, at), domain: text.slice(at + 1) };
}

function accepted(v: Verdict<Recipient>): Recipient {
  assert.equal(v.kind, 'accept', `expected accept, got ${JSON.stringify(v)}`);
  return (v as { value: Recipient }).value;
}

function reason(v: Verdict<unknown>): string {
  return v.kind === 'accept' ? 'accept' : `${v.kind}:${v.reason}`;
}

test('UserDirectory satisfies UserLookup', () => {
  const asLookup = (d: UserDirectory): UserLookup => d;
  assert.equal(typeof asLookup, 'function');
});

test('isLocalDomain is case-insensitive and accepts the absolute (trailing dot) form', () => {
  const { policy } = setup();
  assert.equal(policy.isLocalDomain('local.example'), true);
  assert.equal(policy.isLocalDomain('LOCAL.Example'), true);
  assert.equal(policy.isLocalDomain('local.example.'), true);
  assert.equal(policy.isLocalDomain('second.example'), true);
  assert.equal(policy.isLocalDomain('remote.example'), false);
  assert.equal(policy.isLocalDomain('sub.local.example'), false);
});

test('a known local user is delivered to that mailbox, case-insensitively, for anyone', () => {
  const { policy } = setup();
  for (const client of [untrusted, trusted, ivanov]) {
    assert.deepEqual(accepted(policy.checkRecipient(client, rcpt('ivanov@local.example'), 0)), {
      kind: 'local',
      mailbox: 'ivanov@local.example',
      original: 'ivanov@local.example',
    });
  }
  assert.deepEqual(accepted(policy.checkRecipient(untrusted, rcpt('IVANOV@Local.EXAMPLE'), 0)), {
    kind: 'local',
    mailbox: 'ivanov@local.example',
    original: 'IVANOV@Local.EXAMPLE',
  });
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('ivanov@local.example.'), 0)) as { mailbox: string }).mailbox, 'ivanov@local.example');
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('Sidorov@SECOND.example'), 0)) as { mailbox: string }).mailbox, 'sidorov@second.example');
});

test('an unknown local user is refused without a catch-all', () => {
  const { policy } = setup();
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('nobody@local.example'), 0)), 'reject:unknown-user');
  assert.equal(reason(policy.checkRecipient(trusted, rcpt('nobody@local.example'), 0)), 'reject:unknown-user');
  assert.equal(reason(policy.checkRecipient(ivanov, rcpt('nobody@local.example'), 0)), 'reject:unknown-user');
  // A user of one local domain is not a user of another.
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('ivanov@second.example'), 0)), 'reject:unknown-user');
});

test('with a catch-all, unknown local users go to it; known users and aliases still win', () => {
  const { policy } = setup({ catchAll: 'postmaster@local.example' });
  assert.deepEqual(accepted(policy.checkRecipient(untrusted, rcpt('Nobody@local.example'), 0)), {
    kind: 'local',
    mailbox: 'postmaster@local.example',
    original: 'Nobody@local.example',
  });
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('nobody@second.example'), 0)) as { mailbox: string }).mailbox, 'postmaster@local.example');
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('ivanov@local.example'), 0)) as { mailbox: string }).mailbox, 'ivanov@local.example');
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('abuse@local.example'), 0)) as { mailbox: string }).mailbox, 'ivanov@local.example');
  // The catch-all is for local domains only: it never makes a remote recipient acceptable.
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('x@remote.example'), 0)), 'reject:relay-denied');
});

test('a catch-all that is not (yet) a user is delivered to as written; one that is an alias is followed', () => {
  assert.equal(
    (accepted(setup({ catchAll: 'bucket@local.example' }).policy.checkRecipient(untrusted, rcpt('x@local.example'), 0)) as { mailbox: string }).mailbox,
    'bucket@local.example',
  );
  assert.equal(
    (accepted(setup({ catchAll: 'abuse@local.example' }).policy.checkRecipient(untrusted, rcpt('x@local.example'), 0)) as { mailbox: string }).mailbox,
    'ivanov@local.example',
  );
});

test('aliases: to the target mailbox, case-insensitively, through a few hops', () => {
  const { policy } = setup();
  assert.deepEqual(accepted(policy.checkRecipient(untrusted, rcpt('Abuse@LOCAL.example'), 0)), {
    kind: 'local',
    mailbox: 'ivanov@local.example',
    original: 'Abuse@LOCAL.example',
  });
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('team@local.example'), 0)) as { mailbox: string }).mailbox, 'ivanov@local.example');
  // A real user wins over an alias of the same name.
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('petrov@local.example'), 0)) as { mailbox: string }).mailbox, 'petrov@local.example');
  // The operator named the target; it is delivered to even before it is a user.
  assert.equal((accepted(policy.checkRecipient(untrusted, rcpt('ghost@local.example'), 0)) as { mailbox: string }).mailbox, 'archive@local.example');
});

test('an alias forwarding outside our domains is a remote recipient, for any client (operator-configured)', () => {
  const { policy } = setup();
  assert.deepEqual(accepted(policy.checkRecipient(untrusted, rcpt('fwd@local.example'), 0)), {
    kind: 'remote',
    address: 'friend@remote.example',
    domain: 'remote.example',
  });
});

test('an alias loop is deferred (a config fault; no mail lost), not followed forever', () => {
  const { policy } = setup();
  const v = policy.checkRecipient(untrusted, rcpt('loop1@local.example'), 0);
  assert.equal(reason(v), 'defer:temporary-failure');
  assert.match((v as { detail: string }).detail, /loop/);
  const chain: Record<string, string> = {};
  for (let i = 0; i < 20; i++) chain[`a${i}@local.example`] = `a${i + 1}@local.example`;
  assert.equal(reason(setup({ aliases: chain }).policy.checkRecipient(untrusted, rcpt('a0@local.example'), 0)), 'defer:temporary-failure');
});

test('remote recipients: relay-denied for an untrusted client', () => {
  const { policy } = setup();
  const v = policy.checkRecipient(untrusted, rcpt('someone@remote.example'), 0);
  assert.equal(reason(v), 'reject:relay-denied');
  assert.equal(policy.mayRelay(untrusted), false);
});

test('remote recipients: accepted for trusted networks (IPv4 and IPv4-mapped IPv6), AUTH, and POP-before-SMTP', () => {
  const { policy, popBeforeSmtp, clock } = setup();
  const expected = { kind: 'remote', address: 'Someone@Remote.Example', domain: 'remote.example' };
  for (const client of [trusted, trustedV4, ivanov]) {
    assert.equal(policy.mayRelay(client), true, client.ip);
    assert.deepEqual(accepted(policy.checkRecipient(client, rcpt('Someone@Remote.Example'), 0)), expected);
  }
  const popClient: ClientContext = { ip: '198.51.100.7', authenticatedAs: null, tls: false };
  assert.equal(reason(policy.checkRecipient(popClient, rcpt('Someone@Remote.Example'), 0)), 'reject:relay-denied');
  popBeforeSmtp.record('::ffff:198.51.100.7'); // POP3 login through a dual-stack listener
  assert.deepEqual(accepted(policy.checkRecipient(popClient, rcpt('Someone@Remote.Example'), 0)), expected);
  clock.advance(60_000);
  assert.equal(reason(policy.checkRecipient(popClient, rcpt('Someone@Remote.Example'), 0)), 'reject:relay-denied');
});

// The relay tricks of SPEC §4.1, each aimed at making a local domain forward to remote.example.
const TRICKS = [
  'user%remote.example@local.example', // percent hack
  'remote.example!user@local.example', // bang path
  '"user@remote.example"@local.example', // quoted local part with an @
  '@remote.example:user@local.example', // source route pointing away from a local final address
];

test('relay tricks at a local domain are refused for an untrusted client', () => {
  const { policy } = setup();
  for (const t of TRICKS.slice(0, 3)) {
    const v = policy.checkRecipient(untrusted, rcpt(t), 0);
    assert.equal(reason(v), 'reject:unknown-user', t);
  }
  // The route is ignored: unknown local user → refused; a real local user → that local mailbox, never remote.
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('@remote.example:nobody@local.example'), 0)), 'reject:unknown-user');
  assert.deepEqual(accepted(policy.checkRecipient(untrusted, rcpt('@remote.example:ivanov@local.example'), 0)), {
    kind: 'local',
    mailbox: 'ivanov@local.example',
    original: 'ivanov@local.example',
  });
  // Source route in the other direction: a local route host does not make a remote final address local.
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('@local.example:user@remote.example'), 0)), 'reject:relay-denied');
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('@local.example,@second.example:user@remote.example'), 0)), 'reject:relay-denied');
});

test('relay tricks are never turned into a remote recipient, even for trusted or authenticated clients', () => {
  for (const catchAll of [null, 'postmaster@local.example']) {
    const { policy } = setup({ catchAll });
    for (const client of [untrusted, trusted, ivanov]) {
      for (const t of TRICKS) {
        const v = policy.checkRecipient(client, rcpt(t), 0);
        assert.notEqual(v.kind === 'accept' && v.value.kind, 'remote', `${t} from ${client.ip}`);
        if (catchAll !== null && v.kind === 'accept' && v.value.kind === 'local' && !t.startsWith('@')) {
          assert.equal(v.value.mailbox, catchAll, t);
        }
      }
      // Also through the catch-all the bang/percent forms stay local.
      if (catchAll !== null) {
        assert.deepEqual(accepted(policy.checkRecipient(client, rcpt('user%remote.example@local.example'), 0)), {
          kind: 'local',
          mailbox: catchAll,
          original: 'user%remote.example@local.example',
        });
      }
    }
  }
});

test('a source route to a remote final address is that remote recipient (route dropped) for a trusted client', () => {
  const { policy } = setup();
  for (const client of [trusted, ivanov]) {
    assert.deepEqual(accepted(policy.checkRecipient(client, rcpt('@local.example:user@remote.example'), 0)), {
      kind: 'remote',
      address: 'user@remote.example',
      domain: 'remote.example',
    });
  }
  // Even if a parser leaves the route inside `address`, it never reaches the queue.
  const withRouteInAddress = { ...rcpt('@local.example:user@remote.example'), address: '@local.example:user@remote.example' };
  assert.deepEqual(accepted(policy.checkRecipient(trusted, withRouteInAddress, 0)), {
    kind: 'remote',
    address: 'user@remote.example',
    domain: 'remote.example',
  });
  // And a trick-looking local part at a genuinely remote domain is that domain's business.
  assert.deepEqual(accepted(policy.checkRecipient(trusted, rcpt('a%b@remote.example'), 0)), {
    kind: 'remote',
    address: 'a%b@remote.example',
    domain: 'remote.example',
  });
});

test('a literal local user whose name contains % or ! is still just a local mailbox', () => {
  const config: PolicyConfig = { ...BASE };
  const users: UserLookup = { has: (a) => a.toLowerCase() === 'a%b@local.example' };
  const policy = new MailPolicy({ config, users, popBeforeSmtp: new PopBeforeSmtp(0, fakeClock()), trusted: NetworkList.parse([]) });
  assert.deepEqual(accepted(policy.checkRecipient(untrusted, rcpt('a%b@local.example'), 0)), {
    kind: 'local',
    mailbox: 'a%b@local.example',
    original: 'a%b@local.example',
  });
});

test('recipient count: countSoFar at the limit is refused; an explicit 0 refuses all', () => {
  const { policy } = setup();
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('ivanov@local.example'), 2)), 'accept');
  assert.equal(reason(policy.checkRecipient(untrusted, rcpt('ivanov@local.example'), 3)), 'reject:too-many-recipients');
  assert.equal(reason(policy.checkRecipient(trusted, rcpt('x@remote.example'), 4)), 'reject:too-many-recipients');
  const zero = setup({ limits: { ...BASE.limits, maxRecipients: 0 } }).policy;
  assert.equal(reason(zero.checkRecipient(untrusted, rcpt('ivanov@local.example'), 0)), 'reject:too-many-recipients');
});

test('sender: unauthenticated clients may use any sender, and the null sender', () => {
  const { policy } = setup();
  for (const s of ['anyone@remote.example', 'ivanov@local.example', 'x%y@local.example']) {
    assert.equal(reason(policy.checkSender(untrusted, sender(s))), 'accept', s);
    assert.equal(reason(policy.checkSender(trusted, sender(s))), 'accept', s);
  }
  assert.equal(reason(policy.checkSender(untrusted, null)), 'accept');
});

test('sender: an authenticated user may use their own address (any case) and aliases that reach them', () => {
  const { policy } = setup();
  assert.equal(reason(policy.checkSender(ivanov, sender('ivanov@local.example'))), 'accept');
  assert.equal(reason(policy.checkSender(ivanov, sender('IVANOV@Local.Example'))), 'accept');
  assert.equal(reason(policy.checkSender(ivanov, sender('ivanov@local.example.'))), 'accept');
  assert.equal(reason(policy.checkSender(ivanov, sender('Abuse@local.example'))), 'accept');
  assert.equal(reason(policy.checkSender(ivanov, sender('team@local.example'))), 'accept', 'two-hop alias');
  assert.equal(reason(policy.checkSender({ ...ivanov, authenticatedAs: 'IVANOV@LOCAL.EXAMPLE' }, sender('ivanov@local.example'))), 'accept');
  assert.equal(reason(policy.checkSender(ivanov, null)), 'accept', 'null sender (bounces, auto-replies)');
});

test('sender: anything else is sender-not-owned for an authenticated user', () => {
  const { policy } = setup({ catchAll: 'ivanov@local.example' });
  const petrov: ClientContext = { ...ivanov, authenticatedAs: 'petrov@local.example' };
  for (const s of [
    'petrov@local.example', // another user
    'boss@remote.example', // a remote address
    'ivanov@second.example', // same local part, other domain
    'nobody@local.example', // only reaches ivanov through the catch-all
    'fwd@local.example', // alias to someone else
    'ivanov%local.example@remote.example',
  ]) {
    assert.equal(reason(policy.checkSender(ivanov, sender(s))), 'reject:sender-not-owned', s);
  }
  // petrov is a user and also (shadowed) alias → ivanov: the user wins, so ivanov does not own it, petrov does.
  assert.equal(reason(policy.checkSender(petrov, sender('petrov@local.example'))), 'accept');
  assert.equal(reason(policy.checkSender(petrov, sender('abuse@local.example'))), 'reject:sender-not-owned');
});

test('message size: above maxMessageSize is refused', () => {
  const { policy } = setup();
  assert.equal(reason(policy.checkMessageSize(1024)), 'accept');
  assert.equal(reason(policy.checkMessageSize(1025)), 'reject:message-too-big');
});

test('postmaster is always accepted at a local domain (RFC 5321 4.5.1), even without a user or alias', () => {
  const policy = new MailPolicy({
    config: { domains: ['example.org'], aliases: {}, catchAll: null, relay: { trustedNetworks: [], popBeforeSmtpMs: 0 }, limits: { maxMessageSize: 1024, maxRecipients: 10, maxConnections: 10, maxConnectionsPerIp: 10, idleTimeoutMs: 1000, authFailuresPerIp: 3 } },
    users: { has: () => false },
    popBeforeSmtp: new PopBeforeSmtp(0, fakeClock()),
    trusted: NetworkList.parse([]),
  });
  const client = { ip: '192.0.2.1', authenticatedAs: null, tls: false };
  for (const [local, domain] of [['PostMaster', 'example.org'], ['postmaster', '']] as const) {
    const v = policy.checkRecipient(client, { address: domain ? `${local}@${domain}` : local, local, domain, quotedLocal: false, route: [] }, 0);
    assert.deepEqual(v.kind === 'accept' ? v.value : v, { kind: 'local', mailbox: 'postmaster@example.org', original: domain ? `${local}@${domain}` : local });
  }
  assert.equal(policy.checkRecipient(client, { address: 'someone@example.org', local: 'someone', domain: 'example.org', quotedLocal: false, route: [] }, 0).kind, 'reject');
});
