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
  PrefixRecords,
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
import { bestOf, LocRib, multipathOf, type RouteChange } from './loc-rib.js';
import {
  LOCAL_SOURCE,
  RibPath,
  storedPath,
  type Path,
  type PathFacts,
  type PeerId,
  type PeerSource,
  type StoredPath,
} from './path.js';
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
  /** Why `best` wins, from a fresh run of the decision (not stored per prefix, to save memory). */
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

/**
 * Where a peer's export stands: `initial` sends the whole table then End-of-RIB; `resync` sends
 * the difference from what the peer got under `outBefore` (after a reconfiguration), or the whole
 * table again when `resendAll` (ROUTE-REFRESH, RFC 2918); `incremental` follows Loc-RIB changes.
 */
type ExportPhase = 'initial' | 'resync' | 'incremental';

/**
 * A peer's share of the RIB. Its Adj-RIB-In is mostly not stored here: a received route that
 * passes import is the peer's candidate in the Loc-RIB, with the received attributes (import policy
 * rarely changes them). Only the exceptions are kept: routes received but not used, and the
 * received attributes of routes the policy changed. That saves a map entry per prefix per peer (a
 * quarter of the table's memory at two peers); operations on all of a peer's routes (session down,
 * sweep, re-import) scan the Loc-RIB instead, which is what BIRD does too.
 */
