/** LIST/LSUB pattern matching and the folder tree (src/protocol/imap/list.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPattern, folderTree, listEntries, lsubEntries, patternMatcher } from '../../../../src/protocol/imap/list.js';

test('* matches across levels, % within one level; everything else literally', () => {
  const star = patternMatcher('a*');
  assert.ok(star('a') && star('abc') && star('a/b/c'));
  assert.ok(!star('ba'));
  const pct = patternMatcher('a%');
  assert.ok(pct('a') && pct('abc'));
  assert.ok(!pct('a/b'), '% stops at the delimiter');
  assert.ok(patternMatcher('a/%/c')('a/x/c') && !patternMatcher('a/%/c')('a/x/y/c'));
  // Regular-expression characters in names are plain characters.
  assert.ok(patternMatcher('a.b(1)[x]+?')('a.b(1)[x]+?'));
  assert.ok(!patternMatcher('a.b')('axb'));
  assert.ok(patternMatcher('%')('line\nbreak'), 'no newline surprises');
});

test('INBOX matches case-insensitively, other names do not', () => {
  assert.ok(patternMatcher('inbox')('INBOX'));
  assert.ok(patternMatcher('In%')('INBOX'));
  assert.ok(!patternMatcher('sent')('Sent'));
});

test('the reference is prepended unless the pattern is absolute', () => {
  assert.equal(canonicalPattern('', '%'), '%');
  assert.equal(canonicalPattern('Projects/', '%'), 'Projects/%');
  assert.equal(canonicalPattern('Projects/', '/abs'), '/abs');
});

test('the tree holds implied parents, children and subscription facts, INBOX first', () => {
  const tree = folderTree([
    { name: 'b/c', subscribed: true },
    { name: 'INBOX', subscribed: true },
    { name: 'a', subscribed: false },
    { name: 'a/x', subscribed: false },
  ]);
  assert.deepEqual(
    tree.map((n) => [n.name, n.exists, n.hasChildren, n.subscribedChild]),
    [['INBOX', true, false, false], ['a', true, true, false], ['a/x', true, false, false], ['b', false, true, true], ['b/c', true, false, false]],
  );
});

test('LIST attributes: \\Noselect for implied parents (\\NonExistent with extended options), children, special use, \\Subscribed on request', () => {
  const tree = folderTree([
    { name: 'INBOX', subscribed: true },
    { name: 'Sent', subscribed: false },
    { name: 'p/q', subscribed: true },
  ]);
  const plain = listEntries(tree, ['*'], { selectOptions: [], returnSubscribed: false });
  assert.deepEqual(plain.map((e) => [e.name, e.attributes.join(' ')]), [
    ['INBOX', '\\HasNoChildren'],
    ['Sent', '\\HasNoChildren \\Sent'],
    ['p', '\\Noselect \\HasChildren'],
    ['p/q', '\\HasNoChildren'],
  ]);
  const subscribed = listEntries(tree, ['*'], { selectOptions: ['SUBSCRIBED'], returnSubscribed: true });
  assert.deepEqual(subscribed.map((e) => e.name), ['INBOX', 'p/q']);
  const recursive = listEntries(tree, ['%'], { selectOptions: ['SUBSCRIBED', 'RECURSIVEMATCH'], returnSubscribed: true });
  assert.deepEqual(recursive.map((e) => [e.name, e.attributes.join(' '), e.extra]), [
    ['INBOX', '\\HasNoChildren \\Subscribed', ''],
    ['p', '\\NonExistent \\HasChildren', ' ("CHILDINFO" ("SUBSCRIBED"))'],
  ]);
  const special = listEntries(tree, ['*'], { selectOptions: ['SPECIAL-USE'], returnSubscribed: false });
  assert.deepEqual(special.map((e) => e.name), ['Sent']);
  const many = listEntries(tree, ['INBOX', 'Sent', 'INBOX'], { selectOptions: [], returnSubscribed: false });
  assert.deepEqual(many.map((e) => e.name), ['INBOX', 'Sent'], 'each mailbox once, whatever the patterns');
});

test('LSUB: subscribed names; with %, an unsubscribed parent of a subscribed folder is \\Noselect', () => {
  const tree = folderTree([
    { name: 'INBOX', subscribed: true },
    { name: 'news', subscribed: false },
    { name: 'news/comp', subscribed: true },
  ]);
  assert.deepEqual(lsubEntries(tree, '*').map((e) => [e.name, e.attributes]), [['INBOX', []], ['news/comp', []]]);
  assert.deepEqual(lsubEntries(tree, '%').map((e) => [e.name, e.attributes]), [['INBOX', []], ['news', ['\\Noselect']]]);
});
