/**
 * The RIB of one speaker: per-peer Adj-RIB-In, the Loc-RIB with the decision process, per-peer
 * Adj-RIB-Out, route reflection and graceful-restart bookkeeping, behind one small API the speaker
 * drives from session events.
 *
 * It is pure and batch-oriented: writes (`announce`, `withdraw`, `peerDown`, `originate`, ...)
 * only record; `flush()` decides every touched prefix once and returns one diff: the Loc-RIB changes
 * for the FIB and, per established peer, what to announce and withdraw. The speaker calls flush after
 * draining a socket read (or on a short timer), so a burst of UPDATEs, a flapping session, or a peer
 * restart is decided and sent once. Time comes in as `now` (milliseconds on the speaker's clock);
 * the RIB keeps deadlines but never sets timers: the speaker asks `nextStaleDeadline()` and calls
 * `expireStale(now)`.
 *
 * Graceful restart (RFC 4724). As receiving speaker: `peerDown` with the peer's restart capability
 * keeps its paths, marked stale and still used, until the restart time passes (`expireStale`), or
 * the peer comes back and sends End-of-RIB per family (`endOfRib`, which sweeps what it did not
 * re-send), or the stale-path time after re-establishment passes. As restarting speaker: the kernel
 * keeps our routes while we restart; `deferSelection` holds all output (no FIB changes, no UPDATEs)
 * until the listed peers have sent End-of-RIB or the speaker's deferral timer calls
 * `endSelectionDeferral`, so we neither flush the FIB nor advertise a half-learned table.
 */
import type { AddressFamily, PathAttributes, Prefix } from '../types.js';
import { Origin } from '../types.js';
import { AttributeInterner } from './attribute-interner.js';
import {
  AdjRibOut,
  AdvertisementBatch,
  type ExportPeer,
  type ExportSource,
  type PeerAdvertisement,
} from './adj-rib-out.js';
import {
  DEFAULT_DECISION_OPTIONS,
  selectBestPath,
  type DecisionOptions,
  type DecisionStep,
  type Elimination,
  type Selection,
} from './decision.js';
import type { ExportContext, ExportPolicy, LocalNextHops, NextHopMode } from './export-rules.js';
import {
  importLoopCheck,
  type ImportContext,
  type ImportPolicy,
  type ImportRejection,
} from './import-rules.js';
import { LocRib, type Destination, type RouteChange } from './loc-rib.js';
import { LOCAL_SOURCE, RibPath, type Path, type PeerId, type PeerSource } from './path.js';
import { familyOfKey, prefixFromKey, prefixKey, type PrefixKey } from './prefix-key.js';

export interface RibConfig {
  /** Our BGP identifier (dotted quad). */
  readonly routerId: string;
  /** Our AS; a peer may override it with its own `localAs` (Calico per-node AS). */
  readonly localAs: number;
  /** RFC 4456 CLUSTER_ID when we reflect (Calico `routeReflectorClusterID`); defaults to the router id. */
  readonly clusterId?: string;
  readonly alwaysCompareMed?: boolean;
  /** ECMP width; 1 turns multipath off. Default 8. */
  readonly maxPaths?: number;
  /** ECMP across different neighbouring ASes (FRR `bestpath as-path multipath-relax`). */
  readonly multipathRelax?: boolean;
  /** IGP cost to a next hop, when the speaker knows it; undefined for unknown. */
  readonly igpCost?: (nextHop: string) => number | undefined;
}