class PeerState {
  up = false;
  /** Received but not candidates (loop checks, import policy), for re-import and display. */
  rejected = new Map<PrefixKey, PathAttributes>();
  /** Received attributes of candidates whose attributes the import policy changed. */
  beforePolicy = new Map<PrefixKey, PathAttributes>();
  /** Candidates marked stale (RFC 4724) and not refreshed yet. */
  staleCount = 0;
  staleDeadline: number | undefined;
  out: AdjRibOut | undefined;
  /** After a reconfiguration: the export settings the peer's current view was computed under. */
  outBefore: AdjRibOut | undefined;
  exportPhase: ExportPhase = 'incremental';
  resendAll = false;
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
    state.staleDeadline =
      state.staleCount > 0 ? now + (peer.stalePathTimeMs ?? DEFAULT_STALE_PATH_TIME_MS) : undefined;
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
    this.forEachCandidateOf(state, (key, path) => {
      if (kept.includes(familyOfKey(key))) {
        if (!path.stale) {
          this.locRib.replaceQuietly(key, path, path.asStale());
          state.staleCount++;
        }
      } else {
        this.removePath(state, key, path);
      }
    });
    state.rejected.clear();
    state.beforePolicy.clear();
    state.staleDeadline =
      state.staleCount > 0 && options.gracefulRestart
        ? now + options.gracefulRestart.restartTimeMs
        : undefined;
    if (state.staleCount === 0) this.peers.delete(peerId);
  }

  /** Changes a live peer's configuration (policy, RR client, next-hop mode ...): re-imports and re-exports. */
  updatePeer(peer: RibPeer, now: number): void {
    const state = this.upPeer(peer.address);
    state.config = peer;
    state.source = this.sourceFor(peer);
    const received: Array<[PrefixKey, PathAttributes]> = [...state.rejected];
    this.forEachCandidateOf(state, (key, path) => {
      if (!path.stale) received.push([key, state.beforePolicy.get(key) ?? path.attrs]);
    });
    for (const [key, attrs] of received) this.importRoute(state, key, attrs, now);
    if (state.exportPhase === 'incremental') {
      state.outBefore = state.out;
      state.exportPhase = 'resync';
    }
    state.out = new AdjRibOut(this.exportPeerFor(peer, state.source), this.exportContext, this.interner);
  }

  /** The peer sent ROUTE-REFRESH (RFC 2918): the next flush sends it our whole table again. */
  resendTo(peerId: PeerId): void {
    const state = this.upPeer(peerId);
    if (state.exportPhase === 'initial') return;
    if (state.exportPhase === 'incremental') {
      state.outBefore = state.out;
      state.exportPhase = 'resync';
    }
    state.resendAll = true;
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
      this.importRoute(state, prefixKey(prefix), canonical, now, rejection, igpCost);
    }
  }

  /** Withdrawn routes, including those RFC 7606 says to treat as withdrawn. */
  withdraw(peerId: PeerId, prefixes: readonly Prefix[]): void {
    const state = this.upPeer(peerId);
    for (const prefix of prefixes) {
      const key = prefixKey(prefix);
      if (state.rejected.size > 0) state.rejected.delete(key);
      this.dropCandidate(state, key);
    }
  }

  /** Routes we originate (our IPAM blocks, borrowed workload addresses). */
  originate(prefixes: readonly Prefix[], now: number, attrs: PathAttributes = DEFAULT_LOCAL_ATTRS): void {
    const canonical = this.interner.intern(attrs);
    const path = storedPath(canonical, LOCAL_SOURCE, now, undefined);
    for (const prefix of prefixes) this.locRib.setCandidate(prefixKey(prefix), path);
  }

  withdrawOriginated(prefixes: readonly Prefix[]): void {
    for (const prefix of prefixes) this.locRib.removeCandidate(prefixKey(prefix), 'local');
  }

  // ---- graceful restart -----------------------------------------------------------------------

  /**
   * Marks everything the peer has sent in these families stale: kept and used, but removed by the
   * next `sweepStale` unless re-sent first. `peerDown` with graceful restart calls this.
   */
  markStale(peerId: PeerId, families: readonly AddressFamily[]): void {
    const state = this.peers.get(peerId);
    if (!state || families.length === 0) return;
    this.forEachCandidateOf(state, (key, path) => {
      if (path.stale || !families.includes(familyOfKey(key))) return;
      this.locRib.replaceQuietly(key, path, path.asStale());
      state.staleCount++;
    });
  }

  /** Removes the peer's paths still stale (in one family, or all); returns how many went. */
  sweepStale(peerId: PeerId, family?: AddressFamily): number {
    const state = this.peers.get(peerId);
    if (!state || state.staleCount === 0) return 0;
    let removed = 0;
    this.forEachCandidateOf(state, (key, path) => {
      if (!path.stale || (family !== undefined && familyOfKey(key) !== family)) return;
      this.removePath(state, key, path);
      removed++;
    });
    if (state.staleCount === 0) {
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
    const changes = this.locRib.settle(this.decisionOptions);
    let changedMap: Map<PrefixKey, PathFacts | undefined> | undefined;
    const source: ExportSource = {
      bests: () => this.locRib.bests(),
      bestOf: (key) => bestOf(this.locRib.published(key)),
      get changed() {
        changedMap ??= new Map(changes.map((c) => [c.key, c.previousBest]));
        return changedMap;
      },
    };
    const advertisements: PeerAdvertisement[] = [];
    let exporting = 0;
    for (const state of this.peers.values()) if (state.up) exporting++;
    const prefixes = new PrefixRecords(exporting > 1);
    for (const [peerId, state] of this.peers) {
      if (!state.up || !state.out) continue;
      const batch = new AdvertisementBatch();
      let endOfRib: readonly AddressFamily[] = [];
      switch (state.exportPhase) {
        case 'incremental':
          for (const c of changes) state.out.update(c.key, c.previousBest, c.currentBest, batch);
          break;
        case 'initial':
          state.out.resync(source, batch);
          endOfRib = state.config.families;
          break;
        case 'resync':
          state.out.resync(source, batch, state.outBefore, state.resendAll);
          state.outBefore = undefined;
          state.resendAll = false;
          break;
        default: {
          const unknownPhase: never = state.exportPhase;
          throw new Error(`RIB: unknown export phase ${String(unknownPhase)}`);
        }
      }
      state.exportPhase = 'incremental';
      if (!batch.isEmpty || endOfRib.length > 0) {
        advertisements.push(batch.toAdvertisement(peerId, endOfRib, prefixes));
      }
    }
    return { routes: changes, advertisements };
  }

  /** Whether `flush()` has anything to do (touched prefixes, or a peer owed a table). */
  get hasPendingWork(): boolean {
    if (this.locRib.hasPendingChanges) return true;
    for (const state of this.peers.values()) {
      if (state.up && state.exportPhase !== 'incremental') return true;
    }
    return false;
  }

  // ---- queries --------------------------------------------------------------------------------

  /** The prefix's candidates and the selection as last flushed. */
  route(prefix: Prefix): RouteView | undefined {
    const key = prefixKey(prefix);
    return this.locRib.candidates(key).length > 0 ? this.viewOf(key) : undefined;
  }

  /** Re-runs the decision for one prefix, recording the step that removed each losing path. */
  explain(prefix: Prefix): { selection: Selection<Path> | undefined; eliminated: Elimination<Path>[] } {
    const owner = { prefix };
    const candidates = this.locRib.candidates(prefixKey(prefix)).map((p) => new RibPath(owner, p));
    const eliminated: Elimination<Path>[] = [];
    const selection = selectBestPath<Path>(candidates, this.decisionOptions, eliminated);
    return { selection, eliminated };
  }

  /** Every best route in the Loc-RIB (as last flushed). */
  *bestRoutes(): IterableIterator<RouteView> {
    for (const [key] of this.locRib.bests()) yield this.viewOf(key);
  }

  receivedRoutes(peerId: PeerId): ReceivedRoute[] {
    const state = this.peers.get(peerId);
    if (!state) return [];
    const out: ReceivedRoute[] = [];
    this.forEachCandidateOf(state, (key, path) => {
      const attrs = state.beforePolicy.get(key) ?? path.attrs;
      out.push({ prefix: prefixFromKey(key), attrs, stale: path.stale, accepted: true });
    });
    for (const [key, attrs] of state.rejected) {
      out.push({ prefix: prefixFromKey(key), attrs, stale: false, accepted: false });
    }
    return out;
  }

  advertisedRoutes(peerId: PeerId): Array<{ prefix: Prefix; attrs: PathAttributes }> {
    const state = this.peers.get(peerId);
    // What the peer holds now: derived from the best paths as last flushed, under the export
    // settings it got them with (nothing yet before its first table).
    const out =
      state?.exportPhase === 'resync'
        ? state.outBefore
        : state?.exportPhase === 'initial'
          ? undefined
          : state?.out;
    if (!out) return [];
    const source: ExportSource = {
      bests: () => this.locRib.bests(),
      bestOf: (key) => bestOf(this.locRib.published(key)),
      changed: new Map(),
    };
    return out.advertised(source).map(([key, attrs]) => ({ prefix: prefixFromKey(key), attrs }));
  }

  peerStats(): PeerRibStats[] {
    return [...this.peers].map(([peerId, s]) => ({
      peerId,
      up: s.up,
      received: s.accepted + s.rejected.size,
      accepted: s.accepted,
      stale: s.staleCount,
      advertised:
        (s.exportPhase === 'resync' ? s.outBefore : s.exportPhase === 'initial' ? undefined : s.out)?.size ??
        0,
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
    let accepted: PathAttributes | null = rejection === undefined ? attrs : null;
    const policy = state.config.importPolicy;
    if (accepted !== null && policy) {
      const chosen = policy({ prefix: prefixFromKey(key), attrs, peer: state.source });
      accepted = chosen === null ? null : this.interner.intern(chosen);
    }
    if (accepted === null) {
      state.rejected.set(key, attrs);
      if (state.beforePolicy.size > 0) state.beforePolicy.delete(key);
      this.dropCandidate(state, key);
      return;
    }
    if (state.rejected.size > 0) state.rejected.delete(key);
    if (accepted !== attrs) state.beforePolicy.set(key, attrs);
    else if (state.beforePolicy.size > 0) state.beforePolicy.delete(key);
    const replaced = this.locRib.setCandidate(key, storedPath(accepted, state.source, now, igpCost));
    if (replaced === undefined) state.accepted++;
    else if (replaced.stale) state.staleCount--;
  }

  /** Drops the peer's candidate for a prefix (withdrawn or no longer accepted). */
  private dropCandidate(state: PeerState, key: PrefixKey): void {
    const path = this.locRib.candidateFrom(key, state.config.address);
    if (path) this.removePath(state, key, path);
  }

  private removePath(state: PeerState, key: PrefixKey, path: StoredPath): void {
    this.locRib.removeCandidate(key, state.config.address);
    if (state.beforePolicy.size > 0) state.beforePolicy.delete(key);
    state.accepted--;
    if (path.stale) state.staleCount--;
  }

  /** Visits every Loc-RIB candidate from this peer (removing the visited one is allowed). */
  private forEachCandidateOf(state: PeerState, visit: (key: PrefixKey, path: StoredPath) => void): void {
    if (state.accepted === 0) return;
    this.locRib.forEachFrom(state.config.address, visit);
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

  private viewOf(key: PrefixKey): RouteView {
    const owner = { prefix: prefixFromKey(key) };
    const views = new Map<StoredPath, RibPath>();
    const view = (p: StoredPath): RibPath => {
      let v = views.get(p);
      if (v === undefined) {
        v = new RibPath(owner, p);
        views.set(p, v);
      }
      return v;
    };
    const candidates = this.locRib.candidates(key).map(view);
    const published = this.locRib.published(key);
    const best = bestOf(published);
    return {
      prefix: owner.prefix,
      candidates,
      best: best && view(best),
      multipath: multipathOf(published).map(view),
      reason: selectBestPath(candidates, this.decisionOptions)?.reason,
    };
  }
}
