import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ourProgramArgv, packageRoot, PROGRAM_NODE_FLAGS } from '../../src/programs.js';

test('the package root is the directory with package.json, from the sources', () => {
  assert.ok(existsSync(join(packageRoot(), 'package.json')));
  assert.ok(existsSync(join(packageRoot(), 'examples', 'lab', 'tenant.yaml')));
});

test('our programs resolve to files that exist, compiled or from source', () => {
  for (const name of ['calico-node', 'calicoctl', 'calico', 'calico-lab'] as const) {
    for (const fromSource of [false, true]) {
      const argv = ourProgramArgv(name, fromSource);
      assert.ok(
        existsSync(argv.at(-1) as string),
        `${name} (${fromSource ? 'source' : 'default'}): ${argv.join(' ')}`,
      );
    }
  }
});

test('the compiled calico-lab finds its scenarios (what the README demo runs)', () => {
  const lab = join(packageRoot(), 'dist', 'bin', 'calico-lab.js');
  assert.ok(existsSync(lab), 'npm run build has produced dist/ (the test command builds first)');
  const r = spawnSync(process.execPath, [lab, 'list'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^scenarios: .*\btenant\b.*\btenant-fixed\b/m);
});

test('each program starts with its node flags, from ourProgramArgv and from its #! line alike', () => {
  for (const name of ['calico-node', 'calicoctl', 'calico', 'calico-ipam', 'calico-lab'] as const) {
    const flags = PROGRAM_NODE_FLAGS[name];
    for (const fromSource of [false, true]) {
      const argv = ourProgramArgv(name, fromSource);
      assert.deepEqual(argv.slice(1, 1 + flags.length), flags, `${name}: ${argv.join(' ')}`);
    }
    const shebang = readFileSync(join(packageRoot(), 'bin', `${name}.ts`), 'utf8').split('\n')[0];
    assert.equal(
      shebang,
      flags.length === 0 ? '#!/usr/bin/env node' : `#!/usr/bin/env -S node ${flags.join(' ')}`,
      `bin/${name}.ts`,
    );
  }
  assert.deepEqual(PROGRAM_NODE_FLAGS['calico-node'], ['--max-semi-space-size=1']);
});
