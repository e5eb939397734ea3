import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_NUMBER, parseAny, parseCommand, type CommandErrorKind, type ParsedCommand, type Pop3Command } from '../../../../src/codec/pop3/command.js';

function parse(line: string | Buffer): ParsedCommand {
  return parseCommand(typeof line === 'string' ? Buffer.from(line, 'utf8') : line);
}

function good(line: string | Buffer): Pop3Command {
  const r = parse(line);
  assert.ok(r.ok, `${JSON.stringify(String(line))} should parse, got ${r.ok ? '' : `${r.kind}: ${r.message}`}`);
  return r.command;
}

function bad(line: string | Buffer, kind: CommandErrorKind, message?: RegExp): void {
  const r = parse(line);
  assert.ok(!r.ok, `${JSON.stringify(String(line))} should fail`);
  assert.equal(r.kind, kind, `${JSON.stringify(String(line))}: ${r.message}`);
  if (message) assert.match(r.message, message);
}

test('keywords are case-insensitive; argument-less commands refuse arguments', () => {
  for (const verb of ['STAT', 'NOOP', 'RSET', 'QUIT', 'CAPA', 'STLS'] as const) {
    assert.deepEqual(good(verb), { verb });
    assert.deepEqual(good(verb.toLowerCase()), { verb });
    assert.deepEqual(good(`${verb} `), { verb }, 'a trailing space is tolerated');
    bad(`${verb} 1`, 'syntax');
  }
  assert.deepEqual(good('sTaT'), { verb: 'STAT' });
});

test('unknown and empty commands', () => {
  for (const line of ['HELO x', 'XTND XMIT', 'LAST', 'STATS', 'ST', 'RETRIEVE 1', 'É', '123']) bad(line, 'unknown-command');
  bad('', 'syntax');
  bad(' STAT', 'syntax', /empty/);
});

test('USER takes one address; PASS takes the rest of the line, spaces included', () => {
  assert.deepEqual(good('USER ivanov@example.org'), { verb: 'USER', name: 'ivanov@example.org' });
  assert.deepEqual(good('user  Ivanov@Example.ORG '), { verb: 'USER', name: 'Ivanov@Example.ORG' });
  assert.deepEqual(good('USER иванов@пример.рф'), { verb: 'USER', name: 'иванов@пример.рф' });
  bad('USER', 'syntax');
  bad('USER a b', 'syntax');
  assert.deepEqual(good('PASS secret'), { verb: 'PASS', password: 'secret' });
  assert.deepEqual(good('PASS  two words '), { verb: 'PASS', password: ' two words ' });
  assert.deepEqual(good('PASS пароль'), { verb: 'PASS', password: 'пароль' });
  bad('PASS', 'syntax');
  bad('PASS ', 'syntax');
  bad(Buffer.from([0x50, 0x41, 0x53, 0x53, 0x20, 0xff, 0xfe]), 'bad-bytes', /UTF-8/);
});

test('message numbers are positive decimals within MAX_NUMBER', () => {
  assert.deepEqual(good('RETR 1'), { verb: 'RETR', msg: 1 });
  assert.deepEqual(good('DELE 42'), { verb: 'DELE', msg: 42 });
  assert.deepEqual(good('LIST'), { verb: 'LIST', msg: null });
  assert.deepEqual(good('LIST 7'), { verb: 'LIST', msg: 7 });
  assert.deepEqual(good('UIDL'), { verb: 'UIDL', msg: null });
  assert.deepEqual(good('uidl 3'), { verb: 'UIDL', msg: 3 });
  assert.deepEqual(good(`RETR ${MAX_NUMBER}`), { verb: 'RETR', msg: MAX_NUMBER });
  assert.deepEqual(good('RETR 007'), { verb: 'RETR', msg: 7 });
  for (const arg of ['0', '-1', '+1', '1.0', '1e3', '0x10', 'one', String(MAX_NUMBER + 1), '99999999999', '١']) {
    bad(`RETR ${arg}`, arg === '١' ? 'bad-bytes' : 'syntax');
  }
  bad('RETR', 'syntax');
  bad('DELE 1 2', 'syntax');
  bad('LIST 1 2', 'syntax');
});

test('TOP takes a message number and a line count that may be 0', () => {
  assert.deepEqual(good('TOP 1 0'), { verb: 'TOP', msg: 1, lines: 0 });
  assert.deepEqual(good('TOP 2 10'), { verb: 'TOP', msg: 2, lines: 10 });
  bad('TOP 1', 'syntax');
  bad('TOP 0 1', 'syntax', /message number/);
  bad('TOP 1 -1', 'syntax', /line count/);
  bad('TOP 1 2 3', 'syntax');
});

