// Lock files in `SILO/locks/`: what a crashed holder leaves must never block a silo for good, so each
// lock says who holds it and since when, and can be broken once its holder is known to be gone.
//   locks/<name>.lock   {"name", "host", "pid", "command", "started": ISO 8601, "maxAgeSeconds", "nonce"}
// A lock comes into being whole: its JSON is written to a temp file that is then hard-linked to the lock's
// name, and link(2) fails with EEXIST when the name is taken (O_EXCL semantics, also on NFS v3+).
// A lock may be broken when its holder runs on this host and its pid is gone, or when it is older than
// the `maxAgeSeconds` it states (the only test possible for a holder on another host).
//
// Two kinds: `upkeep.lock`, exclusive, held by `silo repack` and `silo gc --prune`; and `add-<nonce>.lock`,
// one per running `medo add`, which excludes nobody: it announces an add at work, so that a prune spares
// whatever that add has written or reused since it started (gc.ts, docs/operations.md).
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MedoError } from '../errors.js';
import { TEMP_PREFIX, writeFileAtomic } from '../io/atomic-write.js';

export const LOCK_DIR = 'locks';
export const UPKEEP_LOCK = 'upkeep';
export const ADD_LOCK_PREFIX = 'add-';
/** A repack of a large silo takes hours; a lock older than this is a holder that will not come back. */
export const UPKEEP_MAX_AGE_MS = 12 * 60 * 60 * 1000;
export const ADD_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const LOCK_NAME = /^[a-z0-9][a-z0-9-]{0,80}$/;

export interface LockOwner {
  name: string;
  host: string;
  pid: number;
  command: string;
  started: string;
  maxAgeSeconds: number;
  nonce: string;
}

/** held: its holder is (or may be) at work; dead: its holder's pid is gone from this host; expired: older than it allows. */
export type LockState = 'held' | 'dead' | 'expired';

export interface LockInfo {
  path: string;
  name: string;
  /** Undefined when the file is not a lock this medo wrote (then its age alone decides). */
  owner?: LockOwner;
  state: LockState;
  /** Milliseconds since the lock was taken (its `started`, else the file's mtime). */
  ageMs: number;
  /** Why it is in that state, for messages. */
  why: string;
  /**
   * The lock file's mtime: written before anything its holder then writes, by the same (coarse,
   * tick-granular) file system clock that stamps those files, so it is what their times compare with.
   */
  mtimeMs: number;
  /**
   * Identity of the file judged, so that breaking it cannot remove a newer lock of the same name: the
   * lock's nonce, or for a file that is no lock of ours its inode, size and mtime (an inode number alone
   * is reused at once after an unlink).
   */
  identity: string;
}

export interface LockOptions {
  /** What the holder is doing, shown to whoever finds the lock taken (e.g. "silo repack /srv/deps.silo"). */
  command: string;
  maxAgeMs: number;
  /** How long to wait for a held lock (default 0: fail at once). */
  waitMs?: number;
}

export function lockPath(siloDir: string, name: string): string {
  return join(siloDir, LOCK_DIR, `${name}.lock`);
}

