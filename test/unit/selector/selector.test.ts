import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSelector, SelectorParseError, SELECTOR_ID_LENGTH } from '../../../src/index.js';

type Labels = Record<string, string>;

/** Each row: a selector, a label set, and whether it should match. */
const EVALUATION: ReadonlyArray<[selector: string, labels: Labels, matches: boolean]> = [
  ['', {}, true],
  ['all()', { a: '1' }, true],
  ['global()', {}, true],
  ['a == "1"', { a: '1' }, true],
  ['a == "1"', { a: '2' }, false],
  ['a == "1"', {}, false],
  ["a == '1'", { a: '1' }, true],
  ['a != "1"', { a: '2' }, true],
  ['a != "1"', { a: '1' }, false],
  ['a != "1"', {}, true],
  ['a == ""', { a: '' }, true],
  ['a == ""', {}, false],
  ['a in {"x", "y"}', { a: 'y' }, true],
  ['a in {"x", "y"}', { a: 'z' }, false],
  ['a in {"x", "y"}', {}, false],
  ['a in {}', { a: 'x' }, false],
  ['a not in {"x", "y"}', { a: 'z' }, true],
  ['a not in {"x", "y"}', { a: 'x' }, false],
  ['a not in {"x", "y"}', {}, true],
  ['a not in {}', {}, true],
  ['has(a)', { a: '' }, true],
  ['has(a)', { b: '1' }, false],
  ['!has(a)', { b: '1' }, true],
  ['!has(a)', { a: '1' }, false],
  ['a contains "ell"', { a: 'hello' }, true],
  ['a contains "ell"', { a: 'help' }, false],
  ['a contains "ell"', {}, false],
  ['a contains ""', { a: 'x' }, true],
  ['a starts with "he"', { a: 'hello' }, true],
  ['a starts with "he"', { a: 'ahe' }, false],
  ['a startswith "he"', { a: 'hello' }, true],
  ['a starts with "he"', {}, false],
  ['a ends with "lo"', { a: 'hello' }, true],
  ['a ends with "lo"', { a: 'lol' }, false],
  ['a endswith "lo"', { a: 'hello' }, true],
  ['a ends with "lo"', {}, false],
  ['a == "1" && b == "2"', { a: '1', b: '2' }, true],
  ['a == "1" && b == "2"', { a: '1', b: '3' }, false],
  ['a == "1" || b == "2"', { a: '0', b: '2' }, true],
  ['a == "1" || b == "2"', { a: '0', b: '0' }, false],
  // && binds tighter than ||: a || (b && c)
  ['a == "1" || b == "1" && c == "1"', { a: '1' }, true],
  ['a == "1" || b == "1" && c == "1"', { b: '1' }, false],
  ['(a == "1" || b == "1") && c == "1"', { a: '1' }, false],
  ['(a == "1" || b == "1") && c == "1"', { a: '1', c: '1' }, true],
  // ! binds tighter than &&: (!a) && b
  ['!a == "1" && b == "1"', { a: '2', b: '1' }, true],
  ['!a == "1" && b == "1"', { a: '1', b: '1' }, false],
  ['!(a == "1" && b == "1")', { a: '1', b: '2' }, true],
  ['!(a == "1" && b == "1")', { a: '1', b: '1' }, false],
  ['!!a == "1"', { a: '1' }, true],
  ['!(!(a == "1"))', { a: '2' }, false],
  ['all() && a == "1"', { a: '1' }, true],
  ['!all()', {}, false],
  ['calico/k8s_ns == "default"', { 'calico/k8s_ns': 'default' }, true],
  ['projectcalico.org/namespace in {"a", "b"}', { 'projectcalico.org/namespace': 'b' }, true],
  ["namespace == 'default' && service == 'frontend'", { namespace: 'default', service: 'frontend' }, true],
  ["namespace == 'default' && service == 'frontend'", { namespace: 'default', service: 'database' }, false],
  // Words that are operators after a label are plain labels elsewhere.
  ['in == "x"', { in: 'x' }, true],
  ['has == "x"', { has: 'x' }, true],
  ['all == "x" || global == "y"', { global: 'y' }, true],
  ['not in {"a"}', { not: 'a' }, true],
  ['contains contains "x"', { contains: 'axb' }, true],
  ['a == "1"\t&&\nb == "2"', { a: '1', b: '2' }, true],
  // A label inherited from Object.prototype is not a label.
  ['has(constructor)', {}, false],
  ['toString == "x"', {}, false],
];

describe('selector evaluation', () => {
  for (const [selector, labels, matches] of EVALUATION) {
    test(`${JSON.stringify(selector)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(labels)}`, () => {
      assert.equal(parseSelector(selector).evaluate(labels), matches);
    });
  }
});