test('AUTH: bare (list), mechanism, initial response; APOP is recognised to be refused', () => {
  assert.deepEqual(good('AUTH'), { verb: 'AUTH', mechanism: null, initial: null });
  assert.deepEqual(good('AUTH plain'), { verb: 'AUTH', mechanism: 'PLAIN', initial: null });
  assert.deepEqual(good('AUTH PLAIN AGl2YW5vdgBzZWNyZXQ='), { verb: 'AUTH', mechanism: 'PLAIN', initial: 'AGl2YW5vdgBzZWNyZXQ=' });
  assert.deepEqual(good('AUTH PLAIN ='), { verb: 'AUTH', mechanism: 'PLAIN', initial: '=' });
  bad('AUTH PLAIN a b', 'syntax');
  bad('AUTH PL@IN', 'syntax');
  assert.deepEqual(good('APOP mrose c4c9334bac560ecc979e58001b3e22fb'), { verb: 'APOP' });
});

test('control characters and NULs anywhere are bad-bytes; non-ASCII only in USER/PASS', () => {
  bad('STAT\u0000', 'bad-bytes', /NUL/);
  bad('\u0000', 'bad-bytes', /NUL/);
  bad('PASS se\u0000cret', 'bad-bytes');
  bad('RETR 1\r', 'bad-bytes');
  bad('LIST\n1', 'bad-bytes');
  bad('NOOP\t', 'bad-bytes');
  bad('DEL\u007fE 1', 'bad-bytes');
  bad('LIST é', 'bad-bytes');
  bad(Buffer.from([0xff, 0xfe, 0x00]), 'bad-bytes');
});

test('property: any bytes give a command or an error value, never a throw', () => {
  const commandish = fc
    .tuple(
      fc.constantFrom('USER', 'PASS', 'APOP', 'AUTH', 'STAT', 'LIST', 'RETR', 'TOP', 'UIDL', 'DELE', 'NOOP', 'RSET', 'QUIT', 'CAPA', 'STLS', 'retr', 'XYZ'),
      fc.array(fc.oneof(fc.nat().map(String), fc.string({ maxLength: 12 }), fc.constantFrom('0', '-1', '=', '*', '4294967296')), { maxLength: 3 }),
    )
    .map(([verb, args]) => Buffer.from([verb, ...args].join(' '), 'utf8'));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), commandish), (line) => {
      const r = parseCommand(line);
      if (r.ok) {
        const c = r.command;
        if ('msg' in c && c.msg !== null) assert.ok(Number.isInteger(c.msg) && c.msg >= 1 && c.msg <= MAX_NUMBER);
        if (c.verb === 'TOP') assert.ok(Number.isInteger(c.lines) && c.lines >= 0 && c.lines <= MAX_NUMBER);
      } else {
        assert.ok(['unknown-command', 'syntax', 'bad-bytes'].includes(r.kind));
        assert.equal(typeof r.message, 'string');
      }
    }),
    { numRuns: 3000 },
  );
});

test('property: the RETR fast path answers exactly as the general parser', () => {
  // Lines shaped like RETR with every twist the fast path must either take or hand on:
  // keyword case, spaces, leading zeros, 0, the 2^31 boundary, signs, letters, too many digits.
  const keyword = fc.constantFrom('RETR', 'retr', 'Retr', 'rEtR', 'RETRX', 'RET', 'REtr ', 'R\u0000TR', 'RE\u0092R');
  const argument = fc.oneof(
    fc.nat().map(String),
    fc.bigInt({ min: 0n, max: 99_999_999_999n }).map(String),
    fc.constantFrom('0', '00', '007', '2147483647', '2147483648', '-1', '+1', '1e3', '0x10', '', ' 1', '1 ', '1 2', '１'),
    fc.string({ maxLength: 12 }),
  );
  const line = fc.tuple(keyword, fc.constantFrom(' ', '  ', '\t', ''), argument).map(([k, sep, a]) => Buffer.from(k + sep + a, 'utf8'));
  fc.assert(
    fc.property(line, (bytes) => {
      assert.deepEqual(parseCommand(bytes), parseAny(bytes));
    }),
    { numRuns: 5000 },
  );
  for (const plain of ['RETR 1', 'retr 2147483647', 'RETR 0000000001']) {
    assert.deepEqual(parseCommand(Buffer.from(plain)), parseAny(Buffer.from(plain)));
  }
});
