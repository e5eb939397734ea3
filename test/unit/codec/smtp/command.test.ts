import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeXtext, parseCommand, type CommandErrorKind, type ParsedCommand, type SmtpCommand } from '../../../../src/codec/smtp/command.js';

const ASCII = { smtputf8Allowed: false };
const UTF8 = { smtputf8Allowed: true };

function parse(line: string | Buffer, opts = ASCII): ParsedCommand {
  return parseCommand(typeof line === 'string' ? Buffer.from(line, 'utf8') : line, opts);
}

function good(line: string | Buffer, opts = ASCII): SmtpCommand {
  const r = parse(line, opts);
  assert.ok(r.ok, `${String(line)} should parse, got ${r.ok ? '' : `${r.kind}: ${r.message}`}`);
  return r.command;
}

function bad(line: string | Buffer, kind: CommandErrorKind, opts = ASCII, message?: RegExp): void {
  const r = parse(line, opts);
  assert.ok(!r.ok, `${JSON.stringify(String(line))} should fail`);
  assert.equal(r.kind, kind, `${JSON.stringify(String(line))}: ${r.message}`);
  if (message) assert.match(r.message, message);
}

const mailbox = (command: SmtpCommand): string => {
  assert.ok(command.verb === 'MAIL' || command.verb === 'RCPT');
  return command.path.kind === 'null' ? '<>' : command.path.address;
};

test('verbs are case-insensitive; unknown verbs are unknown-command', () => {
  assert.deepEqual(good('quit'), { verb: 'QUIT' });
  assert.deepEqual(good('NoOp'), { verb: 'NOOP' });
  for (const v of ['QUITX', 'HELLO', 'X-CMD', 'MAIL-FROM:<a@b.org>', '123', 'TURN', 'ÉHLO x']) bad(v, 'unknown-command');
  bad('', 'syntax');
  bad(' QUIT', 'syntax');
});

test('EHLO / HELO take one word: a domain, an address literal, or any tolerated name', () => {
  assert.deepEqual(good('EHLO mail.example.org'), { verb: 'EHLO', domain: 'mail.example.org' });
  assert.deepEqual(good('ehlo [192.0.2.1]'), { verb: 'EHLO', domain: '[192.0.2.1]' });
  assert.deepEqual(good('HELO my_odd_host'), { verb: 'HELO', domain: 'my_odd_host' });
  assert.deepEqual(good('HELO localhost '), { verb: 'HELO', domain: 'localhost' });
  bad('EHLO', 'syntax');
  bad('EHLO ', 'syntax');
  bad('HELO a b', 'syntax');
  bad('EHLO hôte', 'non-ascii', UTF8);
});

test('commands without arguments reject extra words; NOOP and HELP take one', () => {
  for (const verb of ['DATA', 'RSET', 'QUIT', 'STARTTLS'] as const) {
    assert.deepEqual(good(verb), { verb });
    assert.deepEqual(good(`${verb}  `), { verb }, 'trailing spaces are tolerated');
    bad(`${verb} now`, 'syntax');
  }
  assert.deepEqual(good('NOOP'), { verb: 'NOOP' });
  assert.deepEqual(good('NOOP anything at all'), { verb: 'NOOP' });
  assert.deepEqual(good('HELP'), { verb: 'HELP', arg: '' });
  assert.deepEqual(good('HELP MAIL'), { verb: 'HELP', arg: 'MAIL' });
});

test('VRFY and EXPN need an argument', () => {
  assert.deepEqual(good('VRFY Smith'), { verb: 'VRFY', arg: 'Smith' });
  assert.deepEqual(good('VRFY <a@b.org>'), { verb: 'VRFY', arg: '<a@b.org>' });
  assert.deepEqual(good('EXPN staff list'), { verb: 'EXPN', arg: 'staff list' });
  bad('VRFY', 'syntax');
  bad('EXPN ', 'syntax');
});

