// Load on one daemon, real FUSE: 16 concurrent readers get git's bytes, and a loop of mount, read,
// unmount leaves no file descriptors, memory or mounts behind (counted in /proc, not timed).
import test from 'ava';
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { buildMedoFixture, writeSourceTree, type MedoFixture } from '../helpers/mount-fixture.js';
import { removeMountpoint } from '../helpers/mount-process.js';
import { fdCount, medoMountsUnder, rssBytes, startDaemon, type RunningDaemon } from '../helpers/medod-process.js';

// MEDO_LOAD_LOOP: more cycles, to tell a slow leak from noise by hand (the growth should not scale with it).
const LOOP = Number(process.env.MEDO_LOAD_LOOP ?? 200);
const WARM_UP = 10;

let root: string;
let src: string;
let fx: MedoFixture;
let d: RunningDaemon;
let mnts: string[];

test.before(async () => {
  root = sharedTempDir('medod-load-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
  mnts = [join(root, 'mnt-readers'), join(root, 'mnt-loop')];
  for (const m of mnts) mkdirSync(m);
  d = await startDaemon(join(root, 'd'));
});

test.after.always(async () => {
  if (d !== undefined) await d.stop(mnts);
  for (const m of mnts ?? []) removeMountpoint(m);
  if (root !== undefined) removeDir(root);
});

test.serial('16 concurrent readers of every file get the bytes git has', async (t) => {
  const mnt = mnts[0]!;
  await d.request({ op: 'mount', source: fx.medoDir, mountpoint: mnt });
  const files = ['README.md', 'big.bin', 'medium.bin', 'text/lines.txt'];
  const want = new Map(files.map((f) => [f, readFileSync(join(src, f))]));
  const results = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
    const bad: string[] = [];
    for (let k = 0; k < files.length; k++) {
      const f = files[(i + k) % files.length]!;
      if (!(await readFile(join(mnt, 'debian', 'bullseye', 'wedge', f))).equals(want.get(f)!)) bad.push(f);
    }
    return bad;
  }));
  t.deepEqual(results.flat(), []);
  const s = await d.status();
  t.is(s.mounts[0]!.counters.errors, 0);
  await d.request({ op: 'unmount', mountpoint: mnt });
});

test.serial(`a mount/read/unmount loop of ${LOOP} leaks no fds, memory or mounts`, async (t) => {
  const mnt = mnts[1]!;
  const readme = readFileSync(join(src, 'README.md'));
  let bad = 0;
  const cycle = async (): Promise<boolean> => {
    await d.request({ op: 'mount', source: fx.treeptr, mountpoint: mnt });
    const ok = (await readFile(join(mnt, 'README.md'))).equals(readme);
    await d.request({ op: 'unmount', mountpoint: mnt });
    return ok;
  };
  // On a failure, show what the daemon was doing.
  t.teardown(() => {
    if (bad > 0 || !t.passed) t.log(d.log().split('\n').slice(-15).join('\n'));
  });
  for (let i = 0; i < WARM_UP; i++) await cycle();
  const fdsBefore = fdCount(d.pid);
  const rssBefore = rssBytes(d.pid);
  const heapBefore = (await d.status()).memory.heapUsed;
  for (let i = 0; i < LOOP; i++) if (!(await cycle())) bad++;
  const fdsAfter = fdCount(d.pid);
  const rssAfter = rssBytes(d.pid);
  const heapAfter = (await d.status()).memory.heapUsed;
  const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
  t.log(`fds ${fdsBefore} -> ${fdsAfter}; rss ${mib(rssBefore)} -> ${mib(rssAfter)} MiB, JS heap ${mib(heapBefore)} -> ${mib(heapAfter)} MiB over ${LOOP} cycles`);
  t.is(bad, 0, 'every cycle read the right bytes');
  // One descriptor may be in flight (a client connection closing, the last mount's /dev/fuse closing on
  // its own thread); a leak would show one per cycle.
  t.true(fdsAfter - fdsBefore <= 2, 'no file descriptor left behind');
  // Bounded, not exact: the JS heap grows and shrinks with garbage collection, and the binding never joins
  // a mount's thread, so each mount keeps its stack's touched pages (~50-100 KiB, docs/operations.md).
  t.true(rssAfter - rssBefore < 64 * 2 ** 20, `rss grew by ${((rssAfter - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
  t.deepEqual(medoMountsUnder(root), [], 'no mount left behind');
  t.deepEqual((await d.status()).mounts, []);
});
