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

/** `destination` defaults to stderr; calico-node's CNI server collects a call's lines for its caller. */
export function createLogger(
  name: string,
  severity?: string,
  destination: { write(line: string): void } = pino.destination(2),
): Logger {
  return pino({ name, level: pinoLevel(severity), base: { name } }, destination);
}