test('BDAT <size> [LAST]', () => {
  assert.deepEqual(good('BDAT 0 LAST'), { verb: 'BDAT', size: 0, last: true });
  assert.deepEqual(good('bdat 1000'), { verb: 'BDAT', size: 1000, last: false });
  assert.deepEqual(good('BDAT 86 last'), { verb: 'BDAT', size: 86, last: true });
  assert.deepEqual(good('BDAT 9007199254740992'), { verb: 'BDAT', size: 2 ** 53, last: false });
  for (const l of ['BDAT', 'BDAT -1', 'BDAT 1.5', 'BDAT x', 'BDAT 9007199254740993', 'BDAT 100000000000000000000000', 'BDAT 1 LAST x', 'BDAT 1 FIRST', 'BDAT 0x10']) bad(l, 'syntax');
});

test('AUTH <mechanism> [initial-response]', () => {
  assert.deepEqual(good('AUTH plain'), { verb: 'AUTH', mechanism: 'PLAIN', initial: null });
  assert.deepEqual(good('AUTH PLAIN AGFsaWNlAHNlY3JldA=='), { verb: 'AUTH', mechanism: 'PLAIN', initial: 'AGFsaWNlAHNlY3JldA==' });
  assert.deepEqual(good('AUTH PLAIN ='), { verb: 'AUTH', mechanism: 'PLAIN', initial: '' });
  assert.deepEqual(good('AUTH SCRAM-SHA-256'), { verb: 'AUTH', mechanism: 'SCRAM-SHA-256', initial: null });
  for (const l of ['AUTH', 'AUTH PLAIN a b', 'AUTH PL@IN', `AUTH ${'X'.repeat(21)}`, 'AUTH PLAIN ab*c', 'AUTH PLAIN ==abc']) bad(l, 'syntax');
});

test('MAIL FROM: paths, keyword case and the one tolerated space', () => {
  assert.equal(mailbox(good('MAIL FROM:<a@B.org>')), 'a@b.org');
  assert.equal(mailbox(good('mail from:<a@b.org>')), 'a@b.org');
  assert.equal(mailbox(good('MAIL FROM: <a@b.org>')), 'a@b.org');
  assert.equal(mailbox(good('MAIL FROM:<>')), '<>');
  assert.equal(mailbox(good('MAIL FROM:a@b.org')), 'a@b.org', 'bare path tolerated');
  assert.equal(mailbox(good('MAIL FROM:<"x y"@b.org> SIZE=10')), '"x y"@b.org');
  assert.deepEqual(good('MAIL FROM:<a@b.org>'), {
    verb: 'MAIL',
    path: { kind: 'address', local: 'a', domain: 'b.org', address: 'a@b.org', route: [], quotedLocal: false, utf8: false },
    params: { smtputf8: false },
  });
  for (const l of ['MAIL', 'MAIL FROM', 'MAIL FROM:', 'MAIL TO:<a@b.org>', 'MAIL FROM:  <a@b.org>', 'MAIL FROM:<a@b.org', 'MAIL FROM:<a@b.org>SIZE=1', 'MAIL FROM:<a..b@b.org>']) {
    bad(l, 'syntax');
  }
  const r = parse('MAIL FROM:<postmaster>');
  assert.ok(!r.ok && r.kind === 'syntax' && r.verb === 'MAIL', '<postmaster> alone is a recipient only');
});

test('RCPT TO: paths; the null path is refused, <postmaster> is accepted', () => {
  assert.equal(mailbox(good('RCPT TO:<u@Example.com>')), 'u@example.com');
  assert.equal(mailbox(good('rcpt to: <u@example.com>')), 'u@example.com');
  const pm = good('RCPT TO:<Postmaster>');
  assert.ok(pm.verb === 'RCPT' && pm.path.domain === '' && pm.path.address === 'postmaster');
  const routed = good('RCPT TO:<@relay.example:u@example.com>');
  assert.ok(routed.verb === 'RCPT');
  assert.deepEqual(routed.path.route, ['relay.example']);
  const r = parse('RCPT TO:<>');
  assert.ok(!r.ok && r.kind === 'syntax' && r.verb === 'RCPT');
  bad('RCPT FROM:<u@example.com>', 'syntax');
  bad('RCPT TO:<u@>', 'syntax');
});

