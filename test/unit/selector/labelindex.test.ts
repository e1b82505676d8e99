import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LabelIndex, parseSelector, type MatchEvent } from '../../../src/index.js';

function recorder(): { index: LabelIndex; events: MatchEvent[]; take(): string[] } {
  const events: MatchEvent[] = [];
  const index = new LabelIndex((e) => events.push(e));
  return {
    index,
    events,
    take: () =>
      events.splice(0).map((e) => `${e.kind === 'matchStarted' ? '+' : '-'}${e.selectorId}:${e.itemId}`),
  };
}

describe('label index events', () => {
  test('a selector added after the items starts matches for the matching items only', () => {
    const r = recorder();
    r.index.updateItem('ep1', { app: 'db' });
    r.index.updateItem('ep2', { app: 'web' });
    r.index.updateSelector('s', parseSelector('app == "db"'));
    assert.deepEqual(r.take(), ['+s:ep1']);
  });

  test('an item added after the selectors starts the matches it satisfies', () => {
    const r = recorder();
    r.index.updateSelector('db', parseSelector('app == "db"'));
    r.index.updateSelector('notweb', parseSelector('app != "web"'));
    r.index.updateSelector('never', parseSelector('app == "a" && app == "b"'));
    r.index.updateItem('ep1', { app: 'db' });
    assert.deepEqual(r.take().sort(), ['+db:ep1', '+notweb:ep1']);
  });

  test('a label change stops the old match and starts the new one', () => {
    const r = recorder();
    r.index.updateSelector('db', parseSelector('app == "db"'));
    r.index.updateSelector('web', parseSelector('app in {"web", "www"}'));
    r.index.updateItem('ep1', { app: 'db' });
    r.take();
    r.index.updateItem('ep1', { app: 'web' });
    assert.deepEqual(r.take().sort(), ['+web:ep1', '-db:ep1']);
  });

  test('a change to a label no selector reads emits nothing', () => {
    const r = recorder();
    r.index.updateSelector('db', parseSelector('app == "db"'));
    r.index.updateItem('ep1', { app: 'db', x: '1' });
    r.take();
    r.index.updateItem('ep1', { app: 'db', x: '2' });
    assert.deepEqual(r.take(), []);
  });

  test('a selector replaced under the same id emits only the difference', () => {
    const r = recorder();
    r.index.updateItem('a', { tier: 'front' });
    r.index.updateItem('b', { tier: 'back' });
    r.index.updateItem('c', { tier: 'data' });
    r.index.updateSelector('s', parseSelector('tier in {"front", "back"}'));
    r.take();
    r.index.updateSelector('s', parseSelector('tier in {"back", "data"}'));
    assert.deepEqual(r.take().sort(), ['+s:c', '-s:a']);
    r.index.updateSelector('s', parseSelector("tier in {'data','back'}"));
    assert.deepEqual(r.take(), [], 'same canonical selector: nothing to do');
  });

  test('deleting a selector or an item stops its matches', () => {
    const r = recorder();
    r.index.updateSelector('s', parseSelector('has(app)'));
    r.index.updateSelector('t', parseSelector('all()'));
    r.index.updateItem('ep1', { app: 'x' });
    r.take();
    r.index.deleteSelector('s');
    assert.deepEqual(r.take(), ['-s:ep1']);
    r.index.deleteItem('ep1');
    assert.deepEqual(r.take(), ['-t:ep1']);
    assert.equal(r.index.matchingItems('t').size, 0);
  });

  test('labels inherited from a parent match, and the item own labels win', () => {
    const r = recorder();
    r.index.updateSelector('db', parseSelector('role == "db"'));
    r.index.updateSelector('web', parseSelector('role == "web"'));
    r.index.updateParent('profile-a', { role: 'db' });
    r.index.updateItem('ep1', {}, ['profile-a']);
    assert.deepEqual(r.take(), ['+db:ep1']);
    r.index.updateItem('ep1', { role: 'web' }, ['profile-a']);
    assert.deepEqual(r.take().sort(), ['+web:ep1', '-db:ep1']);
  });

  test('the first parent that has a key wins over later parents', () => {
    const r = recorder();
    r.index.updateSelector('db', parseSelector('role == "db"'));
    r.index.updateParent('p1', { role: 'db' });
    r.index.updateParent('p2', { role: 'web' });
    r.index.updateItem('ep1', {}, ['p1', 'p2']);
    assert.deepEqual(r.take(), ['+db:ep1']);
    r.index.updateItem('ep1', {}, ['p2', 'p1']);
    assert.deepEqual(r.take(), ['-db:ep1']);
  });

  test('a parent known only after its child, then changed and deleted, re-checks the child', () => {
    const r = recorder();
    r.index.updateSelector('db', parseSelector('role == "db"'));
    r.index.updateItem('ep1', {}, ['p']);
    assert.deepEqual(r.take(), []);
    r.index.updateParent('p', { role: 'db' });
    assert.deepEqual(r.take(), ['+db:ep1']);
    r.index.updateParent('p', { role: 'web' });
    assert.deepEqual(r.take(), ['-db:ep1']);
    r.index.updateParent('p', { role: 'db' });
    r.take();
    r.index.deleteParent('p');
    assert.deepEqual(r.take(), ['-db:ep1']);
    assert.deepEqual([...(r.index.effectiveLabelsOf('ep1') ?? [])], []);
  });

  test('queries answer both ways', () => {
    const r = recorder();
    r.index.updateSelector('s1', parseSelector('a == "1"'));
    r.index.updateSelector('s2', parseSelector('has(a)'));
    r.index.updateItem('i1', { a: '1' });
    r.index.updateItem('i2', { a: '2' });
    assert.deepEqual([...r.index.matchingItems('s2')].sort(), ['i1', 'i2']);
    assert.deepEqual([...r.index.matchingSelectors('i1')].sort(), ['s1', 's2']);
  });
});

