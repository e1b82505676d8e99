/**
 * Ping flows between lab workloads, read from ping's own output (it prints one line per reply, and
 * flushes each, so a reply is seen as it arrives): the moment of the first reply to a new container,
 * and the replies lost on an established flow. One long-running `ping` per flow rather than one
 * process per probe, so the resolution is the ping interval, not process start-up on a busy machine.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const REPLY = /bytes from .*icmp_seq=(\d+)/;

function pingIn(ns: string, ip: string, intervalSec: number): ChildProcessWithoutNullStreams {
  // -n: no name look-ups; -W 1: a probe without a reply is given up after a second.
  return spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-W', '1', '-i', String(intervalSec), ip]);
}

/**
 * Pings `ip` from namespace `ns` every `intervalSec` until the first reply; resolves with the
 * `performance.now()` of that reply, or undefined after `timeoutMs`.
 */
export function firstReply(
  ns: string,
  ip: string,
  timeoutMs: number,
  intervalSec = 0.02,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    const ping = pingIn(ns, ip, intervalSec);
    let done = false;
    const finish = (at: number | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ping.kill('SIGKILL');
      resolve(at);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    ping.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (REPLY.test(chunk)) finish(performance.now());
    });
    ping.on('close', () => finish(undefined));
  });
}

export interface FlowCount {
  /** Echo requests up to the last one answered (later ones may just be in flight when stopped). */
  readonly sent: number;
  readonly received: number;
  /** Sequence numbers before the last reply that got no reply. */
  readonly lost: readonly number[];
}

export interface ContinuousFlow {
  /** Resolves once the flow has had its first reply (it is established). */
  readonly established: Promise<void>;
  readonly stop: () => Promise<FlowCount>;
}

/** A continuous ping from `ns` to `ip`; `stop()` counts what was lost. */
export function continuousPing(ns: string, ip: string, intervalSec = 0.05): ContinuousFlow {
  const ping = pingIn(ns, ip, intervalSec);
  const replies = new Set<number>();
  let buffered = '';
  let onFirst: () => void = () => undefined;
  const established = new Promise<void>((resolve) => (onFirst = resolve));
  ping.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const m = REPLY.exec(line);
      if (!m) continue;
      replies.add(Number(m[1]));
      onFirst();
    }
  });
  const closed = new Promise<void>((resolve) => ping.on('close', () => resolve()));
  return {
    established,
    stop: async () => {
      ping.kill('SIGINT');
      await closed;
      if (replies.size === 0) return { sent: 0, received: 0, lost: [] };
      const last = Math.max(0, ...replies);
      const first = Math.min(last, ...replies);
      const lost: number[] = [];
      for (let seq = first; seq <= last; seq++) if (!replies.has(seq)) lost.push(seq);
      return { sent: last - first + 1, received: replies.size, lost };
    },
  };
}