test('MAIL parameters: SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH', () => {
  const c = good('MAIL FROM:<a@b.org> size=12345 BODY=8bitmime RET=hdrs ENVID=QQ+2B+3D1 AUTH=u+2Bx@b.org SMTPUTF8', UTF8);
  assert.ok(c.verb === 'MAIL');
  assert.deepEqual(c.params, { size: 12345, body: '8BITMIME', ret: 'HDRS', envid: 'QQ+=1', auth: 'u+x@b.org', smtputf8: true });
  const d = good('MAIL FROM:<> BODY=7BIT RET=FULL AUTH=<>');
  assert.ok(d.verb === 'MAIL');
  assert.deepEqual(d.params, { body: '7BIT', ret: 'FULL', auth: '<>', smtputf8: false });
  const e = good('MAIL FROM:<a@b.org>  BODY=BINARYMIME  SIZE=0 ');
  assert.ok(e.verb === 'MAIL');
  assert.deepEqual(e.params, { body: 'BINARYMIME', size: 0, smtputf8: false });
});

test('bad MAIL parameters are bad-parameter, naming the parameter', () => {
  const cases: [string, RegExp][] = [
    ['SIZE=', /SIZE/],
    ['SIZE', /SIZE/],
    ['SIZE=-1', /SIZE/],
    ['SIZE=1e3', /SIZE/],
    ['SIZE=123456789012345678901', /SIZE/],
    ['SIZE=1 SIZE=2', /duplicate parameter SIZE/],
    ['SIZE=1 size=1', /duplicate parameter SIZE/],
    ['BODY=8BIT', /BODY/],
    ['BODY', /BODY/],
    ['RET=ALL', /RET/],
    ['ENVID=a=b', /ENVID/],
    ['ENVID=+2b', /ENVID/],
    ['ENVID=+4', /ENVID/],
    ['ENVID=+00', /ENVID/],
    [`ENVID=${'x'.repeat(101)}`, /ENVID/],
    ['AUTH', /AUTH/],
    ['AUTH=a+zz', /AUTH/],
    ['SMTPUTF8=yes', /SMTPUTF8/],
    ['X-FOO=1', /unknown parameter X-FOO/],
    ['NOTIFY=NEVER', /unknown parameter NOTIFY/],
    ['=1', /malformed parameter/],
    ['-X=1', /malformed parameter/],
  ];
  for (const [params, message] of cases) bad(`MAIL FROM:<a@b.org> ${params}`, 'bad-parameter', UTF8, message);
  // SMTPUTF8 is only a parameter when the extension is offered
  bad('MAIL FROM:<a@b.org> SMTPUTF8', 'bad-parameter', ASCII, /SMTPUTF8/);
  const r = parse('MAIL FROM:<a@b.org> FOO=1');
  assert.ok(!r.ok && r.verb === 'MAIL');
});

test('RCPT parameters: NOTIFY and ORCPT', () => {
  const c = good('RCPT TO:<u@b.org> NOTIFY=success,Failure,DELAY ORCPT=rfc822;u+2Bx@b.org');
  assert.ok(c.verb === 'RCPT');
  assert.deepEqual(c.params, { notify: ['SUCCESS', 'FAILURE', 'DELAY'], orcpt: 'rfc822;u+x@b.org' });
  const n = good('RCPT TO:<u@b.org> NOTIFY=NEVER');
  assert.ok(n.verb === 'RCPT');
  assert.deepEqual(n.params, { notify: ['NEVER'] });
  const none = good('RCPT TO:<u@b.org>');
  assert.ok(none.verb === 'RCPT');
  assert.deepEqual(none.params, {});
  const cases: [string, RegExp][] = [
    ['NOTIFY=NEVER,SUCCESS', /NOTIFY/],
    ['NOTIFY=', /NOTIFY/],
    ['NOTIFY', /NOTIFY/],
    ['NOTIFY=SUCCESS,,DELAY', /NOTIFY/],
    ['NOTIFY=DELAY,DELAY', /NOTIFY/],
    ['NOTIFY=ALWAYS', /NOTIFY/],
    ['NOTIFY=NEVER NOTIFY=NEVER', /duplicate parameter NOTIFY/],
    ['ORCPT=u@b.org', /ORCPT/],
    ['ORCPT=;u@b.org', /ORCPT/],
    ['ORCPT=rfc822;', /ORCPT/],
    ['ORCPT=rfc822;a+4', /ORCPT/],
    [`ORCPT=rfc822;${'x'.repeat(500)}`, /ORCPT/],
    ['SIZE=10', /unknown parameter SIZE/],
    ['BODY=8BITMIME', /unknown parameter BODY/],
  ];
  for (const [params, message] of cases) bad(`RCPT TO:<u@b.org> ${params}`, 'bad-parameter', ASCII, message);
});

