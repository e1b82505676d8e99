/**
 * The BGP speaker of calico-node: datastore → peerings → sessions → RIB → kernel FIB, and our
 * blocks out to the peers.
 *
 * Two syncers feed it (all resources, and this host's IPAM affinities), as they feed Felix. Every
 * change that matters to BGP re-plans the peerings (src/bgp/config) and diffs them against the
 * running sessions: a session whose wire-level settings are unchanged keeps running (a changed
 * route-reflector-client or next-hop setting is applied to the RIB in place), a new peer gets a
 * new session, a removed one is closed with a Cease (Hard Reset, so a peer that negotiated RFC
 * 8538 drops our routes at once). The originated prefixes (affine blocks plus borrowed workload
 * addresses) are diffed into the RIB the same way.
 *
 * Session events go into the RIB; a flush (coalesced: one per turn of the event loop at most, and
 * while a session is still taking a burst of UPDATEs one per 100 ms, see flush-pacing.ts)
 * sends each peer its UPDATEs and hands the Loc-RIB changes to the FIB, which writes the kernel
 * in one `ip -batch` and repairs drift on a periodic full sync.
 *
 * Graceful restart (RFC 4724), both roles. As receiving speaker, a peer that advertised the
 * capability and dropped (no NOTIFICATION, or one RFC 8538 allows) keeps its routes, stale, until
 * it comes back and sends End-of-RIB or its restart time passes. As restarting speaker: on start
 * we look for routes of ours left in the kernel; if there are some, forwarding was preserved, so
 * our OPENs carry the R and F bits, the RIB defers selection until the peers' End-of-RIB (or the
 * deferral timer), and only then is the FIB diffed, so routes stay in place across the restart.
 * On a clean stop with graceful restart on (the default, like BIRD's `persist` kernel protocol in
 * Calico) the kernel routes are kept and the sessions closed with Administrative Shutdown, which
 * peers that set the N bit treat as a restart; with it off, our routes are removed.
 */
import { RESOURCE_PREFIX } from '../../api/kinds.js';
import { decodeResource } from '../../datastore/resources.js';
import { followPrefix, type SyncerUpdate } from '../../datastore/syncer.js';
import type { Datastore } from '../../datastore/types.js';
import { hostAffinityPrefix, parseAffinityKey } from '../../ipam/keys.js';
import type { CommandRunner } from '../../kernel/runner.js';
import type { Logger } from '../../log.js';
import { formatCidr } from '../../net/ip.js';
import { planNodePeerings, type DesiredPeer, type NodeBgpPlan } from '../config/index.js';
import { KernelFib, routeWriterFor, type RouteWriter } from '../fib/index.js';
import { Rib, type ExportPolicy, type RibPeer, type RouteChange } from '../rib/index.js';
import {
  BgpListener,
  BgpSession,
  systemClock,
  type Clock,
  type NegotiatedSession,
  type PeerConfig,
  type SessionDown,
} from '../session/index.js';
import { CeaseSubcode, formatAsPath, type UpdateMessage } from '../wire/index.js';
import type { Prefix } from '../types.js';
import { calicoExportPolicy } from './export-filter.js';
import { FibNextHops } from './fib-next-hops.js';
import { flushDue } from './flush-pacing.js';
import { diffPrefixes, originatedPrefixes, prefixText } from './origination.js';
import { sessionNextHops } from './next-hop-self.js';
import { SpeakerInputs, resourceKeyParts, type InputUpdate } from './inputs.js';
import type { PeerRoutesReply, PeerStatus, SpeakerStatus } from './status.js';

export interface BgpAgentOptions {
  readonly nodeName: string;
  readonly datastore: Datastore;
  readonly runner: CommandRunner;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** CALICO_ROUTER_ID: an IPv4 address, or `hash`; default the node's IPv4 address. */
  readonly routerId?: string;
  /** Graceful restart in both roles, and keeping kernel routes on stop (default true). */
  readonly gracefulRestart?: boolean;
  /** Restart time we advertise (default 120 s, as Calico's mesh); a BGPPeer's maxRestartTime overrides it. */
  readonly restartTimeSec?: number;
  /** How long a restarted speaker waits for End-of-RIB before deciding anyway (default 30 s). */
  readonly selectionDeferralMs?: number;
  readonly holdTimeSec?: number;
  /** Seconds between connection attempts (Calico's BIRD: `connect retry time 3`). */
  readonly connectRetrySec?: number;
  /** Seconds idle after a session error (Calico's BIRD: `error wait time 5,60`). */
  readonly idleHoldSec?: number;
  /** Period of the full FIB re-read and repair (default 90 s). */
  readonly fibResyncIntervalMs?: number;
  /** How routes reach the kernel (default: routeWriterFor(runner): the netlink coprocess, or `ip -batch`). */
  readonly routeWriter?: RouteWriter;
  readonly ipv6?: boolean;
  /**
   * Listen on the node's own address instead of all addresses, so several speakers share one
   * network namespace (in-process tests on 127.0.0.x); BIRD in Calico listens on all.
   */
  readonly bindToNodeAddress?: boolean;
  /**
   * `calico` (default): advertise only our blocks and prefixes inside IP pools, as Calico's
   * export filter does; `all`: everything the RIB would advertise (a plain router, for tests).
   */
  readonly exportFilter?: 'calico' | 'all';
}