/** A peer as the RIB needs it, known once the session is Established (router id from its OPEN). */
export interface RibPeer {
  /** The peer's address, canonical text; identifies the peer in every call. */
  readonly address: PeerId;
  readonly routerId: string;
  readonly asn: number;
  /** Our AS on this session; defaults to RibConfig.localAs. */
  readonly localAs?: number;
  /** Families negotiated on the session (RFC 4760). */
  readonly families: readonly AddressFamily[];
  readonly routeReflectorClient?: boolean;
  readonly nextHopMode?: NextHopMode;
  /** Our addresses on this session, for NEXT_HOP self. */
  readonly localNextHops: LocalNextHops;
  readonly allowAsIn?: number;
  /** Downward default: send this peer only a default route per family. */
  readonly downstream?: boolean;
  readonly importPolicy?: ImportPolicy;
  readonly exportPolicy?: ExportPolicy;
  /** RFC 4724 4.2 stale-path time after re-establishment; default 360 s (FRR's). */
  readonly stalePathTimeMs?: number;
}

export interface PeerDownOptions {
  /** The peer advertised graceful restart: keep its paths (stale) for these families. */
  readonly gracefulRestart?: {
    readonly families: readonly AddressFamily[];
    readonly restartTimeMs: number;
  };
}

/** One flush: the Loc-RIB diff (for the FIB) and per-peer UPDATE content. */
export interface RibChanges {
  readonly routes: readonly RouteChange[];
  readonly advertisements: readonly PeerAdvertisement[];
}

export interface RouteView {
  readonly prefix: Prefix;
  readonly candidates: readonly Path[];
  readonly best: Path | undefined;
  readonly multipath: readonly Path[];
  readonly reason: DecisionStep | undefined;
}

export interface ReceivedRoute {
  readonly prefix: Prefix;
  /** As the peer sent them, before import policy. */
  readonly attrs: PathAttributes;
  /** Left from before a restart and not yet re-sent. */
  readonly stale: boolean;
  /** A Loc-RIB candidate (passed loop checks and import policy). */
  readonly accepted: boolean;
}

export interface PeerRibStats {
  readonly peerId: PeerId;
  readonly up: boolean;
  readonly received: number;
  readonly accepted: number;
  readonly stale: number;
  readonly advertised: number;
}

export const DEFAULT_STALE_PATH_TIME_MS = 360_000;

const DEFAULT_LOCAL_ATTRS: PathAttributes = Object.freeze({ origin: Origin.IGP, asPath: [] });

type ExportPhase = 'initial' | 'resync' | 'incremental';

class PeerState {
  up = false;
  adjIn = new Map<PrefixKey, PathAttributes>();
  /** RFC 4724: what a previous session sent that this one has not re-sent yet. */
  stale: Map<PrefixKey, PathAttributes> | undefined;
  staleDeadline: number | undefined;
  out: AdjRibOut | undefined;
  /** After a reconfiguration: the export settings the peer's current view was computed under. */
  outBefore: AdjRibOut | undefined;
  exportPhase: ExportPhase = 'incremental';
  accepted = 0;

  constructor(
    public config: RibPeer,
    public source: PeerSource,
  ) {}
}

export class Rib {
  private readonly locRib = new LocRib();
  private readonly peers = new Map<PeerId, PeerState>();
  private readonly interner = new AttributeInterner();
  private readonly decisionOptions: DecisionOptions;
  private readonly exportContext: ExportContext;
  /** Restarting speaker: peers (and their families) whose End-of-RIB we still wait for. */
  private deferral: Map<PeerId, Set<AddressFamily> | undefined> | undefined;

  constructor(private readonly config: RibConfig) {
    this.decisionOptions = {
      alwaysCompareMed: config.alwaysCompareMed ?? DEFAULT_DECISION_OPTIONS.alwaysCompareMed,
      maxPaths: Math.max(1, config.maxPaths ?? DEFAULT_DECISION_OPTIONS.maxPaths),
      multipathRelax: config.multipathRelax ?? DEFAULT_DECISION_OPTIONS.multipathRelax,
    };
    this.exportContext = {
      routerId: config.routerId,
      clusterId: config.clusterId ?? config.routerId,
    };
  }

  // ---- sessions -------------------------------------------------------------------------------

