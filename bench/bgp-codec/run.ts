/**
 * BGP codec throughput: encode and decode of UPDATEs packed with IPv4 /24 prefixes (the shape of a
 * full-table transfer), plus IPv6 /48 for comparison. Reports messages/s and prefixes/s.
 * Run: node --import tsx bench/bgp-codec/run.ts [prefixCount]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Origin, type PathAttributes, type Prefix } from '../../src/bgp/types.js';
import {
  decodeMessage,
  encodeUpdates,
  encodeWithdrawals,
  MessageFramer,
  type CodecContext,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;
const ctx: CodecContext = { fourOctetAs: true };

const attrs: PathAttributes = {
  origin: Origin.IGP,
  asPath: [{ type: 'sequence', asns: [65001, 65002, 4200000001] }],
  nextHop: '192.0.2.1',
  med: 10,
  localPref: 100,
  communities: [65001 * 65536 + 1],
};
const v4: Prefix[] = Array.from({ length: N }, (_, i) => ({
  family: 'ipv4',
  address: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0`,
  length: 24,
}));
const v6: Prefix[] = Array.from({ length: N / 4 }, (_, i) => ({
  family: 'ipv6',
  address: `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::`,
  length: 64,
}));

interface Row {
  case: string;
  messages: number;
  prefixes: number;
  bestMs: number;
  messagesPerSec: number;
  prefixesPerSec: number;
}

function measure(name: string, prefixes: number, run: () => number): Row {
  let best = Infinity;
  let messages = 0;
  run(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    messages = run();
    best = Math.min(best, performance.now() - t0);
  }
  return {
    case: name,
    messages,
    prefixes,
    bestMs: Number(best.toFixed(1)),
    messagesPerSec: Math.round(messages / (best / 1000)),
    prefixesPerSec: Math.round(prefixes / (best / 1000)),
  };
}

function decodeAll(msgs: Buffer[]): number {
  let seen = 0;
  for (const m of msgs) {
    const u = decodeMessage(m, ctx) as UpdateMessage;
    seen += u.announced[0]?.prefixes.length ?? u.withdrawn.length;
  }
  if (seen === 0) throw new Error('decoded nothing');
  return msgs.length;
}

const v4Msgs = encodeUpdates(attrs, v4, ctx);
const v4Withdraw = encodeWithdrawals(v4, ctx);
const v6Msgs = encodeUpdates({ ...attrs, nextHop: '2001:db8::1' }, v6, ctx);
const stream = Buffer.concat(v4Msgs);
// Churn: one prefix per UPDATE, where per-message cost (header, attributes) dominates.
const CHURN = 20_000;
const singles = v4.slice(0, CHURN).map((p) => encodeUpdates(attrs, [p], ctx)[0]!);

const rows: Row[] = [
  measure(`encode ${N} IPv4 /24 announcements`, N, () => encodeUpdates(attrs, v4, ctx).length),
  measure(`decode ${N} IPv4 /24 announcements`, N, () => decodeAll(v4Msgs)),
  measure(`frame+decode ${N} IPv4 /24 from 64 KiB chunks`, N, () => {
    const framer = new MessageFramer();
    let count = 0;
    for (let at = 0; at < stream.length; at += 65536) {
      const msgs = framer.push(stream.subarray(at, at + 65536));
      if (msgs.length > 0) count += decodeAll(msgs);
    }
    return count;
  }),
  measure(`encode ${CHURN} single-prefix UPDATEs`, CHURN, () => {
    for (let i = 0; i < CHURN; i++) encodeUpdates(attrs, [v4[i]!], ctx);
    return CHURN;
  }),
  measure(`decode ${CHURN} single-prefix UPDATEs`, CHURN, () => decodeAll(singles)),
  measure(`encode ${N} IPv4 withdrawals`, N, () => encodeWithdrawals(v4, ctx).length),
  measure(`decode ${N} IPv4 withdrawals`, N, () => decodeAll(v4Withdraw)),
  measure(
    `encode ${N / 4} IPv6 /64 announcements`,
    N / 4,
    () => encodeUpdates({ ...attrs, nextHop: '2001:db8::1' }, v6, ctx).length,
  ),
  measure(`decode ${N / 4} IPv6 /64 announcements`, N / 4, () => decodeAll(v6Msgs)),
];

console.table(rows);
const results = {
  prefixes: N,
  prefixesPerIPv4Message: Math.round(N / v4Msgs.length),
  rows,
  node: process.version,
  date: new Date().toISOString(),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/bgp-codec.json', JSON.stringify(results, null, 2) + '\n');
console.log('wrote bench/results/bgp-codec.json');
