import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostlineError } from '../../src/core/errors.js';

test('PostlineError carries code and temporary flag', () => {
  const e = new PostlineError('ERR_STORE_IO', 'disk');
  assert.equal(e.code, 'ERR_STORE_IO');
  assert.equal(e.temporary, true);
});