  /** The session reached Established. Stale paths from before a restart stay until End-of-RIB. */
  peerUp(peer: RibPeer, now: number): void {
    const existing = this.peers.get(peer.address);
    if (existing?.up) {
      throw new Error(
        `RIB: peer ${peer.address} is already up; call peerDown first, or updatePeer to change its configuration`,
      );
    }
    const source = this.sourceFor(peer);
    const state = existing ?? new PeerState(peer, source);
    state.config = peer;
    state.source = source;
    state.up = true;
    state.staleDeadline = state.stale
      ? now + (peer.stalePathTimeMs ?? DEFAULT_STALE_PATH_TIME_MS)
      : undefined;
    state.out = new AdjRibOut(this.exportPeerFor(peer, source), this.exportContext, this.interner);
    state.exportPhase = 'initial';
    this.peers.set(peer.address, state);
  }

  /**
   * The session left Established. Without graceful restart the peer's paths go at once; with it,
   * paths of the preserved families are kept, stale, until `restartTimeMs` from `now`.
   */
  peerDown(peerId: PeerId, now: number, options: PeerDownOptions = {}): void {
    const state = this.peers.get(peerId);
    if (!state?.up) return;
    state.up = false;
    state.out = undefined;
    this.stopWaitingFor(peerId);
    const kept = options.gracefulRestart?.families ?? [];
    const otherFamilies = state.config.families.filter((f) => !kept.includes(f));
    this.markStale(peerId, kept);
    for (const family of otherFamilies) this.sweepStale(peerId, family);
    for (const key of state.adjIn.keys()) this.dropCandidate(state, key);
    state.adjIn = new Map();
    state.staleDeadline =
      state.stale && options.gracefulRestart ? now + options.gracefulRestart.restartTimeMs : undefined;
    if (state.stale === undefined) this.peers.delete(peerId);
  }

  /** Changes a live peer's configuration (policy, RR client, next-hop mode ...): re-imports and re-exports. */
  updatePeer(peer: RibPeer, now: number): void {
    const state = this.upPeer(peer.address);
    state.config = peer;
    state.source = this.sourceFor(peer);
    for (const [key, attrs] of state.adjIn) this.importRoute(state, key, attrs, now);
    if (state.exportPhase === 'incremental') {
      state.outBefore = state.out;
      state.exportPhase = 'resync';
    }
    state.out = new AdjRibOut(this.exportPeerFor(peer, state.source), this.exportContext, this.interner);
  }

  // ---- routes in ------------------------------------------------------------------------------

  /**
   * Routes from one UPDATE (or its MP_REACH_NLRI): the same attributes for every prefix. Each
   * replaces what the peer sent before for that prefix (implicit withdraw, RFC 4271 3.1).
   */
  announce(peerId: PeerId, prefixes: readonly Prefix[], attrs: PathAttributes, now: number): void {
    const state = this.upPeer(peerId);
    const canonical = this.interner.intern(attrs);
    const rejection = importLoopCheck(canonical, state.source, this.importContextFor(state));
    const igpCost = this.igpCostOf(canonical);
    for (const prefix of prefixes) {
      const key = prefixKey(prefix);
      state.adjIn.set(key, canonical);
      state.stale?.delete(key);
      this.importRoute(state, key, canonical, now, rejection, igpCost);
    }
  }

  /** Withdrawn routes, including those RFC 7606 says to treat as withdrawn. */
  withdraw(peerId: PeerId, prefixes: readonly Prefix[]): void {
    const state = this.upPeer(peerId);
    for (const prefix of prefixes) {
      const key = prefixKey(prefix);
      state.adjIn.delete(key);
      state.stale?.delete(key);
      this.dropCandidate(state, key);
    }
  }

  /** Routes we originate (our IPAM blocks, borrowed workload addresses). */
  originate(prefixes: readonly Prefix[], now: number, attrs: PathAttributes = DEFAULT_LOCAL_ATTRS): void {
    const canonical = this.interner.intern(attrs);
    for (const prefix of prefixes) {
      const dest = this.locRib.obtain(prefixKey(prefix));
      this.locRib.setCandidate(dest, new RibPath(dest, canonical, LOCAL_SOURCE, now, undefined));
    }
  }

