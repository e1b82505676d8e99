// Run by bench/cni/run.ts inside the bench's host namespace: the same ADD and DEL as the plugin
// executable, called in one long-lived process, so the table can split a call's latency into Node
// start-up and the plugin's own work (datastore, IPAM, kernel, endpoint). Prints JSON on stdout.
//   argv: <sqlite path> <count> <netns prefix>
import { runCalicoPlugin } from '../../src/cni/run-plugin.js';

const [sqlitePath, countText, nsPrefix] = process.argv.slice(2);
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
const add: number[] = [];
const del: number[] = [];
for (const [command, out] of [
  ['ADD', add],
  ['DEL', del],
] as const)
  for (let i = 0; i < count; i++) {
    const env = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: `inproc${i}`,
      CNI_NETNS: `/run/netns/${nsPrefix}${i}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '',
    };
    const started = process.hrtime.bigint();
    // As the executable does: the datastore is not closed after the call (see run-plugin.ts).
    const r = await runCalicoPlugin({ env, stdin: conf, exitsAfterCall: true });
    out.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (r.exitCode !== 0) throw new Error(`${command} ${i}: ${r.stdout}`);
  }
process.stdout.write(JSON.stringify({ add, del }) + '\n');
