/**
 * Connectivity probes between network namespaces: ICMP with ping, TCP with a connect attempt
 * (netcat `-z`), and listeners to connect to. Each probe is one short process and they run in
 * parallel, so a matrix of denied cells (which wait for their timeout) still finishes quickly.
 */
import { spawn, type ChildProcess } from 'node:child_process';

function run(args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('ip', args, { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
    child.on('error', () => resolve(127));
  });
}

/** True if one ping from `ns` to `ip` is answered within `timeoutS` seconds. */
export async function probeIcmp(ns: string, ip: string, timeoutS = 1): Promise<boolean> {
  const six = ip.includes(':') ? ['-6'] : [];
  return (
    (await run(
      ['netns', 'exec', ns, 'ping', ...six, '-n', '-q', '-c', '1', '-W', String(timeoutS), ip],
      (timeoutS + 2) * 1000,
    )) === 0
  );
}

/** True if a TCP connection from `ns` to `ip:port` is accepted within `timeoutS` seconds. */
export async function probeTcp(ns: string, ip: string, port: number, timeoutS = 1): Promise<boolean> {
  return (
    (await run(
      ['netns', 'exec', ns, 'nc', '-z', '-n', '-w', String(timeoutS), ip, String(port)],
      (timeoutS + 2) * 1000,
    )) === 0
  );
}

/** TCP listeners in a namespace (one `nc -lk` per port); `stop()` ends them. */
export class Listeners {
  private readonly children: ChildProcess[] = [];

  constructor(ns: string, ports: readonly number[]) {
    for (const port of ports) {
      const child = spawn('ip', ['netns', 'exec', ns, 'nc', '-lk', '-n', String(port)], { stdio: 'ignore' });
      child.on('error', () => undefined);
      this.children.push(child);
    }
  }

  stop(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }
}