  withdrawOriginated(prefixes: readonly Prefix[]): void {
    for (const prefix of prefixes) {
      const dest = this.locRib.get(prefixKey(prefix));
      if (dest) this.locRib.removeCandidate(dest, 'local');
    }
  }

  // ---- graceful restart -----------------------------------------------------------------------

  /**
   * Marks everything the peer has sent in these families stale: kept and used, but removed by the
   * next `sweepStale` unless re-sent first. `peerDown` with graceful restart calls this.
   */
  markStale(peerId: PeerId, families: readonly AddressFamily[]): void {
    const state = this.peers.get(peerId);
    if (!state || families.length === 0) return;
    for (const [key, attrs] of state.adjIn) {
      if (!families.includes(familyOfKey(key))) continue;
      state.stale ??= new Map();
      state.stale.set(key, attrs);
      state.adjIn.delete(key);
      const candidate = this.locRib.get(key)?.candidateFrom(peerId);
      if (candidate) candidate.stale = true;
    }
  }

  /** Removes the peer's paths still stale (in one family, or all); returns how many went. */
  sweepStale(peerId: PeerId, family?: AddressFamily): number {
    const state = this.peers.get(peerId);
    if (!state?.stale) return 0;
    let removed = 0;
    for (const key of state.stale.keys()) {
      if (family !== undefined && familyOfKey(key) !== family) continue;
      state.stale.delete(key);
      const dest = this.locRib.get(key);
      if (dest && this.locRib.removeCandidate(dest, peerId, true)) {
        state.accepted--;
        removed++;
      }
    }
    if (state.stale.size === 0) {
      state.stale = undefined;
      state.staleDeadline = undefined;
      if (!state.up) this.peers.delete(peerId);
    }
    return removed;
  }

  /** End-of-RIB from the peer for a family: its stale leftovers go, and selection deferral may end. */
  endOfRib(peerId: PeerId, family: AddressFamily): void {
    this.sweepStale(peerId, family);
    if (!this.deferral?.has(peerId)) return;
    const state = this.peers.get(peerId);
    const pending = this.deferral.get(peerId) ?? new Set(state?.config.families ?? [family]);
    pending.delete(family);
    if (pending.size === 0) this.stopWaitingFor(peerId);
    else this.deferral.set(peerId, pending);
  }

  /** Sweeps peers whose restart or stale-path time has passed; returns their ids. */
  expireStale(now: number): PeerId[] {
    const expired: PeerId[] = [];
    for (const [peerId, state] of this.peers) {
      if (state.staleDeadline !== undefined && now >= state.staleDeadline) {
        this.sweepStale(peerId);
        expired.push(peerId);
      }
    }
    return expired;
  }

  /** When the speaker should next call `expireStale`; undefined when nothing is stale. */
  nextStaleDeadline(): number | undefined {
    let next: number | undefined;
    for (const state of this.peers.values()) {
      if (state.staleDeadline !== undefined && (next === undefined || state.staleDeadline < next)) {
        next = state.staleDeadline;
      }
    }
    return next;
  }

  /**
   * We are the restarting speaker (RFC 4724 4.1) and our forwarding state was preserved: hold
   * decisions and output until these peers have sent End-of-RIB for all their families.
   */
  deferSelection(waitFor: readonly PeerId[]): void {
    this.deferral = new Map(waitFor.map((id) => [id, undefined]));
    if (this.deferral.size === 0) this.deferral = undefined;
  }

  /** The deferral timer ran out (or the speaker gives up waiting): decide and send on the next flush. */
  endSelectionDeferral(): void {
    this.deferral = undefined;
  }

  get selectionDeferred(): boolean {
    return this.deferral !== undefined;
  }

  // ---- output ---------------------------------------------------------------------------------

