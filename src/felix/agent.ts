/**
 * The Felix agent: syncer → calculation graph → rule renderer → dataplane, with the operational
 * policy around it. Updates are batched (a short debounce), a failed apply keeps the last good
 * dataplane in place and is retried with backoff, and a periodic refresh (FelixConfiguration
 * `iptablesRefreshInterval`, default 90 s) re-applies everything so whatever someone else changed in
 * our chains is put back. Readiness means "the first complete apply succeeded".
 *
 * Two kinds of apply: a datastore update (a label change, a new endpoint) asks for an incremental
 * one, where the drivers trust what they last wrote and the calculation and renderer hand back the
 * same objects for everything the update did not touch, so it costs about what changed; the refresh
 * timer asks for a full one, which reads iptables, ipsets and routes back from the kernel. A failed
 * apply leaves the drivers' memory empty, so its retry reads the kernel too.
 *
 * `ipv6: false` reaches both ends: the calculation leaves every IPv6 piece out of the desired state,
 * and the dataplane writes nothing IPv6 (and deletes our IPv6 routes left from a run with IPv6 on).
 * Local endpoints with IPv6 addresses then lose their IPv6 side; the agent warns once, with their
 * number, so the user learns why their IPv6 traffic goes nowhere.
 */
import type { Datastore } from '../datastore/types.js';
import { followPrefix, type SyncerUpdate } from '../datastore/syncer.js';
import { decodeResource } from '../datastore/resources.js';
import { RESOURCE_PREFIX, lookupKind } from '../api/kinds.js';
import { parseDuration } from '../api/values.js';
import { formatCidr } from '../net/ip.js';
import { hostAffinityPrefix, parseAffinityKey } from '../ipam/keys.js';
import type { CommandRunner } from '../kernel/runner.js';
import type { Logger } from '../log.js';
import { pinoLevel } from '../log.js';
import { FelixCalculator, type ResourceUpdate } from './calc/graph.js';
import { renderDataplane } from './rules/render.js';
import { Dataplane } from './dataplane/index.js';

export interface FelixMetrics {
  applies: number;
  applyFailures: number;
  lastApplyMs: number;
  totalApplyMs: number;
  rules: number;
  ipsetMembers: number;
  resyncs: number;
  ready: boolean;
  /** Local endpoints with IPv6 addresses that are not programmed because IPv6 is off. */
  ipv6EndpointsNotProgrammed: number;
}

export interface FelixAgentOptions {
  readonly nodeName: string;
  readonly datastore: Datastore;
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** Overrides FelixConfiguration iptablesRefreshInterval (tests use 1 s). */
  readonly refreshIntervalMs?: number;
  readonly debounceMs?: number;
  /** Program IPv6 (default true); off, nothing IPv6 is programmed (calico-node `--no-ipv6`). */
  readonly ipv6?: boolean;
}

function toResourceUpdate(u: SyncerUpdate): ResourceUpdate | undefined {
  if (u.type === 'added' || u.type === 'modified') return { type: 'set', resource: decodeResource(u.kv) };
  if (u.type === 'deleted') {
    const rest = u.key.slice(RESOURCE_PREFIX.length).split('/');
    const info = lookupKind(rest[0] ?? '');
    if (!info) return undefined;
    return info.namespaced
      ? { type: 'delete', kind: info.kind, namespace: rest[1] ?? 'default', name: rest[2] ?? '' }
      : { type: 'delete', kind: info.kind, name: rest[1] ?? '' };
  }
  return undefined;
}

export class FelixAgent {
  readonly metrics: FelixMetrics = {
    applies: 0,
    applyFailures: 0,
    lastApplyMs: 0,
    totalApplyMs: 0,
    rules: 0,
    ipsetMembers: 0,
    resyncs: 0,
    ready: false,
    ipv6EndpointsNotProgrammed: 0,
  };
  private readonly calc: FelixCalculator;
  private readonly dataplane: Dataplane;
  private readonly abort = new AbortController();
  private resourcesInSync = false;
  private blocksInSync = false;
  private readonly blocks = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private applying: Promise<void> | undefined;
  private pending = false;
  private pendingFull = false;
  private backoffMs = 0;
  private stopped = false;
  private readonly tasks: Promise<void>[] = [];
  private warnedIpv6 = false;

  constructor(private readonly opts: FelixAgentOptions) {
    const ipv6 = opts.ipv6 ?? true;
    this.calc = new FelixCalculator(opts.nodeName, { ipv6 });
    this.dataplane = new Dataplane(opts.runner, { ipv6 });
  }

  start(): void {
    this.tasks.push(
      this.follow(
        RESOURCE_PREFIX,
        (u) => this.onResource(u),
        () => (this.resourcesInSync = true),
      ),
    );
    this.tasks.push(
      this.follow(
        hostAffinityPrefix(this.opts.nodeName),
        (u) => this.onAffinity(u),
        () => (this.blocksInSync = true),
      ),
    );
    this.scheduleRefresh();
  }

