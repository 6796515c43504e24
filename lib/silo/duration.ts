// Durations of the upkeep options (--prune-expire, --lock-wait): "now" or "0", "never", or a whole number
// with a unit: 90s, 10m, 1h, 2d, 2w (git's gc.pruneExpire says "2.weeks.ago"; these are its plain forms).
import { MedoError } from '../errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION_RE = /^(\d+)\s*([smhdw])$/;

/** Milliseconds; Infinity for "never". Throws ERR_USAGE naming `what` otherwise. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'now' || t === '0') return 0;
  if (t === 'never') return Infinity;
  const m = DURATION_RE.exec(t);
  const ms = m === null ? NaN : Number(m[1]) * UNIT_MS[m[2]!]!;
  if (!Number.isSafeInteger(ms)) {
    throw new MedoError('ERR_USAGE', `${what}: ${JSON.stringify(text)} is not a duration (now, never, or a number with s, m, h, d or w: 30m, 2d)`);
  }
  return ms;
}