  /**
   * Decides every prefix touched since the last flush and returns one diff: Loc-RIB changes and,
   * per established peer, what to announce and withdraw (a full table, then End-of-RIB, right
   * after the peer came up). Empty while selection is deferred.
   */
  flush(): RibChanges {
    if (this.deferral) return { routes: [], advertisements: [] };
    const { changes, changed } = this.locRib.settle(this.decisionOptions);
    let changedMap: Map<PrefixKey, Path | undefined> | undefined;
    const source: ExportSource = {
      bests: () => this.locRib.bests(),
      bestOf: (key) => this.locRib.get(key)?.best,
      get changed() {
        changedMap ??= new Map(changed.map((c) => [c.dest.key, c.previous]));
        return changedMap;
      },
    };
    const advertisements: PeerAdvertisement[] = [];
    for (const [peerId, state] of this.peers) {
      if (!state.up || !state.out) continue;
      const batch = new AdvertisementBatch();
      let endOfRib: readonly AddressFamily[] = [];
      switch (state.exportPhase) {
        case 'incremental':
          for (const c of changed) state.out.update(c.dest.key, c.previous, c.dest.best, batch);
          break;
        case 'initial':
          state.out.resync(source, batch);
          endOfRib = state.config.families;
          break;
        case 'resync':
          state.out.resync(source, batch, state.outBefore);
          state.outBefore = undefined;
          break;
        default: {
          const unknownPhase: never = state.exportPhase;
          throw new Error(`RIB: unknown export phase ${String(unknownPhase)}`);
        }
      }
      state.exportPhase = 'incremental';
      if (!batch.isEmpty || endOfRib.length > 0) {
        advertisements.push(batch.toAdvertisement(peerId, endOfRib));
      }
    }
    return { routes: changes, advertisements };
  }

  // ---- queries --------------------------------------------------------------------------------

  /** The prefix's candidates and the selection as last flushed. */
  route(prefix: Prefix): RouteView | undefined {
    const dest = this.locRib.get(prefixKey(prefix));
    return dest ? this.viewOf(dest) : undefined;
  }

  /** Re-runs the decision for one prefix, recording the step that removed each losing path. */
  explain(prefix: Prefix): { selection: Selection | undefined; eliminated: Elimination[] } {
    const dest = this.locRib.get(prefixKey(prefix));
    const eliminated: Elimination[] = [];
    const selection = dest ? selectBestPath(dest.candidates, this.decisionOptions, eliminated) : undefined;
    return { selection, eliminated };
  }

  /** Every best route in the Loc-RIB (as last flushed). */
  *bestRoutes(): IterableIterator<RouteView> {
    for (const dest of this.locRib.destinationsIterator()) {
      if (dest.best) yield this.viewOf(dest);
    }
  }

  receivedRoutes(peerId: PeerId): ReceivedRoute[] {
    const state = this.peers.get(peerId);
    if (!state) return [];
    const out: ReceivedRoute[] = [];
    const add = (key: PrefixKey, attrs: PathAttributes, stale: boolean): void => {
      const accepted = this.locRib.get(key)?.candidateFrom(peerId) !== undefined;
      out.push({ prefix: prefixFromKey(key), attrs, stale, accepted });
    };
    for (const [key, attrs] of state.adjIn) add(key, attrs, false);
    for (const [key, attrs] of state.stale ?? []) add(key, attrs, true);
    return out;
  }

  advertisedRoutes(peerId: PeerId): Array<{ prefix: Prefix; attrs: PathAttributes }> {
    const state = this.peers.get(peerId);
    const out = state?.exportPhase === 'incremental' ? state.out : undefined;
    if (!out) return [];
    const source: ExportSource = {
      bests: () => this.locRib.bests(),
      bestOf: (key) => this.locRib.get(key)?.best,
      changed: new Map(),
    };
    return out.advertised(source).map(([key, attrs]) => ({ prefix: prefixFromKey(key), attrs }));
  }