test('UTF-8 addresses need SMTPUTF8 offered (and, for MAIL, requested)', () => {
  bad('MAIL FROM:<josé@example.com>', 'non-ascii', ASCII);
  bad('MAIL FROM:<josé@example.com>', 'non-ascii', UTF8, /SMTPUTF8/);
  assert.equal(mailbox(good('MAIL FROM:<josé@example.com> SMTPUTF8', UTF8)), 'josé@example.com');
  bad('RCPT TO:<用户@例子.广告>', 'non-ascii', ASCII);
  assert.equal(mailbox(good('RCPT TO:<用户@例子.广告>', UTF8)), '用户@例子.广告');
  // outside the path, non-ASCII is never allowed
  bad('MAIL FROM:<a@b.org> ENVID=é SMTPUTF8', 'non-ascii', UTF8);
  bad('VRFY josé', 'non-ascii', UTF8);
  bad('HELP é', 'non-ascii', ASCII);
  // invalid UTF-8 is never decoded into a path
  bad(Buffer.from([...Buffer.from('RCPT TO:<a'), 0xff, ...Buffer.from('@b.org>')]), 'non-ascii', UTF8, /UTF-8/);
  bad(Buffer.from([...Buffer.from('RCPT TO:<a'), 0xc3, ...Buffer.from('@b.org>')]), 'non-ascii', UTF8);
});

test('CR, LF, NUL and other control characters inside a line', () => {
  bad('MAIL FROM:<a@b.org>\rRCPT TO:<c@d.org>', 'bare-line-ending');
  bad('QUIT\n', 'bare-line-ending');
  bad('\nQUIT', 'bare-line-ending');
  bad('NOOP \0', 'syntax', ASCII, /NUL/);
  bad('EHLO\tx', 'syntax');
  bad('NOOP \u007f', 'syntax');
});

test('inputs outside the type system do not throw', () => {
  assert.equal(parseCommand(new Uint8Array(Buffer.from('QUIT')) as Buffer, ASCII).ok, true);
  assert.equal(parseCommand('QUIT' as unknown as Buffer, ASCII).ok, false);
  assert.equal(parseCommand(null as unknown as Buffer, ASCII).ok, false);
  assert.equal(parseCommand(Buffer.from('MAIL FROM:<a@b.org>'), undefined as unknown as typeof ASCII).ok, true);
});

test('decodeXtext (RFC 3461 §4)', () => {
  assert.equal(decodeXtext('abc+2B+3Ddef'), 'abc+=def');
  assert.equal(decodeXtext(''), '');
  for (const bad of ['+', '+2', '+2b', '+G0', 'a=b', 'a b', 'é', '+0A']) assert.equal(decodeXtext(bad), null, bad);
});

const commandish = fc
  .array(
    fc.constantFrom(
      'MAIL', 'RCPT', 'FROM:', 'TO:', 'EHLO', 'BDAT', 'AUTH', 'DATA', 'VRFY', ' ', '  ', '<', '>', '<>', '@', '"', '\\', '.', ',', ':',
      '[', ']', 'IPv6:', '::1', 'a', 'b.org', 'SIZE=', 'BODY=8BITMIME', 'NOTIFY=', 'ORCPT=rfc822;', 'ENVID=', 'SMTPUTF8', '=', '+2B', '+',
      '1', '9007199254740993', 'LAST', 'é', '\u00ff', '\r', '\n', '\0', 'postmaster',
    ),
    { maxLength: 20 },
  )
  .map((t) => Buffer.from(t.join(''), 'utf8'));

test('property: parseCommand never throws, on arbitrary bytes or command-like text', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)), commandish), fc.boolean(), (line, smtputf8Allowed) => {
      const r = parseCommand(line, { smtputf8Allowed });
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.equal(typeof r.message, 'string');
    }),
    { numRuns: 500 },
  );
});
