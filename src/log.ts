/**
 * The one logger: structured JSON lines (pino) on stderr, at the level the datastore configures
 * (FelixConfiguration / `calicoctl config set logLevel`), changeable while running.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

const LEVELS: Record<string, string> = {
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
  none: 'silent',
};

/** Calico's severity names (`Info`, `Warning`) as pino levels. */
export function pinoLevel(severity: string | undefined): string {
  return LEVELS[(severity ?? 'info').toLowerCase()] ?? 'info';
}

export function createLogger(name: string, severity?: string): Logger {
  return pino({ name, level: pinoLevel(severity), base: { name } }, pino.destination(2));
}
