import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compareKeys, prefixUpperBound } from '../../../src/datastore/key-order.js';

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

// Characters at the edges where UTF-16 and UTF-8 order disagree, mixed with arbitrary graphemes.
const edgeCharacter = fc.constantFrom(
  'a',
  '/',
  '\u00e9',
  '\ud7ff',
  '\ue000',
  '\ufffd',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
);
const key = (maxLength?: number) =>
  fc.string({
    unit: fc.oneof(edgeCharacter, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })),
    maxLength,
  });

describe('compareKeys orders keys as their UTF-8 bytes', () => {
  const cases: ReadonlyArray<{ a: string; b: string; expected: -1 | 0 | 1 }> = [
    { a: '/a/b', b: '/a/b', expected: 0 },
    { a: '/a/b', b: '/a/b/', expected: -1 },
    { a: '/a/b/', b: '/a/bc', expected: -1 },
    { a: '/a/c', b: '/a/bc', expected: 1 },
    { a: '\u00e9', b: 'z', expected: 1 },
    // UTF-16 would put the emoji (D83D DE00) before U+FFFD; UTF-8 puts it after.
    { a: '\ufffd', b: '\u{1f600}', expected: -1 },
    { a: '\ue000', b: '\u{10000}', expected: -1 },
    { a: '\ud7ff', b: '\ue000', expected: -1 },
    { a: '\u{1f600}', b: '\u{1f601}', expected: -1 },
  ];
  for (const { a, b, expected } of cases) {
    test(`${JSON.stringify(a)} vs ${JSON.stringify(b)} is ${expected}`, () => {
      assert.equal(Math.sign(compareKeys(a, b)), expected);
      assert.equal(Math.sign(utf8Order(a, b)), expected, 'the table itself agrees with UTF-8 bytes');
    });
  }

  test('agrees with UTF-8 byte comparison on arbitrary strings', () => {
    fc.assert(
      fc.property(key(), key(), (a, b) => {
        assert.equal(Math.sign(compareKeys(a, b)), Math.sign(utf8Order(a, b)));
      }),
    );
  });
});

describe('prefixUpperBound', () => {
  const cases: ReadonlyArray<{ prefix: string; expected: string | undefined }> = [
    { prefix: '/a/b/', expected: '/a/b0' },
    { prefix: '/a/b', expected: '/a/c' },
    { prefix: 'a\u{10ffff}', expected: 'b' },
    { prefix: '\u{10ffff}', expected: undefined },
    { prefix: '', expected: undefined },
    { prefix: 'x\ud7ff', expected: 'x\ue000' },
    { prefix: 'x\uffff', expected: 'x\u{10000}' },
  ];
  for (const { prefix, expected } of cases) {
    test(`of ${JSON.stringify(prefix)} is ${JSON.stringify(expected)}`, () => {
      assert.equal(prefixUpperBound(prefix), expected);
    });
  }

  test('[prefix, bound) holds exactly the keys that start with the prefix', () => {
    fc.assert(
      fc.property(key(4), key(), (prefix, candidate) => {
        const bound = prefixUpperBound(prefix);
        const inRange =
          compareKeys(candidate, prefix) >= 0 && (bound === undefined || compareKeys(candidate, bound) < 0);
        assert.equal(inRange, candidate.startsWith(prefix));
      }),
    );
  });
});
