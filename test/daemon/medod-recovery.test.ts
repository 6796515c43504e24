// Recovery, real FUSE: a daemon killed with SIGKILL leaves dead mountpoints ("Transport endpoint is not
// connected"); a reader blocked on it gets an error, not a hang; the next daemon cleans them and brings the
// persisted mounts back. A silo file removed or truncated under a live mount is EIO for what needs it while
// the rest keeps working, the daemon stays up, and `medo status` counts the errors.
import test from 'ava';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { BIG_SIZE, buildMedoFixture, writeSourceTree, type MedoFixture } from '../helpers/mount-fixture.js';
import { isMounted, removeMountpoint } from '../helpers/mount-process.js';
import { startDaemon } from '../helpers/medod-process.js';

let root: string;
let src: string;
let fx: MedoFixture;

test.before(() => {
  root = sharedTempDir('medod-recovery-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

const errnoOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
};

/** What the kernel is waiting on for `pid` (its wchan), '' when it is not blocked in the kernel. */
const wchan = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
};

test('kill -9: a blocked reader gets an error, the restarted daemon cleans the dead mount and brings it back', async (t) => {
  const dir = join(root, 'kill9');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt, { recursive: true });
  const d = await startDaemon(dir);
  t.teardown(async () => {
    await d.stop([mnt]);
    removeMountpoint(mnt);
  });
  await d.request({ op: 'mount', source: fx.treeptr, mountpoint: mnt });
  t.true((await readFile(join(mnt, 'README.md'))).equals(readFileSync(join(src, 'README.md'))));

  // Stop the daemon, start a reader of a file never read (so the kernel must ask the daemon), and wait
  // until the reader is blocked in the FUSE request.
  process.kill(d.pid, 'SIGSTOP');
  const reader = spawn('cat', [join(mnt, 'big.bin')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let readerErr = '';
  reader.stderr.setEncoding('utf8');
  reader.stderr.on('data', (c: string) => {
    readerErr += c;
  });
  // 'close', not 'exit': cat's error message may still be in the pipe at 'exit'.
  const readerDone = new Promise<number | null>((r) => reader.once('close', (code) => r(code)));
  for (let i = 0; i < 1000 && !/fuse|request_wait_answer/.test(wchan(reader.pid!)); i++) await new Promise((r) => setTimeout(r, 10));
  t.regex(wchan(reader.pid!), /fuse|request_wait_answer/, 'the reader waits on the FUSE request');
  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  t.not(await readerDone, 0, 'the blocked reader fails rather than hangs');
  t.regex(readerErr, /Transport endpoint is not connected|Software caused connection abort|Input\/output error/);
  t.is(await errnoOf(statfs(mnt)), 'ENOTCONN', 'the mountpoint is dead');

  const again = await startDaemon(dir);
  t.teardown(() => again.stop([mnt]));
  t.true(again.logLines().some((l) => l.msg === 'cleaned a dead mount (transport endpoint not connected)' && l.mountpoint === mnt));
  const s = await again.status();
  t.deepEqual(s.mounts.map((m) => m.mountpoint), [mnt]);
  t.true(isMounted(mnt));
  t.true((await readFile(join(mnt, 'big.bin'))).equals(readFileSync(join(src, 'big.bin'))));
  t.is((await again.stop()).code, 0);
  t.false(isMounted(mnt));
});

test('a silo pack removed or truncated under a live mount: EIO for what needs it, the rest works, errors counted', async (t) => {
  // A private copy of the silo and medo directory: this test damages them.
  const dir = join(root, 'damage');
  mkdirSync(dir, { recursive: true });
  cpSync(fx.siloDir, join(dir, 'silo'), { recursive: true });
  cpSync(fx.medoDir, join(dir, 'x.medo'), { recursive: true });
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const d = await startDaemon(dir);
  t.teardown(async () => {
    await d.stop([mnt]);
    removeMountpoint(mnt);
    rmSync(dir, { recursive: true, force: true });
  });
  await d.request({ op: 'mount', source: join(dir, 'x.medo'), mountpoint: mnt });
  const wedge = join(mnt, 'debian', 'bullseye', 'wedge');
  // Read a little now (it stays in the kernel's page cache), and list the tree (trees stay cached).
  const readme = await readFile(join(wedge, 'README.md'));
  t.true(readme.equals(readFileSync(join(src, 'README.md'))));

  const packDir = join(dir, 'silo', 'pack');
  const pack = readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
  truncateSync(join(packDir, pack), 4096);
  t.is(await errnoOf(readFile(join(wedge, 'big.bin'))), 'EIO', 'a file whose data is past the truncation');
  t.true((await readFile(join(wedge, 'README.md'))).equals(readme), 'what the kernel already holds still reads');

  rmSync(join(packDir, pack));
  rmSync(join(packDir, pack.replace(/\.pack$/, '.idx')));
  t.is(await errnoOf(readFile(join(mnt, 'tools', 'big.bin'))), 'EIO', 'a file whose pack is gone');
  t.true((await stat(wedge)).isDirectory(), 'the mount still answers');

  const s = await d.status();
  t.is(s.pid, d.pid, 'the daemon is still up');
  t.true(s.mounts[0]!.counters.errors >= 2, `errors counted: ${s.mounts[0]!.counters.errors}`);
  t.true(d.logLines().some((l) => l.level === 50 && typeof l.oid === 'string'), 'the error is logged with the object id');
  t.true(BIG_SIZE > 4096);
});
