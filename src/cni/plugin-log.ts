/**
 * The CNI plugin's log: entries are collected while the call runs and written through the one logger
 * (src/log.ts, JSON lines on stderr) when it ends. Why deferred: a CNI call lives for a few
 * milliseconds and loading the logging library costs more than the call's own work, so it is loaded
 * only when there is something to write at the configured level (default: warning).
 */
import type { CniLogLevel } from './network-config.js';

export type CniLogSeverity = 'debug' | 'info' | 'warn' | 'error';

export interface CniLog {
  log(severity: CniLogSeverity, msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

const RANK: Record<CniLogSeverity, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const THRESHOLD: Record<CniLogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3, none: 4 };

interface Entry {
  readonly severity: CniLogSeverity;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export class DeferredLog implements CniLog {
  private readonly entries: Entry[] = [];
  private threshold: number;

  constructor(
    private readonly name: string,
    private level: CniLogLevel = 'warning',
    /** Where lines go instead of stderr: the CNI server returns them to the shim, which prints them. */
    private readonly destination?: { write(line: string): void },
  ) {
    this.threshold = THRESHOLD[level];
  }

  /** The level is known only once the configuration is read; entries kept so far are filtered then. */
  setLevel(level: CniLogLevel): void {
    this.level = level;
    this.threshold = THRESHOLD[level];
  }

  log(severity: CniLogSeverity, msg: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.entries.push({ severity, msg, fields });
  }

  /** Entries at or above the level, in order. */
  pending(): readonly Entry[] {
    return this.entries.filter((e) => RANK[e.severity] >= this.threshold);
  }

  async flush(): Promise<void> {
    const due = this.pending();
    this.entries.length = 0;
    if (!due.length) return;
    const { createLogger } = await import('../log.js');
    const logger = createLogger(this.name, this.level, this.destination);
    for (const e of due) logger[e.severity]({ ...e.fields }, e.msg);
  }
}

/** For tests and callers that want no output. */
export const silentLog: CniLog = { log: () => undefined };
