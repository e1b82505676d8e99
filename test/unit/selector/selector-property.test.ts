import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSelector } from '../../../src/index.js';

// Label names include words that are operators or functions elsewhere, to stress the tokenizer.
const labelName = fc.constantFrom(
  'a',
  'b',
  'app',
  'in',
  'not',
  'has',
  'all',
  'contains',
  'x.y/z',
  'k8s-app',
  'ends',
);
// Values may hold one kind of quote (a value can never hold both).
const value = fc.oneof(
  fc.constantFrom('', '1', '2', 'x', 'y z', 'a b'),
  fc.string({ maxLength: 6 }).map((s) => s.replaceAll("'", '')),
  fc.string({ maxLength: 6 }).map((s) => s.replaceAll('"', '')),
);
const quoted = (v: string): string => (v.includes("'") ? `"${v}"` : `'${v}'`);
const space = fc.constantFrom('', ' ', '  ', '\t');

/** Arbitrary selector text in non-canonical spellings: odd spacing, quotes, redundant parens. */
const selectorText: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .tuple(
        labelName,
        fc.constantFrom('==', '!=', 'contains', 'startswith', 'starts with', 'endswith', 'ends with'),
        value,
      )
      .map(([l, op, v]) => `${l} ${op} ${quoted(v)}`),
    fc
      .tuple(labelName, fc.constantFrom('in', 'not in'), fc.array(value, { maxLength: 4 }))
      .map(([l, op, vs]) => `${l} ${op} {${vs.map(quoted).join(',')}}`),
    labelName.map((l) => `has( ${l})`),
    fc.constantFrom('all()', 'global()'),
    tie('expr').map((e) => `!${e}`),
    tie('expr').map((e) => `(${e})`),
    fc.tuple(tie('expr'), space, tie('expr')).map(([a, s, b]) => `(${a})${s}&&${s}(${b})`),
    fc.tuple(tie('expr'), space, tie('expr')).map(([a, s, b]) => `(${a})${s}||${s}(${b})`),
  ),
})).expr;

const labelSet = fc.dictionary(labelName, fc.constantFrom('', '1', '2', 'x', 'a b', 'y z'), { maxKeys: 5 });

describe('selector properties', () => {
  test('the canonical form is a fixed point: canonical(parse(canonical(x))) == canonical(x)', () => {
    fc.assert(
      fc.property(selectorText, (text) => {
        const canonical = parseSelector(text).toString();
        assert.equal(parseSelector(canonical).toString(), canonical);
      }),
      { numRuns: 2000 },
    );
  });

  test('the canonical form means the same as the original text', () => {
    fc.assert(
      fc.property(selectorText, fc.array(labelSet, { minLength: 1, maxLength: 8 }), (text, labelSets) => {
        const original = parseSelector(text);
        const reparsed = parseSelector(original.toString());
        for (const labels of labelSets) assert.equal(reparsed.evaluate(labels), original.evaluate(labels));
      }),
      { numRuns: 1000 },
    );
  });

  test('evaluating a label record means the same as evaluating a lookup of it', () => {
    // Label sets with keys inherited from the prototype chain too: only own keys are labels.
    const withInherited = labelSet.map((labels) =>
      Object.assign(Object.create({ a: '1', app: 'x' }), labels),
    );
    fc.assert(
      fc.property(
        selectorText,
        fc.array(fc.oneof(labelSet, withInherited), { minLength: 1, maxLength: 8 }),
        (text, labelSets) => {
          const sel = parseSelector(text);
          for (const labels of labelSets as Record<string, string>[]) {
            const get = (k: string) => (Object.hasOwn(labels, k) ? labels[k] : undefined);
            assert.equal(
              sel.evaluate(labels),
              sel.evaluateLookup(get),
              `${text} on ${JSON.stringify(labels)}`,
            );
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('equal canonical forms give equal ids, different ones different ids', () => {
    fc.assert(
      fc.property(selectorText, selectorText, (a, b) => {
        const sa = parseSelector(a);
        const sb = parseSelector(b);
        assert.equal(sa.uniqueId() === sb.uniqueId(), sa.toString() === sb.toString());
      }),
      { numRuns: 500 },
    );
  });

  test('requiredLabelValues never excludes a label set the selector matches', () => {
    fc.assert(
      fc.property(selectorText, labelSet, (text, labels) => {
        const sel = parseSelector(text);
        if (!sel.evaluate(labels)) return;
        for (const [key, values] of sel.requiredLabelValues()) {
          assert.ok(labels[key] !== undefined && values.has(labels[key]), `${text} requires ${key}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