/** Each row: input text and its canonical form. */
const CANONICAL: ReadonlyArray<[input: string, canonical: string]> = [
  ['', 'all()'],
  ['   ', 'all()'],
  ['all( )', 'all()'],
  ['global( )', 'global()'],
  ["a=='b'", 'a == "b"'],
  ["a!='b'", 'a != "b"'],
  [`a == 'say "hi"'`, `a == 'say "hi"'`],
  [`a == "it's"`, `a == "it's"`],
  ["a in {'z','a','m','a'}", 'a in {"a", "m", "z"}'],
  ["a not in {'z' , 'a'}", 'a not in {"a", "z"}'],
  ['a in {}', 'a in {}'],
  ['a in {"x",}', 'a in {"x"}'],
  [`a in {'q"', "b"}`, `a in {"b", 'q"'}`],
  ['has( a.b/c )', 'has(a.b/c)'],
  ["a startswith 'x'", 'a starts with "x"'],
  ["a starts   with 'x'", 'a starts with "x"'],
  ["a endswith 'x'", 'a ends with "x"'],
  ["a ends with 'x'", 'a ends with "x"'],
  ["a contains 'x'", 'a contains "x"'],
  ['(a == "1")', 'a == "1"'],
  ['((a == "1"))', 'a == "1"'],
  ['a == "1" && (b == "2" && c == "3")', 'a == "1" && b == "2" && c == "3"'],
  ['(a == "1" || b == "2") || c == "3"', 'a == "1" || b == "2" || c == "3"'],
  ['a == "1" || (b == "2" && c == "3")', 'a == "1" || b == "2" && c == "3"'],
  ['(a == "1" || b == "2") && c == "3"', '(a == "1" || b == "2") && c == "3"'],
  ['!(a == "1")', '!a == "1"'],
  ['!(a == "1" && b == "2")', '!(a == "1" && b == "2")'],
  ['!(a == "1" || b == "2")', '!(a == "1" || b == "2")'],
  ['!!has(a)', 'has(a)'],
  ['!!!has(a)', '!has(a)'],
  ['!(!(has(a)))', 'has(a)'],
  ['a=="1"&&!has(b)||c in{"x"}', 'a == "1" && !has(b) || c in {"x"}'],
];

describe('canonical form', () => {
  for (const [input, canonical] of CANONICAL) {
    test(`${JSON.stringify(input)} prints as ${JSON.stringify(canonical)} and is a fixed point`, () => {
      const printed = parseSelector(input).toString();
      assert.equal(printed, canonical);
      assert.equal(parseSelector(printed).toString(), canonical);
    });
  }
});

describe('uniqueId', () => {
  test('is the same for two spellings of one selector', () => {
    assert.equal(
      parseSelector("a=='x' && b in {'2','1'}").uniqueId(),
      parseSelector('a == "x" && b in {"1", "2"}').uniqueId(),
    );
  });
  test('differs for different selectors', () => {
    assert.notEqual(parseSelector('a == "x"').uniqueId(), parseSelector('a == "y"').uniqueId());
  });
  test(`is ${SELECTOR_ID_LENGTH} base64url characters and fits an ipset name "cali40s:<id>" (31 max)`, () => {
    const id = parseSelector('a == "x"').uniqueId();
    assert.match(id, /^[A-Za-z0-9_-]+$/);
    assert.equal(id.length, SELECTOR_ID_LENGTH);
    assert.ok(`cali40s:${id}`.length <= 31);
  });
  test('is stable across releases (a fixed value for a fixed selector)', () => {
    // sha256("all()") in base64url, first 22 characters. Changing this renames every ipset.
    assert.equal(parseSelector('').uniqueId(), 'JagxTFX-YkWVyoC8GnqNsR');
  });
});

/** Each row: rejected text, and the position the error must name. */
const REJECTED: ReadonlyArray<[input: string, position: number]> = [
  ['b == b', 5],
  ['a b', 2],
  ['(', 1],
  ['foo in ""', 7],
  ["'FOO", 0],
  ['"FOO', 0],
  ['a == "1" &&', 11],
  ['a == "1" ||', 11],
  ['&& a == "1"', 0],
  ['a = "1"', 2],
  ['a == "1" & b == "2"', 9],
  ['a == "1" | b == "2"', 9],
  ['a ==', 4],
  ['a', 1],
  ['a in {"x"', 9],
  ['a in {"x" "y"}', 10],
  ['a in {x}', 6],
  ['a in ("x")', 5],
  ['has(a', 5],
  ['has()', 4],
  ['has(a == "b")', 6],
  ['all(x)', 4],
  ['global(x)', 7],
  ['(a == "1"', 9],
  ['a == "1")', 8],
  ['a == "1" b == "2"', 9],
  ['a starts "x"', 2],
  ['a ends "x"', 2],
  ['a not "x"', 2],
  ['a containsx "y"', 2],
  ['!', 1],
  ['a == "1" && !', 13],
  ['a @ "1"', 2],
  ['#a == "1"', 0],
  ['a == "1" && ()', 13],
  ['a == "1", b == "2"', 8],
  ['a in {"x"}}', 10],
];

describe('rejected selectors', () => {
  for (const [input, position] of REJECTED) {
    test(`${JSON.stringify(input)} is rejected at position ${position}`, () => {
      assert.throws(
        () => parseSelector(input),
        (err: unknown) => {
          assert.ok(err instanceof SelectorParseError, 'throws SelectorParseError');
          assert.equal(err.position, position);
          assert.equal(err.selector, input);
          assert.ok(
            err.message.includes(JSON.stringify(input)),
            `message quotes the selector: ${err.message}`,
          );
          assert.ok(
            err.message.includes(`position ${position}`),
            `message names the position: ${err.message}`,
          );
          return true;
        },
      );
    });
  }
});

describe('selector introspection', () => {
  test('labelKeys lists every label the selector reads', () => {
    assert.deepEqual([...parseSelector('a == "1" && (!has(b) || c in {"x"}) && all()').labelKeys()].sort(), [
      'a',
      'b',
      'c',
    ]);
  });
  test('requiredLabelValues intersects under && and unions under ||', () => {
    const req = parseSelector(
      '(a == "1" || a in {"2", "3"}) && b == "x" && (c == "1" || has(d))',
    ).requiredLabelValues();
    assert.deepEqual([...(req.get('a') ?? [])].sort(), ['1', '2', '3']);
    assert.deepEqual([...(req.get('b') ?? [])], ['x']);
    assert.equal(req.has('c'), false);
    assert.equal(req.has('d'), false);
  });
  test('requiredLabelValues is empty for a contradiction on one key', () => {
    assert.equal(parseSelector('a == "1" && a == "2"').requiredLabelValues().get('a')?.size, 0);
  });
});
