/**
 * Property: a randomly generated MIME tree, written out with CRLF or LF line
 * endings, parses back to the same tree, with the same leaf bodies, subjects
 * and line counts, and its BODY[part] sections are the leaf bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bodyStructureString, findPart, parseMessage, sectionBytes, type MimeInfo, type MimePart } from '../../../../src/codec/mime/index.js';

type Node =
  | { kind: 'text'; lines: string[] }
  | { kind: 'multi'; subtype: string; children: Node[] }
  | { kind: 'msg'; subject: string; inner: Node };

const { node } = fc.letrec<{ node: Node; text: Node; multi: Node; msg: Node }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('text'), tie('multi'), tie('msg')),
  text: fc.record({ kind: fc.constant('text' as const), lines: fc.array(fc.stringMatching(/^[a-z ]{0,12}$/), { maxLength: 4 }) }),
  multi: fc.record({
    kind: fc.constant('multi' as const),
    subtype: fc.constantFrom('mixed', 'alternative', 'related'),
    children: fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
  }),
  msg: fc.record({ kind: fc.constant('msg' as const), subject: fc.stringMatching(/^[A-Za-z]{1,8}$/), inner: tie('node') }),
}));

/** Writes an entity: its header lines (plus `extra`), a blank line, its body. */
function render(n: Node, eol: string, next: { id: number }, extra: string[] = []): string {
  const head = (fields: string[]) => [...extra, ...fields].map((f) => f + eol).join('') + eol;
  switch (n.kind) {
    case 'text':
      return head(['Content-Type: text/plain; charset=us-ascii']) + n.lines.join(eol);
    case 'msg':
      return head(['Content-Type: message/rfc822']) + render(n.inner, eol, next, [`Subject: ${n.subject}`]);
    case 'multi': {
      // Boundaries share a prefix on purpose ("=_1" and "=_12"): only whole delimiter lines count.
      const b = `=_${next.id++}`;
      let s = `${head([`Content-Type: multipart/${n.subtype}; boundary="${b}"`])}preamble${eol}`;
      for (const c of n.children) s += `--${b}${eol}${render(c, eol, next)}${eol}`;
      return `${s}--${b}--${eol}epilogue${eol}`;
    }
  }
}

/** Compares a parsed part with the node it was written from. */
function check(raw: Buffer, p: MimePart, n: Node): void {
  switch (n.kind) {
    case 'text': {
      assert.equal(`${p.type}/${p.subtype}`, 'text/plain');
      const body = raw.toString('latin1', p.bodyStart, p.end);
      const expected = n.lines.join('\n');
      assert.equal(body.replace(/\r\n/g, '\n'), expected);
      const breaks = expected.split('\n').length - 1;
      assert.equal(p.lines, breaks + (expected.length > 0 && !expected.endsWith('\n') ? 1 : 0));
      return;
    }
    case 'msg':
      assert.equal(`${p.type}/${p.subtype}`, 'message/rfc822');
      assert.notEqual(p.message, null);
      assert.equal(p.message!.envelope.subject, n.subject);
      check(raw, p.message!.root, n.inner);
      return;
    case 'multi':
      assert.equal(`${p.type}/${p.subtype}`, `multipart/${n.subtype}`);
      assert.equal(p.children.length, n.children.length);
      n.children.forEach((c, i) => check(raw, p.children[i]!, c));
      return;
  }
}

/** BODY[path] of every text leaf is its body, following RFC 3501 numbering. */
function checkSections(raw: Buffer, info: MimeInfo, n: Node, path: number[]): void {
  const atPart = (q: number[]) => Buffer.from(sectionBytes(raw, info, { part: q, kind: 'all' })).toString('latin1').replace(/\r\n/g, '\n');
  switch (n.kind) {
    case 'text':
      assert.equal(atPart(path.length === 0 ? [1] : path), n.lines.join('\n'));
      return;
    case 'multi':
      n.children.forEach((c, i) => checkSections(raw, info, c, [...path, i + 1]));
      return;
    case 'msg': {
      // The encapsulated message's parts sit under this part's number; a non-multipart one is N.1.
      const base = path.length === 0 ? [1] : path;
      assert.notEqual(findPart(info, base), null);
      if (n.inner.kind === 'multi') n.inner.children.forEach((c, i) => checkSections(raw, info, c, [...base, i + 1]));
      else if (n.inner.kind === 'text') assert.equal(atPart([...base, 1]), n.inner.lines.join('\n'));
      return;
    }
  }
}

test('property: generated MIME trees parse back to themselves, CRLF and LF alike', () => {
  fc.assert(
    fc.property(node, fc.constantFrom('\r\n', '\n'), (tree, eol) => {
      const raw = Buffer.from(render(tree, eol, { id: 1 }, ['Subject: top']), 'latin1');
      const info = parseMessage(raw);
      assert.equal(info.truncated, false);
      assert.equal(info.envelope.subject, 'top');
      check(raw, info.root, tree);
      checkSections(raw, info, tree, []);
      assert.ok(bodyStructureString(info, true).length > 0);
    }),
    { numRuns: 1000 },
  );
});
