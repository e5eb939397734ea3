import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accept, defer, disconnect, isAccept, reject, type Verdict } from '../../../src/policy/verdict.js';

test('constructors build the four kinds; detail is omitted when not given', () => {
  assert.deepEqual(accept(), { kind: 'accept', value: undefined });
  assert.deepEqual(accept(42), { kind: 'accept', value: 42 });
  assert.deepEqual(reject('unknown-user'), { kind: 'reject', reason: 'unknown-user' });
  assert.equal('detail' in reject('unknown-user'), false);
  assert.deepEqual(reject('relay-denied', 'x'), { kind: 'reject', reason: 'relay-denied', detail: 'x' });
  assert.deepEqual(defer('temporary-failure', 'y'), { kind: 'defer', reason: 'temporary-failure', detail: 'y' });
  assert.deepEqual(disconnect('auth-failures'), { kind: 'disconnect', reason: 'auth-failures' });
});

test('refusals are assignable to any Verdict<T>; isAccept narrows', () => {
  const verdicts: Verdict<number>[] = [accept(1), reject('too-many-recipients'), defer('temporary-failure'), disconnect('too-many-connections')];
  const values = verdicts.filter(isAccept).map((v) => v.value);
  assert.deepEqual(values, [1]);
});
