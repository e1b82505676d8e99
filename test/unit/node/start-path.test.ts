/**
 * What calico-node loads before it knows which components run: the static imports reachable from
 * bin/calico-node.ts (as TypeScript compiles them: imports used only as types are gone). Felix, the
 * BGP speaker, the CNI plugins' code, commander, the YAML parser and the etcd client are each loaded
 * where they are used, so a host that runs without them does not keep them resident
 * (bench/node-memory). A static import of
 * one of them on the start path brings that memory back; this test names the chain that does it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Module specifiers a compiled file imports statically (import/export ... from, bare import). */
function staticImports(file: string): string[] {
  const js = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (let m = re.exec(js); m; m = re.exec(js)) out.push(m[1] as string);
  return out;
}

/** Every file and package reachable by static imports, with the file that first imports it. */
function startPath(entry: string): Map<string, string | undefined> {
  const seen = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  for (let file = queue.shift(); file; file = queue.shift()) {
    for (const spec of staticImports(join(ROOT, file))) {
      if (spec.startsWith('node:')) continue;
      const target = spec.startsWith('.')
        ? relative(ROOT, resolve(dirname(join(ROOT, file)), spec.replace(/\.js$/, '.ts')))
        : spec;
      if (seen.has(target)) continue;
      seen.set(target, file);
      if (spec.startsWith('.') && existsSync(join(ROOT, target))) queue.push(target);
    }
  }
  return seen;
}

function chain(path: Map<string, string | undefined>, target: string): string {
  const steps = [target];
  for (let from = path.get(target); from; from = path.get(from)) steps.unshift(from);
  return steps.join(' → ');
}

describe("calico-node's start path", () => {
  const path = startPath('bin/calico-node.ts');
  const NOT_ON_IT = [
    { what: 'Felix', matches: (m: string) => m.startsWith('src/felix/') },
    { what: 'the BGP speaker', matches: (m: string) => m === 'src/bgp/speaker/agent.ts' },
    { what: "the CNI plugins' code", matches: (m: string) => m === 'src/cni/run-plugin.ts' },
    { what: 'IPAM', matches: (m: string) => m === 'src/ipam/index.ts' || m === 'src/ipam/client.ts' },
    { what: 'commander', matches: (m: string) => m === 'commander' },
    { what: 'the YAML parser', matches: (m: string) => m === 'yaml' },
    { what: 'the etcd client', matches: (m: string) => m === 'etcd3' || m === 'src/datastore/etcd.ts' },
  ];
  test('reaches the daemon (the walk follows imports)', () => {
    for (const m of ['src/node/main.ts', 'src/node/daemon.ts', 'src/bgp/speaker/status-socket.ts', 'pino'])
      assert.ok(path.has(m), `${m} should be on the start path`);
  });
  for (const row of NOT_ON_IT) {
    test(`does not load ${row.what} statically`, () => {
      const found = [...path.keys()].filter(row.matches);
      assert.deepEqual(
        found.map((m) => chain(path, m)),
        [],
        'load it with import() where it is used',
      );
    });
  }
});

describe('what Felix loads when it starts', () => {
  const path = startPath('src/felix/agent.ts');
  const NOT_ON_IT = [
    { what: 'the YAML parser', matches: (m: string) => m === 'yaml' },
    {
      what: 'the v1 format and the YAML codecs',
      matches: (m: string) => m === 'src/api/v1.ts' || m === 'src/api/codec.ts',
    },
  ];
  test('reaches policy resolution (the walk follows imports)', () => {
    assert.ok(path.has('src/policy/resolve.ts'));
  });
  for (const row of NOT_ON_IT) {
    test(`does not include ${row.what}`, () => {
      assert.deepEqual(
        [...path.keys()].filter(row.matches).map((m) => chain(path, m)),
        [],
        'load it where it is used',
      );
    });
  }
});
