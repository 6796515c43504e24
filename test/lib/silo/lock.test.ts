// Silo lock files: taken whole and exclusively, naming their holder; broken only when the holder is gone
// (a dead pid on this host) or the lock is older than it allows itself; never a newer lock by mistake.
// Holders are real processes: a child that takes the lock, and one that has exited.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gc } from '../../../lib/silo/gc.js';
import {
  Lock, UPKEEP_LOCK, acquireLock, acquireUpkeepLock, announceAdd, breakLock, inspectLock, listLocks, lockPath, oldestAddStart, tryLock,
} from '../../../lib/silo/lock.js';
import { repack } from '../../../lib/silo/repack.js';
import { Silo } from '../../../lib/silo/silo.js';
import { ROOT } from '../../helpers/cli-process.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { throwsCode } from '../../helpers/medo-error.js';

const OPTS = { command: 'test', maxAgeMs: 60_000 };

function silo(t: Parameters<typeof tempDir>[0]): string {
  const dir = join(tempDir(t, 'medo-lock-'), 's.silo');
  Silo.init(dir).close();
  return dir;
}

/** The pid of a process that has run and exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

function writeLock(dir: string, name: string, owner: Record<string, unknown>): string {
  mkdirSync(join(dir, 'locks'), { recursive: true });
  const path = lockPath(dir, name);
  writeFileSync(path, JSON.stringify({ name, command: 'someone', maxAgeSeconds: 3600, nonce: 'n0', ...owner }));
  return path;
}

test('a lock is exclusive, says who holds it, and is free again once released', (t) => {
  const dir = silo(t);
  const lock = acquireLock(dir, UPKEEP_LOCK, { ...OPTS, command: 'silo repack here' });
  const body = JSON.parse(readFileSync(lock.path, 'utf8'));
  t.like(body, { name: UPKEEP_LOCK, host: hostname(), pid: process.pid, command: 'silo repack here', maxAgeSeconds: 60 });
  t.true(Number.isFinite(Date.parse(body.started)));
  const other = tryLock(dir, UPKEEP_LOCK, OPTS);
  t.false(other instanceof Lock);
  t.like(other, { state: 'held', owner: { pid: process.pid, command: 'silo repack here' } });
  const err = throwsCode(t, () => acquireLock(dir, UPKEEP_LOCK, OPTS), 'ERR_SILO_LOCKED');
  t.regex(err.message, /held by silo repack here \(pid \d+ on .*\).*silo unlock/);
  t.deepEqual(readdirSync(join(dir, 'locks')), ['upkeep.lock'], 'no temp file is left by a failed attempt');
  lock.release();
  t.false(existsSync(lock.path));
  acquireLock(dir, UPKEEP_LOCK, OPTS).release();
});

test('a lock whose holder died on this host is broken and taken; release does not remove a successor', (t) => {
  const dir = silo(t);
  const pid = deadPid();
  writeLock(dir, UPKEEP_LOCK, { host: hostname(), pid, started: new Date().toISOString() });
  t.like(listLocks(dir)[0], { name: UPKEEP_LOCK, state: 'dead' });
  const lock = acquireLock(dir, UPKEEP_LOCK, OPTS);
  t.is(JSON.parse(readFileSync(lock.path, 'utf8')).pid, process.pid);
  // A holder whose lock was broken must not remove the lock someone else then took.
  const successor = readFileSync(lock.path, 'utf8');
  const stale = new Lock(lock.path, { ...lock.owner, nonce: 'not-mine' });
  stale.release();
  t.is(readFileSync(lock.path, 'utf8'), successor);
  lock.release();
});

test('another host\'s lock is held until older than it allows itself, then expired', (t) => {
  const dir = silo(t);
  writeLock(dir, UPKEEP_LOCK, { host: 'elsewhere.example', pid: 1, started: new Date().toISOString() });
  t.like(listLocks(dir)[0], { state: 'held' });
  t.regex(listLocks(dir)[0]!.why, /cannot check its pid/);
  throwsCode(t, () => acquireUpkeepLock(dir, 'test'), 'ERR_SILO_LOCKED');
  writeLock(dir, UPKEEP_LOCK, { host: 'elsewhere.example', pid: 1, started: new Date(Date.now() - 2 * 3600_000).toISOString() });
  t.like(listLocks(dir)[0], { state: 'expired' });
  acquireUpkeepLock(dir, 'test').release();
});

test('a file that is no lock of ours counts by its age', (t) => {
  const dir = silo(t);
  const path = writeLock(dir, UPKEEP_LOCK, {});
  writeFileSync(path, 'garbage');
  t.like(inspectLock(path), { state: 'held' });
  const old = Date.now() / 1000 - 2 * 86400;
  utimesSync(path, old, old);
  t.like(inspectLock(path), { state: 'expired' });
});

test('breaking checks identity: a lock replaced since it was judged is put back', (t) => {
  const dir = silo(t);
  writeLock(dir, UPKEEP_LOCK, { host: hostname(), pid: deadPid(), started: new Date().toISOString() });
  const judged = inspectLock(lockPath(dir, UPKEEP_LOCK))!;
  t.true(breakLock(judged));
  const fresh = acquireLock(dir, UPKEEP_LOCK, OPTS);
  t.false(breakLock(judged), 'the stale lock is gone; the fresh one is not it');
  t.is(JSON.parse(readFileSync(fresh.path, 'utf8')).nonce, fresh.owner.nonce);
  fresh.release();
});

test('a waiting acquire gets the lock once a holder in another process lets go', async (t) => {
  const dir = silo(t);
  const url = pathToFileURL(join(ROOT, 'lib', 'silo', 'lock.ts')).href;
  const script = `const { acquireUpkeepLock } = await import(${JSON.stringify(url)});
    const l = acquireUpkeepLock(${JSON.stringify(dir)}, 'child');
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { l.release(); process.stdout.write('released\\n'); });`;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => {
    lines.push(...b.toString().trim().split('\n'));
    if (lines.includes('locked')) resolve();
  }));
  t.like(tryLock(dir, UPKEEP_LOCK, OPTS), { state: 'held', owner: { command: 'child', pid: child.pid } });
  // Written before this thread blocks in the acquire, which waits by sleeping, not on the event loop.
  await new Promise((resolve) => child.stdin.write('go\n', resolve));
  const lock = acquireLock(dir, UPKEEP_LOCK, { ...OPTS, waitMs: 120_000 });
  t.is(JSON.parse(readFileSync(lock.path, 'utf8')).pid, process.pid);
  lock.release();
  child.stdin.end();
  await new Promise((resolve) => child.on('close', resolve));
});

test('repack and gc --prune exclude each other through the upkeep lock; a dry-run gc needs none', async (t) => {
  const dir = silo(t);
  const held = acquireUpkeepLock(dir, 'silo gc --prune');
  t.is(((await t.throwsAsync(repack(dir))) as { code?: string }).code, 'ERR_SILO_LOCKED');
  throwsCode(t, () => gc(dir, new Set(), { prune: true }), 'ERR_SILO_LOCKED');
  t.like(gc(dir, new Set()), { pruned: false });
  held.release();
  t.like(await repack(dir), { changed: false });
  t.deepEqual(listLocks(dir), [], 'repack released its lock');
});

test('running adds are announced; the oldest start among live ones counts, dead ones do not', (t) => {
  const dir = silo(t);
  t.is(oldestAddStart(dir), undefined);
  const a = announceAdd(dir, 'medo add a');
  const b = announceAdd(dir, 'medo add b');
  t.not(a.path, b.path);
  // An add starts at the earlier of its `started` (a fine clock) and its lock file's mtime (the coarse
  // clock its files are stamped by, which may read a tick earlier).
  const startOf = (l: typeof a): number => Math.min(Date.parse(l.owner.started), statSync(l.path).mtimeMs);
  const aStart = startOf(a);
  const bStart = startOf(b);
  t.is(oldestAddStart(dir), Math.min(aStart, bStart));
  writeLock(dir, 'add-0123456789abcdef', { host: hostname(), pid: deadPid(), started: new Date(Date.now() - 3600_000).toISOString() });
  t.is(oldestAddStart(dir), Math.min(aStart, bStart), 'a dead add protects nothing');
  a.release();
  t.is(oldestAddStart(dir), bStart);
  b.release();
});
