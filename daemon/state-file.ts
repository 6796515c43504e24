// medod's persisted mount table: STATE_DIR/mounts.json, rewritten atomically (temp file, fsync, rename)
// after every mount and unmount, read at start so a restarted daemon brings its mounts back.
//   { "version": 1, "mounts": [ { "source": "/abs", "mountpoint": "/abs", "rev"?: "...", "options": {...} } ] }
// A file that does not parse is set aside (mounts.json.bad-<time>) rather than trusted or lost.
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/io/atomic-write.js';
import type { MountFlags } from '../lib/daemon-protocol.js';

export const STATE_FILE = 'mounts.json';
const VERSION = 1;

export interface PersistedMount {
  source: string;
  mountpoint: string;
  rev?: string;
  options: MountFlags;
}

export function writeState(stateDir: string, mounts: readonly PersistedMount[]): void {
  writeFileAtomic(join(stateDir, STATE_FILE), `${JSON.stringify({ version: VERSION, mounts }, null, 2)}\n`, 0o600);
}

/** The persisted mounts, and a problem line when the file had to be set aside. */
export function readState(stateDir: string): { mounts: PersistedMount[]; problem?: string } {
  const path = join(stateDir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { mounts: [] };
    throw e;
  }
  try {
    const doc = JSON.parse(text) as { version?: unknown; mounts?: unknown };
    if (doc.version !== VERSION || !Array.isArray(doc.mounts)) throw new Error(`expected {"version":${VERSION},"mounts":[...]}`);
    const mounts: PersistedMount[] = [];
    for (const m of doc.mounts as Record<string, unknown>[]) {
      if (typeof m?.source !== 'string' || typeof m.mountpoint !== 'string' || !m.source.startsWith('/') || !m.mountpoint.startsWith('/')) {
        throw new Error('an entry lacks an absolute source or mountpoint');
      }
      const o = (typeof m.options === 'object' && m.options !== null ? m.options : {}) as Record<string, unknown>;
      const options: MountFlags = {};
      for (const k of ['allowOther', 'allowRoot', 'nonEmpty', 'debug'] as const) if (o[k] === true) options[k] = true;
      mounts.push({ source: m.source, mountpoint: m.mountpoint, ...(typeof m.rev === 'string' ? { rev: m.rev } : {}), options });
    }
    return { mounts };
  } catch (e) {
    const aside = `${path}.bad-${Date.now()}`;
    renameSync(path, aside);
    return { mounts: [], problem: `${path} does not parse (${(e as Error).message}); moved to ${aside}` };
  }
}