export interface BgpAgentMetrics {
  updatesReceived: number;
  updatesSent: number;
  fibSyncs: number;
  fibErrors: number;
  resyncs: number;
}

const DEFAULT_RESTART_TIME_SEC = 120;
/**
 * Routes sent to the FIB's writer per turn of the event loop (see feedFib). A cold calico-node
 * took 75-100 ms to prepare a 10k table for the FIB and the writer 65-75 ms more to install it
 * after that; in parts, the writer (a coprocess, on the other core) installs while the rest is
 * prepared.
 */
const FIB_PUSH_ROUTES = 1024;
/**
 * Parts sent to the writer and not yet answered, at most (see feedFib): ~60 ms of the kernel's
 * work at 500k routes in 3.9 s, so the writer never waits for us, while the rest of a table
 * waits as keys in the FIB's queue (8 bytes a route) instead of as text in a pipe (about 40).
 */
const FIB_PARTS_IN_FLIGHT = 8;

/** One configured peer and its running session. */
interface PeerEntry {
  desired: DesiredPeer;
  readonly session: BgpSession;
  /** The settings the session was created with; a change to these means a new session. */
  readonly wireKey: string;
  removing: boolean;
  ribUp: boolean;
  updatesReceived: number;
  updatesSent: number;
}

function toInputUpdate(u: SyncerUpdate): InputUpdate | undefined {
  if (u.type === 'added' || u.type === 'modified') return { type: 'set', resource: decodeResource(u.kv) };
  if (u.type === 'deleted') {
    const parts = resourceKeyParts(u.key);
    return parts ? { type: 'delete', ...parts } : undefined;
  }
  return undefined;
}

/** Calico exports a block once its affinity is confirmed (or carries no state, as older ones). */
function affinityConfirmed(value: string): boolean {
  try {
    const state = (JSON.parse(value) as { state?: unknown } | null)?.state;
    return state === undefined || state === 'confirmed';
  } catch {
    return true;
  }
}

export class BgpAgent {
  readonly metrics: BgpAgentMetrics = {
    updatesReceived: 0,
    updatesSent: 0,
    fibSyncs: 0,
    fibErrors: 0,
    resyncs: 0,
  };
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly inputs: SpeakerInputs;
  private readonly fib: KernelFib;
  private readonly abort = new AbortController();
  private readonly tasks: Promise<void>[] = [];
  private readonly peers = new Map<string, PeerEntry>();
  private readonly gracefulRestart: boolean;
  private resourcesInSync = false;
  private blocksInSync = false;
  private plan: NodeBgpPlan | undefined;
  private rib: Rib | undefined;
  private ribKey = '';
  private listener: BgpListener | undefined;
  private listenerKey: string | undefined;
  private originated: Prefix[] = [];
  private exportPolicy: ExportPolicy | undefined;
  private exportPolicyKey = '';
  private restarting = false;
  private stopped = false;
  private replanQueued = false;
  private replanning: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private fibRunning: Promise<void> | undefined;
  private fibPending = false;
  private fibFullPending = false;
  private cancelStaleTimer: (() => void) | undefined;
  private cancelDeferral: (() => void) | undefined;
  private fibTimer: NodeJS.Timeout | undefined;
  /** A full sync after the writer lost track of the kernel, backing off while it keeps failing. */
  private fibRetryTimer: NodeJS.Timeout | undefined;
  private fibRetryMs = 0;
  private lastProblems = '';
  private noPlanLogged = false;
  private readyResolve: (() => void) | undefined;
  private readonly readyPromise: Promise<void>;