  peerStats(): PeerRibStats[] {
    return [...this.peers].map(([peerId, s]) => ({
      peerId,
      up: s.up,
      received: s.adjIn.size + (s.stale?.size ?? 0),
      accepted: s.accepted,
      stale: s.stale?.size ?? 0,
      advertised: s.out?.size ?? 0,
    }));
  }

  /** Prefixes in the Loc-RIB (with at least one candidate, flushed or not). */
  get size(): number {
    return this.locRib.size;
  }

  /** Distinct attribute sets held (a memory health figure). */
  get attributeSets(): number {
    return this.interner.size;
  }

  // ---- internals ------------------------------------------------------------------------------

  private importRoute(
    state: PeerState,
    key: PrefixKey,
    attrs: PathAttributes,
    now: number,
    rejection: ImportRejection | undefined = importLoopCheck(
      attrs,
      state.source,
      this.importContextFor(state),
    ),
    igpCost: number | undefined = this.igpCostOf(attrs),
  ): void {
    if (rejection !== undefined) {
      this.dropCandidate(state, key);
      return;
    }
    let accepted = attrs;
    const policy = state.config.importPolicy;
    if (policy) {
      const chosen = policy({ prefix: prefixFromKey(key), attrs, peer: state.source });
      if (chosen === null) {
        this.dropCandidate(state, key);
        return;
      }
      accepted = this.interner.intern(chosen);
    }
    const dest = this.locRib.obtain(key);
    if (this.locRib.setCandidate(dest, new RibPath(dest, accepted, state.source, now, igpCost))) {
      state.accepted++;
    }
  }

  private dropCandidate(state: PeerState, key: PrefixKey): void {
    const dest = this.locRib.get(key);
    if (dest && this.locRib.removeCandidate(dest, state.config.address)) state.accepted--;
  }

  private upPeer(peerId: PeerId): PeerState {
    const state = this.peers.get(peerId);
    if (!state?.up) {
      throw new Error(
        `RIB: peer ${peerId} is not established; call peerUp when its session reaches Established before passing its routes`,
      );
    }
    return state;
  }

  private sourceFor(peer: RibPeer): PeerSource {
    const localAs = peer.localAs ?? this.config.localAs;
    return Object.freeze({
      kind: 'peer',
      peerId: peer.address,
      routerId: peer.routerId,
      asn: peer.asn,
      localAs,
      ibgp: peer.asn === localAs,
      routeReflectorClient: peer.routeReflectorClient ?? false,
    });
  }

  private exportPeerFor(peer: RibPeer, source: PeerSource): ExportPeer {
    return {
      peerId: peer.address,
      asn: peer.asn,
      localAs: source.localAs,
      ibgp: source.ibgp,
      routeReflectorClient: source.routeReflectorClient,
      nextHopMode: peer.nextHopMode ?? 'auto',
      localNextHops: peer.localNextHops,
      families: peer.families,
      downstream: peer.downstream ?? false,
      exportPolicy: peer.exportPolicy,
    };
  }

  private importContextFor(state: PeerState): ImportContext {
    return {
      routerId: this.exportContext.routerId,
      clusterId: this.exportContext.clusterId,
      allowAsIn: state.config.allowAsIn ?? 0,
    };
  }

  private igpCostOf(attrs: PathAttributes): number | undefined {
    return attrs.nextHop !== undefined ? this.config.igpCost?.(attrs.nextHop) : undefined;
  }

  private stopWaitingFor(peerId: PeerId): void {
    if (!this.deferral?.delete(peerId)) return;
    if (this.deferral.size === 0) this.deferral = undefined;
  }

  private viewOf(dest: Destination): RouteView {
    return {
      prefix: dest.prefix,
      candidates: dest.candidates,
      best: dest.best,
      multipath: dest.multipath ?? (dest.best ? [dest.best] : []),
      reason: dest.reason,
    };
  }
}
