// `silo unlock` and the upkeep lock as users meet them: the compiled CLI (after `npx tsc -p .`) in child
// processes, with lock holders that are real processes (alive, or exited).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireUpkeepLock, lockPath } from '../../lib/silo/lock.js';
import { Silo } from '../../lib/silo/silo.js';
import { assertBuilt, runCli } from '../helpers/cli-process.js';
import { tempDir } from '../helpers/git-fixture.js';

test.before(() => assertBuilt('cli/silo/unlock.js', 'cli/silo/repack.js', 'cli/silo/gc.js'));

function silo(t: Parameters<typeof tempDir>[0]): string {
  const dir = join(tempDir(t, 'medo-unlock-'), 's.silo');
  Silo.init(dir).close();
  return dir;
}

function plantLock(dir: string, name: string, pid: number, host = hostname()): string {
  mkdirSync(join(dir, 'locks'), { recursive: true });
  const path = lockPath(dir, name);
  writeFileSync(path, JSON.stringify({ name, host, pid, command: `silo repack ${dir}`, started: new Date().toISOString(), maxAgeSeconds: 43200, nonce: `n${pid}` }));
  return path;
}

test('silo unlock --help, and no locks', async (t) => {
  const help = await runCli('silo', ['unlock', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /usage: silo unlock \[--force\]/);
  t.regex((await runCli('silo', ['--help'])).stdout, /\n {2}unlock +show the silo's locks/);
  const dir = silo(t);
  const none = await runCli('silo', ['unlock', dir]);
  t.is(none.code, 0, none.stderr);
  t.is(none.stdout, `${dir}: no locks\n`);
  const notSilo = await runCli('silo', ['unlock', join(dir, 'objects')]);
  t.is(notSilo.code, 3);
  t.regex(notSilo.stderr, /is not a silo/);
});

test('a dead holder\'s lock is broken; a live one is left (exit 1) until --force', async (t) => {
  const dir = silo(t);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const deadLock = plantLock(dir, 'upkeep', dead);
  const liveLock = plantLock(dir, 'add-00000000000000aa', process.pid);
  const dry = await runCli('silo', ['unlock', '--dry-run', '--json', dir]);
  t.is(dry.code, 1, dry.stderr);
  const shown = JSON.parse(dry.stdout) as { locks: { name: string; state: string; action: string; owner: { pid: number } }[] };
  t.deepEqual(shown.locks.map((l) => [l.name, l.state, l.action, l.owner.pid]),
    [['add-00000000000000aa', 'held', 'left', process.pid], ['upkeep', 'dead', 'left', dead]]);
  t.true(existsSync(deadLock));

  const r = await runCli('silo', ['unlock', dir]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, new RegExp(`upkeep: dead: silo repack .*pid ${dead} on .*is not running on this host.* -> broken`));
  t.regex(r.stdout, /add-00000000000000aa: held: .* -> left \(--force breaks it\)/);
  t.false(existsSync(deadLock));
  t.true(existsSync(liveLock));

  const forced = await runCli('silo', ['unlock', '--force', dir]);
  t.is(forced.code, 0, forced.stderr);
  t.regex(forced.stdout, /add-00000000000000aa: held: .* -> broken/);
  t.false(existsSync(liveLock));
  t.is((await runCli('silo', ['unlock', '--force', '--dry-run', dir])).code, 2);
});

test('repack and gc --prune fail at once (exit 3, naming the holder) while another process holds the upkeep lock', async (t) => {
  const dir = silo(t);
  plantLock(dir, 'upkeep', process.pid); // this test process is alive: the lock is held
  const repack = await runCli('silo', ['repack', dir]);
  t.is(repack.code, 3);
  t.regex(repack.stderr, new RegExp(`upkeep\\.lock is held by silo repack .*\\(pid ${process.pid} on ${hostname()}, since .*silo unlock`));
  const gc = await runCli('silo', ['gc', '--prune', dir, '--keep', '-'], '');
  t.is(gc.code, 3);
  t.regex(gc.stderr, /upkeep\.lock is held by/);
  const badWait = await runCli('silo', ['repack', '--lock-wait', 'soon', dir]);
  t.is(badWait.code, 2);
  t.regex(badWait.stderr, /--lock-wait: "soon" is not a duration/);
  const badExpire = await runCli('silo', ['gc', '--prune-expire', '5 fortnights', dir, '--keep', '-'], '');
  t.is(badExpire.code, 2);
  t.regex(badExpire.stderr, /--prune-expire: "5 fortnights" is not a duration/);
});

test('with --lock-wait, repack waits for the holder and then runs', async (t) => {
  const dir = silo(t);
  const held = acquireUpkeepLock(dir, 'a test holding the lock');
  const waiting = runCli('silo', ['repack', '--lock-wait', '10m', dir]);
  // The lock is held while a whole other CLI process starts and reports it, time in which the repack
  // (started first) reaches the lock: without --lock-wait it would exit 3 there (the test above).
  const probe = await runCli('silo', ['unlock', '--dry-run', dir]);
  t.regex(probe.stdout, /upkeep: held: a test holding the lock/);
  held.release();
  const r = await waiting;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /nothing to repack/);
});