  constructor(private readonly opts: BgpAgentOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.inputs = new SpeakerInputs(opts.nodeName);
    this.fib = new KernelFib(opts.runner, {
      ipv6: opts.ipv6 ?? true,
      writer: opts.routeWriter ?? routeWriterFor(opts.runner, { log: this.log }),
    });
    this.gracefulRestart = opts.gracefulRestart ?? true;
    this.readyPromise = new Promise((resolve) => (this.readyResolve = resolve));
  }

  async start(): Promise<void> {
    if (this.gracefulRestart) {
      try {
        const left = await this.fib.readKernel();
        this.restarting = left.size > 0;
        if (this.restarting) {
          this.log.info(
            { routes: left.size },
            'routes of a previous run are in the kernel: restarting gracefully (forwarding preserved)',
          );
        }
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'could not read kernel routes; starting fresh');
      }
    }
    this.tasks.push(
      this.follow(
        RESOURCE_PREFIX,
        (u) => {
          const update = toInputUpdate(u);
          return update !== undefined && this.inputs.apply(update);
        },
        () => (this.resourcesInSync = true),
      ),
      this.follow(
        hostAffinityPrefix(this.opts.nodeName),
        (u) => {
          const key =
            u.type === 'deleted' ? u.key : u.type === 'added' || u.type === 'modified' ? u.kv.key : '';
          const parsed = parseAffinityKey(key);
          const present = (u.type === 'added' || u.type === 'modified') && affinityConfirmed(u.kv.value);
          return parsed !== undefined && this.inputs.setBlock(formatCidr(parsed.cidr), present);
        },
        () => (this.blocksInSync = true),
      ),
    );
    const every = this.opts.fibResyncIntervalMs ?? 90_000;
    this.fibTimer = setInterval(() => this.syncFib(true), Math.max(100, every));
  }

  /** Resolves once the configuration has been read and the sessions started. */
  waitReady(timeoutMs = 30_000): Promise<void> {
    return Promise.race([
      this.readyPromise,
      new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error(`BGP not ready after ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    if (this.fibTimer) clearInterval(this.fibTimer);
    if (this.fibRetryTimer) clearTimeout(this.fibRetryTimer);
    this.cancelStaleTimer?.();
    this.cancelDeferral?.();
    // A re-plan under way checks `stopped` after each await, so none starts a session after this.
    await this.replanning;
    const subcode = this.gracefulRestart ? CeaseSubcode.AdministrativeShutdown : CeaseSubcode.HardReset;
    await Promise.all([...this.peers.values()].map((e) => this.closePeer(e, subcode)));
    await this.listener?.close();
    await Promise.allSettled(this.tasks);
    // Routes learned just before the stop are in the FIB's desired state like every other.
    this.fib.push();
    await this.fibRunning;
    if (!this.gracefulRestart) {
      const report = await this.fib.removeAll();
      if (report.errors.length) this.log.warn({ errors: report.errors }, 'could not remove all BGP routes');
    } else {
      this.log.info({ routes: this.fib.size }, 'keeping BGP routes in the kernel (graceful restart)');
    }
    await this.fib.close();
  }

  // ---- datastore -----------------------------------------------------------------------------

  private follow(prefix: string, onUpdate: (u: SyncerUpdate) => boolean, onSync: () => void): Promise<void> {
    return followPrefix(
      this.opts.datastore,
      prefix,
      {
        change: onUpdate,
        inSync: onSync,
        resyncing: (reason) => {
          this.metrics.resyncs++;
          this.log.warn({ reason }, 'datastore watch lost; resyncing');
        },
        settle: () => this.queueReplan(),
        failed: (e) => this.log.error({ err: (e as Error).message, prefix }, 'syncer stopped'),
      },
      { signal: this.abort.signal },
    );
  }

  private queueReplan(): void {
    if (this.replanQueued || this.stopped || !this.resourcesInSync || !this.blocksInSync) return;
    this.replanQueued = true;
    setImmediate(() => {
      this.replanQueued = false;
      // One re-plan at a time: a change during one (it awaits the listener) queues the next.
      this.replanning = this.replanning
        .then(() => (this.stopped ? undefined : this.replan()))
        .catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'BGP re-plan failed'));
    });
  }

  // ---- peerings ------------------------------------------------------------------------------

  private async replan(): Promise<void> {
    const plan = planNodePeerings(
      this.opts.nodeName,
      this.inputs.resources(),
      this.opts.routerId !== undefined ? { routerId: this.opts.routerId } : {},
    );
    const problems = plan?.problems.join('; ') ?? '';
    if (problems !== this.lastProblems && problems !== '')
      this.log.warn({ problems }, 'BGP configuration problems');
    this.lastProblems = problems;
    if (plan === undefined) {
      if (!this.noPlanLogged) {
        this.log.warn(
          { node: this.opts.nodeName },
          'this node has no Node resource with spec.bgp.ipv4Address or ipv6Address: not running BGP until it has',
        );
        this.noPlanLogged = true;
      }
      await this.stopAll();
      this.readyResolve?.();
      return;
    }
    this.noPlanLogged = false;
    const ribKey = `${plan.routerId}|${plan.asNumber}|${plan.clusterId ?? ''}`;
    if (this.rib === undefined || ribKey !== this.ribKey) {
      if (this.rib !== undefined) {
        this.log.info(
          { routerId: plan.routerId, asNumber: plan.asNumber },
          'router id or AS changed: restarting BGP',
        );
        await this.stopAll();
        if (this.stopped) return;
      }
      this.rib = new Rib({
        routerId: plan.routerId,
        localAs: plan.asNumber,
        ...(plan.clusterId !== undefined ? { clusterId: plan.clusterId } : {}),
      });
      this.ribKey = ribKey;
      this.originated = [];
      // The new RIB starts empty: routes the old one put in the FIB go until re-learned.
      const stale = this.fib.routes();
      for (const route of stale) this.fib.delete(route.prefix);
      if (stale.length > 0) this.syncFib(false);
    }
    this.plan = plan;
    await this.ensureListener(plan);
    if (this.stopped) return;
    this.reconcilePeers(plan);
    this.reconcileOriginated();
    this.reconcileExportPolicy();
    if (this.restarting && this.rib.selectionDeferred === false && this.cancelDeferral === undefined) {
      this.startDeferral(plan);
    }
    this.queueFlush();
    this.readyResolve?.();
  }

  private startDeferral(plan: NodeBgpPlan): void {
    const rib = this.rib;
    if (!rib) return;
    rib.deferSelection(plan.peers.map((p) => p.address));
    const ms = this.opts.selectionDeferralMs ?? 30_000;
    this.cancelDeferral = this.clock.schedule(ms, () => {
      if (rib.selectionDeferred) {
        this.log.warn(
          { afterMs: ms },
          'not every peer sent End-of-RIB after our restart; deciding routes anyway',
        );
        rib.endSelectionDeferral();
      }
      this.restarting = false;
      this.queueFlush();
    });
  }

  private async ensureListener(plan: NodeBgpPlan): Promise<void> {
    const port = plan.listenPort;
    const address = this.opts.bindToNodeAddress ? (plan.ipv4 ?? plan.ipv6) : undefined;
    const key = `${address ?? '*'}|${port}`;
    if (this.listener !== undefined && this.listenerKey === key) return;
    // Not awaited: a server's close waits for the connections it accepted, which belong to
    // sessions that live on (or are closed by reconcilePeers, after this). It stops listening at once.
    void this.listener?.close();
    const listener = new BgpListener({ port, ...(address !== undefined ? { address } : {}) });
    listener.onRejected((remote) =>
      this.log.debug({ remote }, 'BGP connection from an unknown address refused'),
    );
    for (const e of this.peers.values()) listener.addSession(e.session);
    try {
      await listener.listen();
      this.listener = listener;
      this.listenerKey = key;
      this.log.info({ port, address: address ?? 'all' }, 'BGP listening');
    } catch (e) {
      this.listener = undefined;
      this.listenerKey = undefined;
      this.log.error(
        { port, err: (e as Error).message },
        'cannot listen for BGP; only outgoing sessions will work',
      );
    }
  }

  private wireKeyOf(plan: NodeBgpPlan, p: DesiredPeer): string {
    return JSON.stringify([
      plan.routerId,
      plan.asNumber,
      p.asNumber,
      p.port,
      p.passive,
      p.sourceAddress ?? '',
      p.family,
      p.restartTimeSec ?? '',
    ]);
  }

  private reconcilePeers(plan: NodeBgpPlan): void {
    const wanted = new Map(plan.peers.map((p) => [p.address, p]));
    for (const [address, entry] of this.peers) {
      const want = wanted.get(address);
      if (want === undefined || this.wireKeyOf(plan, want) !== entry.wireKey) {
        this.log.info(
          { peer: address, type: entry.desired.type },
          want ? 'BGP peer changed: new session' : 'BGP peer removed',
        );
        void this.closePeer(entry, CeaseSubcode.HardReset);
      }
    }
    for (const desired of plan.peers) {
      const entry = this.peers.get(desired.address);
      if (entry !== undefined) {
        const before = entry.desired;
        entry.desired = desired;
        const ribChanged =
          before.routeReflectorClient !== desired.routeReflectorClient ||
          before.keepNextHop !== desired.keepNextHop;
        const negotiated = entry.session.negotiated;
        if (ribChanged && entry.ribUp && negotiated)
          this.rib?.updatePeer(this.ribPeer(entry, negotiated), this.clock.now());
        continue;
      }
      this.addPeer(plan, desired);
    }
  }

  private addPeer(plan: NodeBgpPlan, desired: DesiredPeer): void {
    const config: PeerConfig = {
      localAs: plan.asNumber,
      routerId: plan.routerId,
      peerAs: desired.asNumber,
      peerAddress: desired.address,
      peerPort: desired.port,
      ...(desired.sourceAddress !== undefined ? { localAddress: desired.sourceAddress } : {}),
      ...(this.opts.holdTimeSec !== undefined ? { holdTimeSec: this.opts.holdTimeSec } : {}),
      connectRetrySec: this.opts.connectRetrySec ?? 3,
      idleHoldSec: this.opts.idleHoldSec ?? 5,
      passive: desired.passive,
      families: [desired.family],
      routeRefresh: true,
      ...(this.gracefulRestart
        ? {
            gracefulRestart: {
              restartTimeSec: desired.restartTimeSec ?? this.opts.restartTimeSec ?? DEFAULT_RESTART_TIME_SEC,
              restarting: this.restarting,
              forwardingPreserved: this.restarting,
              notification: true,
            },
          }
        : {}),
    };
    const session = new BgpSession(config, { clock: this.clock });
    const entry: PeerEntry = {
      desired,
      session,
      wireKey: this.wireKeyOf(plan, desired),
      removing: false,
      ribUp: false,
      updatesReceived: 0,
      updatesSent: 0,
    };
    this.peers.set(desired.address, entry);
    const current = () => this.peers.get(desired.address) === entry && !entry.removing;
    session.on('state', (s) => {
      this.log.debug(
        { peer: desired.address, from: s.from, to: s.to, reason: s.reason },
        'BGP session state',
      );
    });
    session.on('established', (n) => {
      if (current()) this.onEstablished(entry, n);
    });
    session.on('update', (u) => {
      if (current()) this.onUpdate(entry, u);
    });
    session.on('routeRefresh', () => {
      if (current() && entry.ribUp) {
        this.rib?.resendTo(desired.address);
        this.queueFlush();
      }
    });
    session.on('down', (d) => this.onDown(entry, d, !current()));
    session.on('notification', (n) => {
      this.log.info(
        { peer: desired.address, direction: n.direction, notification: n.text },
        'BGP NOTIFICATION',
      );
    });
    this.listener?.addSession(session);
    session.start();
    this.log.info(
      { peer: desired.address, type: desired.type, asNumber: desired.asNumber, passive: desired.passive },
      'BGP peer added',
    );
  }

  private async closePeer(entry: PeerEntry, subcode: CeaseSubcode): Promise<void> {
    entry.removing = true;
    if (this.peers.get(entry.desired.address) === entry) this.peers.delete(entry.desired.address);
    this.listener?.removeSession(entry.session);
    if (entry.ribUp && !this.stopped) {
      this.rib?.peerDown(entry.desired.address, this.clock.now());
      entry.ribUp = false;
      this.queueFlush();
    }
    await entry.session.stop(subcode);
  }

  private async stopAll(): Promise<void> {
    await Promise.all([...this.peers.values()].map((e) => this.closePeer(e, CeaseSubcode.HardReset)));
    const rib = this.rib;
    if (rib && this.originated.length) {
      rib.withdrawOriginated(this.originated);
      this.originated = [];
      this.queueFlush();
    }
  }

  private reconcileOriginated(): void {
    const rib = this.rib;
    if (!rib) return;
    const next = originatedPrefixes(this.inputs.affineBlocks(), this.inputs.localWorkloadAddresses());
    const { originate, withdraw } = diffPrefixes(this.originated, next);
    if (withdraw.length) rib.withdrawOriginated(withdraw);
    if (originate.length) rib.originate(originate, this.clock.now());
    if (originate.length || withdraw.length) {
      this.log.info(
        { originate: originate.map(prefixText), withdraw: withdraw.map(prefixText) },
        'originated routes changed',
      );
    }
    this.originated = next;
  }

  /** A new Calico export filter when pools or blocks changed; every live peer re-exports under it. */
  private reconcileExportPolicy(): void {
    if ((this.opts.exportFilter ?? 'calico') === 'all') return;
    const pools = this.inputs.ipPools();
    const blocks = this.inputs.affineBlocks();
    const key = JSON.stringify([pools, blocks]);
    if (key === this.exportPolicyKey && this.exportPolicy) return;
    this.exportPolicyKey = key;
    this.exportPolicy = calicoExportPolicy(pools, blocks);
    const rib = this.rib;
    for (const entry of this.peers.values()) {
      const negotiated = entry.session.negotiated;
      if (rib && entry.ribUp && negotiated) rib.updatePeer(this.ribPeer(entry, negotiated), this.clock.now());
    }
  }

  // ---- session events ------------------------------------------------------------------------

  private ribPeer(entry: PeerEntry, n: NegotiatedSession): RibPeer {
    const plan = this.plan;
    return {
      address: entry.desired.address,
      routerId: n.peerRouterId,
      asn: n.peerAs,
      localAs: plan?.asNumber ?? 0,
      families: n.families,
      routeReflectorClient: entry.desired.routeReflectorClient,
      nextHopMode: entry.desired.keepNextHop ? 'keep' : 'auto',
      localNextHops: sessionNextHops(
        {
          ...(plan?.ipv4 !== undefined ? { ipv4: plan.ipv4 } : {}),
          ...(plan?.ipv6 !== undefined ? { ipv6: plan.ipv6 } : {}),
        },
        entry.session.localAddress,
      ),
      ...(this.exportPolicy ? { exportPolicy: this.exportPolicy } : {}),
    };
  }

  private onEstablished(entry: PeerEntry, n: NegotiatedSession): void {
    const rib = this.rib;
    if (!rib) return;
    const now = this.clock.now();
    if (entry.ribUp) rib.peerDown(entry.desired.address, now);
    rib.peerUp(this.ribPeer(entry, n), now);
    entry.ribUp = true;
    // RFC 4724 4.2: stale routes of families the peer no longer preserves go now.
    const preserved = new Set(
      (n.peerGracefulRestart?.families ?? []).filter((f) => f.forwardingPreserved).map((f) => f.family),
    );
    for (const family of ['ipv4', 'ipv6'] as const) {
      if (!preserved.has(family)) rib.sweepStale(entry.desired.address, family);
    }
    this.log.info(
      { peer: entry.desired.address, asNumber: n.peerAs, routerId: n.peerRouterId, families: n.families },
      'BGP session established',
    );
    // The new peer's initial export and End-of-RIB go at the end of this turn, not after the burst
    // of UPDATEs that usually follows at once (flush-pacing.ts would hold a flush back for it).
    this.lastFlushAt = -Infinity;
    this.queueFlush();
  }

  private onUpdate(entry: PeerEntry, u: UpdateMessage): void {
    const rib = this.rib;
    if (!rib || !entry.ribUp) return;
    entry.updatesReceived++;
    this.metrics.updatesReceived++;
    const id = entry.desired.address;
    if (u.endOfRib !== undefined) {
      rib.endOfRib(id, u.endOfRib);
    } else {
      if (u.withdrawn.length) rib.withdraw(id, u.withdrawn);
      const now = this.clock.now();
      for (const a of u.announced) rib.announce(id, a.prefixes, a.attributes, now);
    }
    this.queueFlush();
  }

  private onDown(entry: PeerEntry, down: SessionDown, removed: boolean): void {
    this.log.info(
      { peer: entry.desired.address, reason: down.reason, retainStale: down.retainStaleRoutes },
      'BGP session down',
    );
    const rib = this.rib;
    if (!rib || !entry.ribUp || removed || this.stopped) return;
    entry.ribUp = false;
    const gr = down.negotiated.peerGracefulRestart;
    if (down.retainStaleRoutes && gr !== undefined) {
      rib.peerDown(entry.desired.address, this.clock.now(), {
        gracefulRestart: {
          families: gr.families.map((f) => f.family),
          restartTimeMs: gr.restartTimeSec * 1000,
        },
      });
    } else {
      rib.peerDown(entry.desired.address, this.clock.now());
    }
    this.queueFlush();
  }

  // ---- output --------------------------------------------------------------------------------

  private queueFlush(): void {
    if (this.flushQueued || this.stopped) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      if (this.stopped) return;
      const burst = { receiving: this.receiving(), msSinceLastFlush: this.clock.now() - this.lastFlushAt };
      // Asked again after the session's next turn (queued behind it), until the burst is taken.
      if (flushDue(burst)) this.flush();
      else this.queueFlush();
    });
  }

  /** Some session still has received messages waiting (see flush-pacing.ts). */
  private receiving(): boolean {
    for (const entry of this.peers.values()) if (entry.session.receiving) return true;
    return false;
  }

  private flush(): void {
    const rib = this.rib;
    if (!rib) return;
    this.lastFlushAt = this.clock.now();
    const changes = rib.flush();
    if (!rib.selectionDeferred && this.restarting) {
      this.restarting = false;
      this.cancelDeferral?.();
      this.log.info('End-of-RIB from every peer: graceful restart complete');
    }
    for (const change of changes.routes) this.applyToFib(change);
    for (const adv of changes.advertisements) {
      const entry = this.peers.get(adv.peerId);
      if (!entry || entry.session.state !== 'Established') continue;
      try {
        let sent = 0;
        for (const w of adv.withdraw) sent += entry.session.withdraw(w.prefixes);
        for (const a of adv.announce) sent += entry.session.announce(a.attrs, a.prefixes);
        for (const family of adv.endOfRib) {
          entry.session.sendEndOfRib(family);
          sent++;
        }
        entry.updatesSent += sent;
        this.metrics.updatesSent += sent;
      } catch (e) {
        this.log.warn({ peer: adv.peerId, err: (e as Error).message }, 'could not send UPDATEs');
      }
    }
    if (changes.routes.length > 0) this.feedFib();
    else if (!rib.selectionDeferred && !this.fibEverSynced) this.syncFib(false);
    this.scheduleStaleExpiry();
  }

  /**
   * Sends the FIB's unsent routes to its writer, FIB_PUSH_ROUTES of them per turn of the event
   * loop, and asks for a sync once all are sent (a writer that does not keep order, or a kernel
   * not yet read, takes them all in that sync). When the kernel is slower than the peer (a full
   * table: it is), at most FIB_PARTS_IN_FLIGHT parts wait for it: a 500k table pushed as fast
   * as it arrived had ~120 parts in flight, 40 MB of their text and operations alive at the peak. The writer (a coprocess) installs one part while the next is planned, and between
   * parts the sessions keep reading and the status socket answers. The Loc-RIB's changes went to
   * the FIB's desired state at once (applyToFib keeps a number and a shared next-hop list per
   * prefix): a backlog of change objects waiting for their turn held up to ~400k of them while a
   * 500k table streamed in, which V8 promoted and later had to collect.
   */
  private feedFib(): void {
    const rib = this.rib;
    if (this.stopped || rib === undefined || rib.selectionDeferred) return;
    if (this.fib.writesInFlight >= FIB_PARTS_IN_FLIGHT) {
      if (this.fibFeedWaiting) return;
      this.fibFeedWaiting = true;
      void this.fib.writeAnswered().then(() => {
        this.fibFeedWaiting = false;
        this.feedFib();
      });
      return;
    }
    const before = this.fib.unsent;
    this.fib.push(FIB_PUSH_ROUTES);
    const left = this.fib.unsent;
    // Nothing sent (a writer that does not keep order, or the kernel being read): a sync does it all.
    if (left === 0 || left === before) {
      this.syncFib(false);
      return;
    }
    if (this.fibFeedQueued) return;
    this.fibFeedQueued = true;
    setImmediate(() => {
      this.fibFeedQueued = false;
      this.feedFib();
    });
  }

  private applyToFib(change: RouteChange): void {
    if (change.kind === 'withdrawn') this.fib.deleteKey(change.key);
    else if (change.reason === 'only-path')
      // One candidate, one path: no ECMP set to build (nearly every route of a table).
      this.fib.setKey(change.key, this.fibNextHops.ofOnly(change.currentBest));
    else this.fib.setKey(change.key, this.fibNextHops.of(change.multipath));
  }

  private readonly fibNextHops = new FibNextHops();
  private fibFeedQueued = false;
  private fibFeedWaiting = false;
  private fibEverSynced = false;
  private lastFlushAt = 0;

  private scheduleStaleExpiry(): void {
    const rib = this.rib;
    this.cancelStaleTimer?.();
    this.cancelStaleTimer = undefined;
    const deadline = rib?.nextStaleDeadline();
    if (rib === undefined || deadline === undefined) return;
    this.cancelStaleTimer = this.clock.schedule(Math.max(0, deadline - this.clock.now()), () => {
      this.cancelStaleTimer = undefined;
      const expired = rib.expireStale(this.clock.now());
      if (expired.length)
        this.log.info({ peers: expired }, 'graceful restart time over: stale routes removed');
      this.queueFlush();
    });
  }

  /** Runs one FIB sync at a time; requests during a sync are merged into one more. */
  private syncFib(full: boolean): void {
    if (this.stopped && !full) return;
    // While a restart defers selection, the kernel keeps the previous run's routes untouched.
    if (this.rib === undefined || this.rib.selectionDeferred) return;
    if (full && !this.fibEverSynced) return;
    this.fibPending = true;
    this.fibFullPending ||= full;
    if (this.fibRunning) {
      // A writer that keeps order takes the change now; the running sync's successor reports it.
      if (!full) this.fib.push();
      return;
    }
    this.fibRunning = (async () => {
      while (this.fibPending) {
        // The first sync is full unless the start-up read already told the FIB what the kernel has.
        const isFull = this.fibFullPending || (!this.fibEverSynced && !this.fib.knowsKernel);
        this.fibPending = false;
        this.fibFullPending = false;
        const report = await this.fib.sync(isFull);
        this.fibEverSynced = true;
        this.metrics.fibSyncs++;
        if (report.errors.length) {
          this.metrics.fibErrors++;
          this.log.warn(
            { errors: report.errors },
            'some BGP routes could not be programmed; retrying on the next full sync',
          );
        } else if (report.changed) {
          this.log.debug({ changed: report.changed }, 'BGP routes programmed');
        }
        if (report.resyncNeeded) this.retryFibLater();
        else if (report.errors.length === 0) this.fibRetryMs = 0;
      }
      this.fibRunning = undefined;
    })();
  }

  private retryFibLater(): void {
    if (this.fibRetryTimer || this.stopped) return;
    this.fibRetryMs = Math.min(30_000, Math.max(500, this.fibRetryMs * 2));
    this.fibRetryTimer = setTimeout(() => {
      this.fibRetryTimer = undefined;
      this.syncFib(true);
    }, this.fibRetryMs);
  }

  // ---- status --------------------------------------------------------------------------------

  status(): SpeakerStatus | undefined {
    const plan = this.plan;
    if (!plan) return undefined;
    const stats = new Map((this.rib?.peerStats() ?? []).map((s) => [s.peerId, s]));
    const peers: PeerStatus[] = [...this.peers.values()].map((e) => {
      const s = stats.get(e.desired.address);
      return {
        address: e.desired.address,
        family: e.desired.family,
        type: e.desired.type,
        name: e.desired.name,
        asNumber: e.desired.asNumber,
        state: e.session.state,
        passive: e.desired.passive,
        since: e.session.since,
        info: e.session.info,
        routesReceived: s?.received ?? 0,
        routesAccepted: s?.accepted ?? 0,
        routesStale: s?.stale ?? 0,
        routesAdvertised: s?.advertised ?? 0,
        updatesReceived: e.updatesReceived,
        updatesSent: e.updatesSent,
      };
    });
    const order = new Map(plan.peers.map((p, i) => [p.address, i]));
    peers.sort((a, b) => (order.get(a.address) ?? 0) - (order.get(b.address) ?? 0));
    return {
      nodeName: plan.nodeName,
      routerId: plan.routerId,
      asNumber: plan.asNumber,
      listenPort: plan.listenPort,
      ...(plan.clusterId !== undefined ? { clusterId: plan.clusterId } : {}),
      peers,
      originated: this.originated.map(prefixText),
      kernelRoutes: this.fib.size,
      selectionDeferred: this.rib?.selectionDeferred ?? false,
    };
  }

  routes(peer: string): PeerRoutesReply | undefined {
    const entry = this.peers.get(peer);
    const rib = this.rib;
    if (!entry || !rib) return undefined;
    return {
      peer,
      received: rib.receivedRoutes(peer).map((r) => ({
        prefix: prefixText(r.prefix),
        ...(r.attrs.nextHop !== undefined ? { nextHop: r.attrs.nextHop } : {}),
        asPath: formatAsPath(r.attrs.asPath),
        stale: r.stale,
        accepted: r.accepted,
      })),
      advertised: rib.advertisedRoutes(peer).map((r) => ({
        prefix: prefixText(r.prefix),
        ...(r.attrs.nextHop !== undefined ? { nextHop: r.attrs.nextHop } : {}),
        asPath: formatAsPath(r.attrs.asPath),
      })),
    };
  }

  /** The learned routes the FIB holds (prefix → next hops), for tests and diagnostics. */
  kernelRoutes(): { prefix: string; nextHops: readonly string[] }[] {
    return this.fib.routes();
  }
}
