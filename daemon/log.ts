// The daemon's logger: pino, JSON lines on stderr (a log file, or the journal under systemd). The level comes
// from an option, else MEDO_LOG_LEVEL, else info. Per-operation lines exist only at trace level, and are
// not even built below it.
import { pino, type Logger } from 'pino';
import { MedoError } from '../lib/errors.js';

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