function parseOwner(text: string): LockOwner | undefined {
  let o: Partial<LockOwner>;
  try {
    o = JSON.parse(text) as Partial<LockOwner>;
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || typeof o.host !== 'string' || !Number.isSafeInteger(o.pid) || typeof o.started !== 'string' ||
    !Number.isFinite(Date.parse(o.started)) || typeof o.maxAgeSeconds !== 'number' || typeof o.nonce !== 'string') return undefined;
  return { name: String(o.name), host: o.host, pid: o.pid!, command: String(o.command), started: o.started, maxAgeSeconds: o.maxAgeSeconds, nonce: o.nonce };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function identityOf(owner: LockOwner | undefined, st: { ino: number; size: number; mtimeMs: number }): string {
  return owner === undefined ? `file ${st.ino} ${st.size} ${st.mtimeMs}` : `nonce ${owner.nonce}`;
}

export function describeOwner(o: LockOwner): string {
  return `${o.command} (pid ${o.pid} on ${o.host}, since ${o.started})`;
}

/** The lock at `path` and its state, or undefined when there is none. */
export function inspectLock(path: string, now = Date.now()): LockInfo | undefined {
  let text: string;
  let st;
  try {
    st = statSync(path);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MedoError('ERR_SILO_CORRUPT', `cannot read the lock ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  const name = (path.split('/').pop() ?? '').replace(/\.lock$/, '');
  const owner = parseOwner(text);
  const base = { path, name, identity: identityOf(owner, st), mtimeMs: st.mtimeMs };
  if (owner === undefined) {
    const ageMs = now - st.mtimeMs;
    const expired = ageMs > ADD_MAX_AGE_MS;
    return { ...base, state: expired ? 'expired' : 'held', ageMs, why: `not a medo lock file; ${expired ? 'older' : 'younger'} than a day` };
  }
  const ageMs = now - Date.parse(owner.started);
  if (owner.host === hostname() && !pidAlive(owner.pid)) {
    return { ...base, owner, state: 'dead', ageMs, why: `pid ${owner.pid} is not running on this host (${owner.host})` };
  }
  if (ageMs > owner.maxAgeSeconds * 1000) {
    return { ...base, owner, state: 'expired', ageMs, why: `older than the ${owner.maxAgeSeconds} s it allows itself` };
  }
  const where = owner.host === hostname() ? 'running on this host' : `on ${owner.host}: cannot check its pid from here`;
  return { ...base, owner, state: 'held', ageMs, why: `pid ${owner.pid} ${where}` };
}

/** Every lock of the silo, sorted by name. */
export function listLocks(siloDir: string, now = Date.now()): LockInfo[] {
  let names: string[];
  try {
    names = readdirSync(join(siloDir, LOCK_DIR));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: LockInfo[] = [];
  for (const n of names.sort()) {
    if (!n.endsWith('.lock')) continue;
    const info = inspectLock(join(siloDir, LOCK_DIR, n), now);
    if (info !== undefined) out.push(info);
  }
  return out;
}

/**
 * Removes the lock `info` describes. The file is first renamed aside and checked to be the one judged
 * (same nonce): two processes breaking the same stale lock must not remove the lock one of them then took.
 * False when the lock was already gone or had been replaced (a replacement is put back).
 */
export function breakLock(info: LockInfo): boolean {
  const aside = join(info.path, '..', `${TEMP_PREFIX}broken-${info.name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    renameSync(info.path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (identityOf(parseOwner(readFileSync(aside, 'utf8')), statSync(aside)) === info.identity) {
    unlinkSync(aside);
    return true;
  }
  try {
    linkSync(aside, info.path); // not the lock we judged: give it back
  } catch {
    // yet another lock was taken meanwhile; the one we moved is lost with this rename's race
  }
  unlinkSync(aside);
  return false;
}

export class Lock {
  private released = false;
  constructor(readonly path: string, readonly owner: LockOwner) {}

  /** Removes the lock if it is still this holder's (it may have been broken meanwhile). */
  release(): void {
    if (this.released) return;
    this.released = true;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    if (parseOwner(text)?.nonce === this.owner.nonce) unlinkSync(this.path);
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the lock if it is free (or breakable); otherwise returns what holds it. */
export function tryLock(siloDir: string, name: string, options: LockOptions): Lock | LockInfo {
  if (!LOCK_NAME.test(name)) throw new MedoError('ERR_USAGE', `lock name ${JSON.stringify(name)} is not [a-z0-9-]`);
  const dir = join(siloDir, LOCK_DIR);
  mkdirSync(dir, { recursive: true });
  const path = lockPath(siloDir, name);
  const owner: LockOwner = {
    name, host: hostname(), pid: process.pid, command: options.command, started: new Date().toISOString(),
    maxAgeSeconds: Math.ceil(options.maxAgeMs / 1000), nonce: randomBytes(8).toString('hex'),
  };
  const tmp = join(dir, `${TEMP_PREFIX}${name}-${process.pid}-${owner.nonce}`);
  writeFileAtomic(tmp, `${JSON.stringify(owner)}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        return new Lock(path, owner);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = inspectLock(path);
      if (holder === undefined) continue; // released meanwhile
      if (holder.state === 'held' || attempt >= 3) return holder;
      breakLock(holder);
    }
  } finally {
    unlinkSync(tmp);
  }
}

/** Takes the lock, waiting up to `waitMs` for its holder; ERR_SILO_LOCKED naming the holder otherwise. */
export function acquireLock(siloDir: string, name: string, options: LockOptions): Lock {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const got = tryLock(siloDir, name, options);
    if (got instanceof Lock) return got;
    if (Date.now() >= deadline) {
      const who = got.owner === undefined ? `an unreadable lock file (${got.why})` : describeOwner(got.owner);
      throw new MedoError('ERR_SILO_LOCKED',
        `${got.path} is held by ${who}; wait for it, or if that process is gone, 'silo unlock ${siloDir}' (--force for a holder on another host)`,
        { path: got.path, owner: got.owner });
    }
    sleep(Math.min(250, Math.max(1, deadline - Date.now())));
  }
}

/** The exclusive lock of `silo repack` and `silo gc --prune`. */
export function acquireUpkeepLock(siloDir: string, command: string, waitMs = 0): Lock {
  return acquireLock(siloDir, UPKEEP_LOCK, { command, maxAgeMs: UPKEEP_MAX_AGE_MS, waitMs });
}

/** Announces a running add (never waits: adds exclude nobody). Release it once the .treeptr is written. */
export function announceAdd(siloDir: string, command: string): Lock {
  const got = tryLock(siloDir, `${ADD_LOCK_PREFIX}${randomBytes(8).toString('hex')}`, { command, maxAgeMs: ADD_MAX_AGE_MS });
  if (!(got instanceof Lock)) throw new MedoError('ERR_SILO_LOCKED', `${got.path}: a fresh random lock name is taken`, { path: got.path });
  return got;
}

/** When the oldest add still at work began (ms since the epoch), or undefined when none is. */
export function oldestAddStart(siloDir: string, now = Date.now()): number | undefined {
  let oldest: number | undefined;
  for (const l of listLocks(siloDir, now)) {
    if (!l.name.startsWith(ADD_LOCK_PREFIX) || l.state !== 'held') continue;
    // `started` is read off a fine clock; the add's files get coarse file times that may read a tick
    // earlier than it. The lock file's own mtime, from that coarse clock, is never later than theirs.
    const started = Math.min(l.mtimeMs, l.owner === undefined ? now - l.ageMs : Date.parse(l.owner.started));
    if (oldest === undefined || started < oldest) oldest = started;
  }
  return oldest;
}
