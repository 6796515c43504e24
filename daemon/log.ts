// The daemon's logger: pino, JSON lines on stderr (a log file, or the journal under systemd). The level comes
// from an option, else MEDO_LOG_LEVEL, else info. Per-operation lines exist only at trace level, and are
// not even built below it.
import { pino, type Logger } from 'pino';
import { MedoError } from '../lib/errors.js';
import type { RemoteEvent } from '../lib/remote/remote-store.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(level?: string, fd = 2): Logger {
  const chosen = level ?? process.env.MEDO_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(chosen)) {
    throw new MedoError('ERR_USAGE', `log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(chosen)}` +
      (level === undefined ? ' (from MEDO_LOG_LEVEL)' : ''));
  }
  // Synchronous writes: a daemon that dies must not lose the line saying why.
  return pino({ level: chosen, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: fd, sync: true }));
}

/** What a mount's fetches report (lib/remote/remote-store.ts): a bad or failing server is a warning. */
export function remoteEventLogger(log: Logger): (e: RemoteEvent) => void {
  return (e) => {
    if (e.kind === 'mismatch') log.warn({ oid: e.oid, url: e.url, retry: e.retry }, 'a remote silo sent bytes that do not hash to the object id');
    else if (e.kind === 'fallthrough') log.warn({ oid: e.oid, url: e.url, err: e.error.message }, 'a remote silo failed for an object (the next one listed, if any, is asked)');
    else if (e.kind === 'pack-failed') log.warn({ url: e.url, err: e.error.message }, 'a whole-pack download failed; fetching its objects one by one');
    else if (e.kind === 'cache-failed') log.warn({ oid: e.oid, cache: e.path, err: e.error.message }, 'cannot write the cache: serving what is fetched without keeping it');
    else if (e.kind === 'pack') log.info({ url: e.url, bytes: e.bytes }, 'fetched a whole pack');
    else if (e.kind === 'fetched') log.debug({ oid: e.oid, bytes: e.bytes }, 'fetched');
  };
}