// Model check: after any sequence of operations, the matches the events describe equal a
// brute-force evaluation of every selector against every item's inherited labels.
const keys = ['a', 'b', 'c'];
const values = ['1', '2', '3'];
const labelsArb = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 3 });
const selectorTexts = [
  'a == "1"',
  'a != "1"',
  'a in {"1", "2"}',
  'a not in {"2"}',
  'has(b)',
  '!has(b)',
  'a == "1" && b == "2"',
  'a == "1" || b == "2"',
  '(a == "1" || a == "2") && c == "3"',
  'a == "1" && a == "2"',
  'all()',
  'b starts with "1" || c contains "3"',
  '!(a == "1" && has(c))',
];
const op = fc.oneof(
  fc.record({
    op: fc.constant('sel' as const),
    id: fc.constantFrom('s1', 's2', 's3', 's4'),
    text: fc.constantFrom(...selectorTexts),
  }),
  fc.record({ op: fc.constant('delsel' as const), id: fc.constantFrom('s1', 's2', 's3', 's4') }),
  fc.record({
    op: fc.constant('item' as const),
    id: fc.constantFrom('i1', 'i2', 'i3', 'i4', 'i5'),
    labels: labelsArb,
    parents: fc.subarray(['p1', 'p2']).chain((ps) => fc.shuffledSubarray(ps, { minLength: ps.length })),
  }),
  fc.record({ op: fc.constant('delitem' as const), id: fc.constantFrom('i1', 'i2', 'i3', 'i4', 'i5') }),
  fc.record({ op: fc.constant('parent' as const), id: fc.constantFrom('p1', 'p2'), labels: labelsArb }),
  fc.record({ op: fc.constant('delparent' as const), id: fc.constantFrom('p1', 'p2') }),
);

describe('label index model check', () => {
  test('events always describe exactly the brute-force matches', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const seen = new Set<string>();
        const index = new LabelIndex((e) => {
          const k = `${e.selectorId}|${e.itemId}`;
          if (e.kind === 'matchStarted') {
            assert.ok(!seen.has(k), `duplicate start ${k}`);
            seen.add(k);
          } else {
            assert.ok(seen.has(k), `stop without start ${k}`);
            seen.delete(k);
          }
        });
        const sels = new Map<string, string>();
        const items = new Map<string, { labels: Record<string, string>; parents: string[] }>();
        const parents = new Map<string, Record<string, string>>();
        for (const o of ops) {
          switch (o.op) {
            case 'sel':
              sels.set(o.id, o.text);
              index.updateSelector(o.id, parseSelector(o.text));
              break;
            case 'delsel':
              sels.delete(o.id);
              index.deleteSelector(o.id);
              break;
            case 'item':
              items.set(o.id, { labels: o.labels, parents: o.parents });
              index.updateItem(o.id, o.labels, o.parents);
              break;
            case 'delitem':
              items.delete(o.id);
              index.deleteItem(o.id);
              break;
            case 'parent':
              parents.set(o.id, o.labels);
              index.updateParent(o.id, o.labels);
              break;
            case 'delparent':
              parents.delete(o.id);
              index.deleteParent(o.id);
              break;
          }
          const expected = new Set<string>();
          for (const [sid, text] of sels) {
            for (const [iid, item] of items) {
              const merged: Record<string, string> = {};
              for (const p of [...item.parents].reverse()) Object.assign(merged, parents.get(p) ?? {});
              Object.assign(merged, item.labels);
              if (parseSelector(text).evaluate(merged)) expected.add(`${sid}|${iid}`);
            }
          }
          assert.deepEqual([...seen].sort(), [...expected].sort());
          for (const iid of ['i1', 'i2', 'i3', 'i4', 'i5']) {
            const want = [...expected].filter((k) => k.endsWith(`|${iid}`)).map((k) => k.split('|')[0]);
            assert.deepEqual(
              [...index.matchingSelectors(iid)].sort(),
              want.sort(),
              `selectors matching ${iid}`,
            );
          }
          for (const sid of sels.keys()) {
            const want = [...expected].filter((k) => k.startsWith(`${sid}|`)).map((k) => k.split('|')[1]);
            assert.deepEqual([...index.matchingItems(sid)].sort(), want.sort(), `items matching ${sid}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