  private follow(prefix: string, onUpdate: (u: SyncerUpdate) => void, onSync: () => void): Promise<void> {
    return followPrefix(
      this.opts.datastore,
      prefix,
      {
        change: (u) => onUpdate(u),
        inSync: onSync,
        resyncing: (reason) => {
          this.metrics.resyncs++;
          this.opts.logger.warn({ reason }, 'datastore watch lost; resyncing');
        },
        settle: () => this.schedule(),
        failed: (e) => this.opts.logger.error({ err: e, prefix }, 'syncer stopped'),
      },
      { signal: this.abort.signal },
    );
  }

  private onResource(u: SyncerUpdate): void {
    const update = toResourceUpdate(u);
    if (!update) return;
    this.calc.apply(update);
    if (update.type === 'set' && update.resource.kind === 'FelixConfiguration') {
      const level = pinoLevel(this.calc.config().logSeverityScreen);
      if (this.opts.logger.level !== level) {
        this.opts.logger.level = level;
        this.opts.logger.info({ logLevel: level }, 'log level changed');
      }
      this.scheduleRefresh();
    }
  }

  private onAffinity(u: SyncerUpdate): void {
    const key =
      u.type === 'deleted' ? u.key : u.type === 'added' || u.type === 'modified' ? u.kv.key : undefined;
    const parsed = key ? parseAffinityKey(key) : undefined;
    if (!parsed) return;
    const cidr = formatCidr(parsed.cidr);
    if (u.type === 'deleted') this.blocks.delete(cidr);
    else this.blocks.add(cidr);
    this.calc.setAffineBlocks([...this.blocks]);
  }

  private refreshIntervalMs(): number {
    if (this.opts.refreshIntervalMs !== undefined) return this.opts.refreshIntervalMs;
    return parseDuration(this.calc.config().iptablesRefreshInterval ?? '90s') ?? 90_000;
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.stopped) return;
    this.refreshTimer = setInterval(() => this.schedule(true), Math.max(100, this.refreshIntervalMs()));
  }

  /** Asks for an apply soon (`full`: read the kernel back); several updates in a burst become one apply. */
  private schedule(full = false): void {
    if (this.stopped || !this.resourcesInSync || !this.blocksInSync) return;
    this.pending = true;
    this.pendingFull ||= full;
    if (this.timer || this.applying) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.runApply();
      },
      this.backoffMs || (this.opts.debounceMs ?? 10),
    );
  }

  private async runApply(): Promise<void> {
    if (!this.pending || this.stopped) return;
    this.pending = false;
    const full = this.pendingFull;
    this.pendingFull = false;
    this.applying = (async () => {
      const started = performance.now();
      try {
        const state = this.calc.state();
        this.noteIpv6NotProgrammed(state.ipv6NotProgrammed);
        const desired = renderDataplane(state);
        const report = await this.dataplane.apply(desired, full);
        const ms = performance.now() - started;
        Object.assign(this.metrics, {
          applies: this.metrics.applies + 1,
          lastApplyMs: ms,
          totalApplyMs: this.metrics.totalApplyMs + ms,
          rules: report.rules,
          ipsetMembers: report.ipsetMembers,
        });
        if (!this.metrics.ready) this.opts.logger.info({ rules: report.rules }, 'dataplane in sync');
        this.metrics.ready = true;
        this.backoffMs = 0;
        if (report.changed) this.opts.logger.debug({ ms: Math.round(ms), ...report }, 'dataplane updated');
        for (const w of report.warnings) this.opts.logger.warn({ warning: w }, 'dataplane warning');
      } catch (e) {
        this.metrics.applyFailures++;
        this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 100), 5_000);
        this.pending = true;
        this.opts.logger.error(
          { err: (e as Error).message, retryInMs: this.backoffMs },
          'dataplane apply failed; keeping the last good state',
        );
      }
    })();
    await this.applying;
    this.applying = undefined;
    if (this.pending) this.schedule();
  }

  /** Warns the first time local endpoints have IPv6 addresses that IPv6 off leaves out; counts them always. */
  private noteIpv6NotProgrammed(endpoints: readonly string[]): void {
    this.metrics.ipv6EndpointsNotProgrammed = endpoints.length;
    if (this.warnedIpv6 || endpoints.length === 0) return;
    this.warnedIpv6 = true;
    this.opts.logger.warn(
      { endpoints: endpoints.length, examples: endpoints.slice(0, 5) },
      `IPv6 is off: ${endpoints.length} local endpoint(s) have IPv6 addresses that are not programmed (no IPv6 route, ip6tables rule, ipset or sysctl), so this host routes no IPv6 to them. Start calico-node without --no-ipv6 to program them, or stop assigning IPv6 addresses (CNI ipam assign_ipv6: false).`,
    );
  }

  /** Waits until the first complete apply, or fails after `timeoutMs`. */
  async waitReady(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.metrics.ready) {
      if (Date.now() > deadline) throw new Error('felix did not become ready in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.applying;
    await Promise.allSettled(this.tasks);
  }
}
