// Run by bench/cni/run.ts inside the bench's host namespace: the same ADD and DEL as the plugin, called
// in one long-lived process, so the table can split a call's latency into process start-up and the
// plugin's own work (datastore, IPAM, kernel, endpoint). Two ways:
//   direct: as the Node executable does it (datastore opened per call, a Node child process per command)
//   server: as calico-node's CNI server does it (its open datastore, commands through one shell)
// Also counts the processes each call starts. Prints JSON on stdout.
//   argv: <sqlite path> <count> <netns prefix>
import { SqliteDatastore } from '../../src/datastore/sqlite.js';
import { ProcessRunner, type CommandRunner } from '../../src/kernel/runner.js';
import { runCalicoPlugin, type PluginEnvironment } from '../../src/cni/run-plugin.js';
import { ShellSessionRunner } from '../../src/cni/shell-session-runner.js';

const [sqlitePath = '', countText, nsPrefix] = process.argv.slice(2);
const count = Number(countText);
const conf = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'inprocnet',
  type: 'calico',
  nodename: 'bench-node',
  datastore_type: 'sqlite',
  sqlite_path: sqlitePath,
  ipam: { type: 'calico-ipam' },
});

/** Counts the processes a call starts. */
class CountingRunner implements CommandRunner {
  started = 0;
  constructor(private readonly inner: CommandRunner) {}
  run(...args: Parameters<CommandRunner['run']>) {
    this.started += 1;
    return this.inner.run(...args);
  }
}

async function measure(
  mode: string,
  extra: (runner: CommandRunner) => Partial<PluginEnvironment>,
  runner: CountingRunner,
) {
  const out = { add: [] as number[], del: [] as number[], processesPerAdd: 0, processesPerDel: 0 };
  for (const command of ['ADD', 'DEL'] as const) {
    runner.started = 0;
    for (let i = 0; i < count; i++) {
      const env = {
        CNI_COMMAND: command,
        CNI_CONTAINERID: `${mode}${i}`,
        CNI_NETNS: `/run/netns/${nsPrefix}${i}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: '',
      };
      const started = process.hrtime.bigint();
      const r = await runCalicoPlugin({ env, stdin: conf, ...extra(runner) });
      (command === 'ADD' ? out.add : out.del).push(Number(process.hrtime.bigint() - started) / 1e6);
      if (r.exitCode !== 0) throw new Error(`${mode} ${command} ${i}: ${r.stdout}`);
    }
    out[command === 'ADD' ? 'processesPerAdd' : 'processesPerDel'] = runner.started / count;
  }
  return out;
}

// As the executable does: the datastore is not closed after the call (see run-plugin.ts).
const direct = await measure(
  'direct',
  (runner) => ({ runner, exitsAfterCall: true }),
  new CountingRunner(new ProcessRunner()),
);
const store = await SqliteDatastore.open(sqlitePath);
const shell = new ShellSessionRunner();
const server = await measure(
  'server',
  (runner) => ({ runner, datastores: { open: async () => ({ datastore: store, shared: true }) } }),
  new CountingRunner(shell),
);
await shell.close();
process.stdout.write(JSON.stringify({ direct, server }) + '\n');
process.exit(0);
