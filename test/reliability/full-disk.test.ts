// A full disk under every writer (issue 15, part 3): a small ext4 on a loop device, filled to a few
// hundred KiB, holds the silo (add, repack, gc), the destination (expand, send) or the cache (a remote
// expand). Each gets a clear error and exit 3, leaves nothing half-written that looks complete (no temp
// file either), the silo still
// verifies, and the same command completes once the space is back. (A mount whose cache is full serves
// what it fetched from memory: lib/remote/remote-store.ts, unlessCacheFails.)
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { random, randomBytes } from '../helpers/history.js';
import { REPO_ROOT, startMount } from '../helpers/mount-process.js';
import { startNginx, type Nginx } from '../helpers/silo-servers.js';
import { makeSmallDisk, smallDiskUnavailable, type SmallDisk } from '../helpers/small-disk.js';

const why = smallDiskUnavailable();
let root: string;
let disk: SmallDisk;
let src: string;

function cli(program: 'medo' | 'silo', args: string[], input?: string): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', `${program}.js`), ...args], { encoding: 'utf8', input, env: { ...process.env, CI: '1' } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function ok(program: 'medo' | 'silo', args: string[], input?: string): string {
  const r = cli(program, args, input);
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')}: exit ${r.status}\n${r.err}`);
  return r.out;
}

/** Files below `dir` whose names say a writer did not finish (temp files, a pack without its index). */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.filler' || e.name === 'lost+found') continue;
      const p = join(d, e.name);
      if (e.name.startsWith('.tmp-') || e.name.startsWith('.medo-')) out.push(p.slice(dir.length + 1));
      if (e.name.endsWith('.pack') && !existsSync(p.replace(/\.pack$/, '.idx'))) out.push(p.slice(dir.length + 1));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** A medo directory beside `silo` (its SILO.json naming it), holding nothing yet. */
function medoDirFor(name: string, silo: string): string {
  const m = join(root, name);
  mkdirSync(m, { recursive: true });
  writeFileSync(join(m, 'SILO.json'), `${JSON.stringify({ silos: [silo] })}\n`);
  return m;
}

/** The failure every writer must give on a full disk. */
function assertNoSpace(t: import('ava').ExecutionContext, r: { status: number | null; err: string }, what: string): void {
  t.is(r.status, 3, `${what}: ${r.err}`);
  t.regex(r.err, /no space left on (the )?device/i, what);
  t.notRegex(r.err, /\n\s+at /, `${what}: a message, not a stack trace`);
}

