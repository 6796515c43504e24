// The options every command that reads remote silos shares: where the cache is, how long to wait for a
// server, how many requests at once. Environment defaults: MEDO_CACHE_DIR, MEDO_HTTP_TIMEOUT (seconds).
import { existsSync, statSync } from 'node:fs';
import { readTreeptr } from '../../lib/medo/treeptr.js';
import { isOid } from '../../lib/oid.js';
import { cacheDirFrom } from '../../lib/remote/cache.js';
import type { RemoteEvent, RemoteStoreOptions } from '../../lib/remote/remote-store.js';
import { usage } from '../run.js';

export const REMOTE_OPTIONS = {
  'cache-dir': { type: 'string' },
  timeout: { type: 'string' },
  parallel: { type: 'string' },
  'whole-packs': { type: 'boolean' },
  have: { type: 'string', multiple: true },
  'no-static-delta': { type: 'boolean' },
  'no-derived': { type: 'boolean' },
} as const;

export const REMOTE_HELP = `--cache-dir DIR  the host's cache of remote silos (default $MEDO_CACHE_DIR, else /var/cache/medo)
--timeout SECS   fail a request after SECS seconds without progress (default $MEDO_HTTP_TIMEOUT, else 30)
--parallel N     HTTP requests in flight at once (default 8)
--whole-packs    download a remote pack whole (checked, then kept in the cache) the first time one of
                 its objects is needed, rather than Range requests per object
--have X         a version this host holds (a .treeptr or a tree id; repeatable): use the remote silo's
                 static delta from it (docs/remote.md); default: any version the cache holds whole.
                 For expand, X may also be a directory holding an expanded older version: what it holds
                 is taken from it (checked by id) rather than fetched
--no-static-delta  fetch object by object even where a static delta is offered
--no-derived     never fetch a derived tarball (silo derive tar.zst|tar.gz) in place of a tree's
                 objects; by default one is fetched when it is smaller than the pack entries of the
                 files the host lacks (checked against its record, then every file by its id)`;

function positive(text: string, option: string, integer: boolean): number {
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) usage(`${option} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  return n;
}

export interface RemoteValues {
  'cache-dir'?: string;
  timeout?: string;
  parallel?: string;
  'whole-packs'?: boolean;
  have?: string[];
  'no-static-delta'?: boolean;
  'no-derived'?: boolean;
}

/** A --have value that is a directory other than a medo directory: an expanded older version. */
export function isHaveDir(h: string): boolean {
  try {
    return statSync(h).isDirectory() && !existsSync(`${h}/SILO.json`);
  } catch {
    return false;
  }
}

/** --have's trees: a .treeptr's tree, or a tree id as given (directories are the caller's: isHaveDir). */
export function haveTrees(values: RemoteValues): string[] | undefined {
  const haves = values.have?.filter((h) => !isHaveDir(h));
  if (haves === undefined || haves.length === 0) return undefined;
  return haves.map((h) => {
    if (isOid(h) && !existsSync(h)) return h.toLowerCase();
    const t = readTreeptr(h);
    if (t.tree === undefined) usage(`--have: ${h} names a blob, not a tree`);
    return t.tree!;
  });
}

/** Warnings the library reports as events, printed on stderr: the operator must see a bad server. */
export function printEvent(program: string, e: RemoteEvent): void {
  if (e.kind === 'mismatch') {
    process.stderr.write(`${program}: warning: ${e.url} sent bytes that do not hash to ${e.oid}${e.retry ? '; retrying bypassing caches' : ''}\n`);
  } else if (e.kind === 'fallthrough') {
    process.stderr.write(`${program}: warning: ${e.url}: ${e.error.message}; trying the next silo\n`);
  } else if (e.kind === 'static-delta-failed') {
    process.stderr.write(e.partial === undefined
      ? `${program}: warning: static delta ${e.url}: ${e.error.message}; fetching object by object instead\n`
      : `${program}: static delta ${e.url}: ${e.partial.used} objects taken from it; ${e.partial.failed} could not be ` +
        `(the first: ${e.error.message}), fetched on their own\n`);
  } else if (e.kind === 'pack-failed') {
    process.stderr.write(`${program}: warning: ${e.error.message}; fetching its objects one by one instead\n`);
  }
}

export function remoteSettings(values: RemoteValues, env: NodeJS.ProcessEnv = process.env): { cacheDir: string; options: RemoteStoreOptions } {
  const timeoutText = values.timeout ?? env.MEDO_HTTP_TIMEOUT;
  const options: RemoteStoreOptions = {};
  if (timeoutText !== undefined && timeoutText !== '') {
    options.timeoutMs = positive(timeoutText, values.timeout !== undefined ? '--timeout' : 'MEDO_HTTP_TIMEOUT', false) * 1000;
  }
  if (values['whole-packs'] === true) options.wholePacks = true;
  if (values.parallel !== undefined) options.parallel = positive(values.parallel, '--parallel', true);
  return { cacheDir: cacheDirFrom(values['cache-dir'], env), options };
}