if (why !== undefined) {
  test('full disk (skipped)', (t) => {
    t.log(`skipped: ${why}`);
    t.pass();
  });
} else {
  test.before(() => {
    root = sharedTempDir('medo-full-disk-');
    disk = makeSmallDisk(root, 24);
    src = join(root, 'src');
    mkdirSync(join(src, 'lib'), { recursive: true });
    const r = random(0xd15c);
    // Incompressible, so the pack is as big as the files: 6 MiB in all.
    for (let i = 0; i < 6; i++) writeFileSync(join(src, 'lib', `part-${i}.bin`), randomBytes(r, 1024 * 1024));
    for (let i = 0; i < 50; i++) writeFileSync(join(src, `small-${i}.txt`), `small file ${i}\n`);
  });

  test.after.always(() => {
    disk?.unmount();
    if (root !== undefined) removeDir(root);
  });

  test.serial('add, repack and gc into a silo on a full disk', (t) => {
    const silo = join(disk.dir, 'a.silo');
    ok('silo', ['init', silo]);
    const m = medoDirFor('add.medo', silo);
    disk.fill(512);
    assertNoSpace(t, cli('medo', ['add', src, join(m, 'v1.treeptr')]), 'add');
    t.false(existsSync(join(m, 'v1.treeptr')), 'no .treeptr for an add that failed');
    t.deepEqual(leftovers(disk.dir), [], 'add left nothing behind');
    ok('silo', ['verify', silo]);
    disk.unfill();
    ok('medo', ['add', src, join(m, 'v1.treeptr')]);
    writeFileSync(join(src, 'small-0.txt'), 'changed in version 2\n');
    writeFileSync(join(src, 'lib', 'part-5.bin'), randomBytes(random(2), 1024 * 1024));
    ok('medo', ['add', src, join(m, 'v2.treeptr')]);

    // repack folds the two packs into one as big as both: there is no room for it.
    disk.fill(512);
    assertNoSpace(t, cli('silo', ['repack', silo]), 'repack');
    t.deepEqual(leftovers(disk.dir), [], 'repack left nothing behind');
    ok('silo', ['verify', silo]);
    disk.unfill();
    ok('silo', ['repack', silo]);

    // A prune keeping v2 rewrites the one pack without v1's own objects.
    const keep = ok('medo', ['reachable', join(m, 'v2.treeptr')]);
    disk.fill(512);
    assertNoSpace(t, cli('silo', ['gc', '--prune', '--prune-expire', 'now', silo, '--keep', '-'], keep), 'gc --prune');
    t.deepEqual(leftovers(disk.dir), [], 'gc left nothing behind');
    ok('silo', ['verify', silo]);
    // Nothing was lost: v1, which the failed prune meant to drop, is whole still.
    ok('medo', ['expand', join(m, 'v1.treeptr'), join(root, 'v1-out')]);
    ok('medo', ['verify', join(m, 'v1.treeptr'), join(root, 'v1-out')]);
    disk.unfill();
    t.regex(ok('silo', ['gc', '--prune', '--prune-expire', 'now', silo, '--keep', '-'], keep), /pruned: [1-9]\d* objects removed/);
    ok('silo', ['verify', silo]);
    const out = join(root, 'v2-out');
    ok('medo', ['expand', join(m, 'v2.treeptr'), out]);
    ok('medo', ['verify', join(m, 'v2.treeptr'), out]);
    removeDir(silo);
  });

  test.serial('expand and send onto a full disk', (t) => {
    const silo = join(root, 'b.silo');
    ok('silo', ['init', silo]);
    const m = medoDirFor('b.medo', silo);
    const ptr = join(m, 'w.treeptr');
    ok('medo', ['add', src, ptr]);
    const dest = join(disk.dir, 'dest');
    disk.fill(2048);
    assertNoSpace(t, cli('medo', ['expand', ptr, dest]), 'expand');
    // What did land is whole: verify finds files missing, never one with the wrong bytes.
    const v = cli('medo', ['verify', '--json', ptr, dest]);
    const kinds = new Set((JSON.parse(v.out) as { differences: { kind: string }[] }).differences.map((d) => d.kind));
    t.true([...kinds].every((k) => k === 'missing'), [...kinds].join(', '));
    t.deepEqual(leftovers(disk.dir), [], 'expand left nothing behind');
    disk.unfill();
    ok('medo', ['expand', ptr, dest]);
    ok('medo', ['verify', ptr, dest]);
    removeDir(dest);

    const target = join(disk.dir, 'sent.silo');
    disk.fill(2048);
    assertNoSpace(t, cli('silo', ['send', silo, target, ptr]), 'send');
    t.deepEqual(leftovers(disk.dir), [], 'send left nothing behind');
    if (existsSync(target)) ok('silo', ['verify', target]);
    disk.unfill();
    ok('silo', ['send', silo, target, ptr]);
    ok('silo', ['verify', target]);
    removeDir(target);
  });

  test.serial('a remote expand whose cache is on a full disk fails clearly, tears nothing, and completes later', async (t) => {
    const silo = join(root, 'c.silo');
    ok('silo', ['init', silo]);
    const local = medoDirFor('c-local.medo', silo);
    ok('medo', ['add', src, join(local, 'w.treeptr')]);
    let nginx: Nginx | undefined;
    try {
      nginx = await startNginx(silo, join(root, 'nginx'));
      const remote = medoDirFor('c-remote.medo', nginx.url);
      cpSync(join(local, 'w.treeptr'), join(remote, 'w.treeptr'));
      const cache = join(disk.dir, 'cache');
      mkdirSync(cache);
      disk.fill(256);
      const out = join(root, 'c-out');
      const r = cli('medo', ['expand', '--cache-dir', cache, join(remote, 'w.treeptr'), out]);
      assertNoSpace(t, r, 'expand with its cache on a full disk');
      t.true(r.err.includes(`writing the cache ${cache}`), r.err);
      t.deepEqual(leftovers(disk.dir), [], 'no torn cache file');
      ok('silo', ['verify', cache]);
      disk.unfill();
      const r2 = cli('medo', ['expand', '--cache-dir', cache, join(remote, 'w.treeptr'), out]);
      t.is(r2.status, 0, r2.err);
      ok('medo', ['verify', join(local, 'w.treeptr'), out]);
      ok('silo', ['verify', cache]);

      // A mount with its cache on the full disk serves what it fetches without keeping it, and says so once.
      const mountCache = join(disk.dir, 'mount-cache');
      mkdirSync(mountCache);
      disk.fill(256);
      const m = await startMount(remote, join(root, 'mnt'), ['--cache-dir', mountCache]);
      try {
        for (const name of ['lib/part-0.bin', 'lib/part-3.bin', 'small-7.txt']) {
          const got = await readFile(join(m.mnt, 'w', name)).catch((e: Error) => e);
          if (got instanceof Error) t.log(m.log().slice(-3000));
          t.true(Buffer.isBuffer(got) && got.equals(readFileSync(join(out, name))), name);
        }
        t.is(m.log().match(/cannot write the cache/g)?.length, 1, m.log().slice(-2000));
      } finally {
        await m.stop();
      }
      t.deepEqual(leftovers(disk.dir), [], 'no torn cache file');
      disk.unfill();
    } finally {
      await nginx?.stop();
    }
  });
}
