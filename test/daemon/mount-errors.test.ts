// What goes wrong, and how it shows: a corrupt pack entry or a missing object is EIO for the one file that
// needs it (logged with the object id and the silo) while everything else keeps working; bad sources and
// mountpoints fail before mounting with a message; `medo mount` without --foreground and without a daemon
// says so (the daemon's own tests are medod*.test.ts).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PackFile } from '../../lib/git/pack-file.js';
import { MODE_FILE, serializeTree } from '../../lib/git/tree.js';
import { writeTreeptr } from '../../lib/medo/treeptr.js';
import { Silo } from '../../lib/silo/silo.js';
import { git, removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { buildMedoFixture, writeSourceTree, type MedoFixture } from '../helpers/mount-fixture.js';
import { REPO_ROOT, isMounted, medoArgs, removeMountpoint, startMount } from '../helpers/mount-process.js';

let root: string;
let src: string;
let fx: MedoFixture;
let counter = 0;

const medo = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  // Never the system's socket: a daemon there must not be asked anything by a test.
  const r = spawnSync(process.execPath, medoArgs(args), { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, MEDO_SOCKET: join(root, 'no-daemon.sock') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

const blobOf = (path: string): string => git(fx.repo, ['rev-parse', `${fx.tree}:${path}`]).toString().trim();

/** Overwrites bytes in the middle of an object's zlib data, leaving its entry header intact. */
function corruptEntry(oid: string): void {
  const pack = PackFile.open(fx.packPath);
  const offset = pack.find(Buffer.from(oid, 'hex'))!;
  const h = pack.entryHeader(offset);
  pack.close();
  const fd = openSync(fx.packPath, 'r+');
  writeSync(fd, Buffer.alloc(16, 0x5a), 0, 16, offset + h.headerLength + 40);
  closeSync(fd);
}

test.before(() => {
  root = sharedTempDir('medo-mount-err-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
  corruptEntry(blobOf('text/lines.txt')); // inflated inline
  corruptEntry(blobOf('medium.bin')); // inflated off the main thread
  // A tree naming a blob no silo holds, and a .treeptr naming a tree no silo holds.
  const silo = Silo.open(fx.siloDir);
  const ghostTree = silo.writeLoose('tree', serializeTree([
    { mode: MODE_FILE, name: 'ghost.txt', oid: '1234567890123456789012345678901234567890' },
    { mode: MODE_FILE, name: 'ok.txt', oid: blobOf('README.md') },
  ])).oid;
  silo.close();
  writeTreeptr(join(fx.medoDir, 'ghosts.treeptr'), { tree: ghostTree, size: 0, files: 2 });
  writeTreeptr(join(fx.medoDir, 'missing.treeptr'), { tree: 'abcdef0123456789abcdef0123456789abcdef01', size: 0, files: 0 });
  writeFileSync(join(fx.medoDir, 'broken.treeptr'), '{"format": "medo-treeptr"');
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

const mountpoint = (): string => {
  const mnt = join(root, `mnt-${counter++}`);
  mkdirSync(mnt);
  return mnt;
};

test('a corrupt or missing object is EIO for its file only, logged with its id and silo', async (t) => {
  const mnt = mountpoint();
  t.teardown(() => removeMountpoint(mnt));
  const m = await startMount(fx.medoDir, mnt);
  t.teardown(() => m.stop());
  const wedge = join(mnt, 'debian', 'bullseye', 'wedge');
  await t.throwsAsync(readFile(join(wedge, 'text/lines.txt')), { code: 'EIO' });
  await t.throwsAsync(readFile(join(wedge, 'medium.bin')), { code: 'EIO' });
  await t.throwsAsync(lstat(join(mnt, 'ghosts', 'ghost.txt')), { code: 'EIO' });
  await t.throwsAsync(readdir(join(mnt, 'missing')), { code: 'EIO' });
  // Everything else still reads, before and after the failures.
  t.true((await readFile(join(wedge, 'README.md'))).equals(readFileSync(join(src, 'README.md'))));
  t.true((await readFile(join(wedge, 'big.bin'))).equals(readFileSync(join(src, 'big.bin'))));
  t.true((await readFile(join(mnt, 'ghosts', 'ok.txt'))).equals(readFileSync(join(src, 'README.md'))));
  t.deepEqual((await readdir(mnt)).sort(), ['debian', 'ghosts', 'missing', 'tools'], 'the unparsable .treeptr is skipped');
  const lines = m.log().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const errors = lines.filter((l) => l.level === 50);
  for (const oid of [blobOf('text/lines.txt'), blobOf('medium.bin'), '1234567890123456789012345678901234567890',
    'abcdef0123456789abcdef0123456789abcdef01']) {
    const e = errors.find((l) => l.oid === oid);
    t.truthy(e, `an error line names ${oid}`);
    t.is(e?.silo, fx.medoDir, 'and the store it was read from');
  }
  t.true(errors.some((l) => typeof l.file === 'string' && (l.file as string).startsWith(join(fx.siloDir, 'pack'))), 'the pack file is named');
  t.true(lines.some((l) => l.level === 40 && /broken\.treeptr: skipped/.test(String(l.msg))), 'the skipped .treeptr is a warning');
  t.is(await m.stop(), 0);
});

test('bad sources and mountpoints fail before mounting, with a message', (t) => {
  const mnt = mountpoint();
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  const full = join(root, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'x'), 'x');
  const cases: [string[], number, RegExp][] = [
    [['mount', '--foreground', join(root, 'nope'), mnt], 3, /nope: no such file or directory/],
    [['mount', '--foreground', src, mnt], 3, /neither a medo directory .* nor a git repository/],
    [['mount', '--foreground', fx.medoDir, file], 3, /is not a directory/],
    [['mount', '--foreground', fx.medoDir, join(root, 'no-such-dir')], 3, /does not exist/],
    [['mount', '--foreground', fx.medoDir, full], 3, /is not empty/],
    [['mount', '--foreground', fx.medoDir, mnt, '--rev', 'main'], 2, /--rev applies to a git repository/],
    [['mount', '--foreground', fx.repo, mnt, '--rev', 'no-such-branch'], 2, /unknown revision "no-such-branch"/],
    [['mount', fx.medoDir, mnt, '-o', 'rw'], 2, /read-only/],
    [['mount', fx.medoDir, mnt, '-o', 'bogus'], 2, /-o bogus: unknown mount option/],
    [['mount', fx.medoDir], 2, /takes SOURCE MOUNTPOINT/],
    [['unmount', root], 3, /is not a medo mount/],
  ];
  for (const [args, status, message] of cases) {
    const r = medo(args);
    t.is(r.status, status, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
  }
  t.false(isMounted(mnt));
});

test('without a daemon, `medo mount` says so, with the way out, and exits 3', (t) => {
  const mnt = mountpoint();
  const r = medo(['mount', fx.treeptr, mnt]);
  t.is(r.status, 3);
  t.regex(r.stderr, /no medo daemon answers on .*no-daemon\.sock \(no such socket\); start it with 'medod'.*--foreground/);
  t.false(isMounted(mnt));
  const s = medo(['status']);
  t.is(s.status, 3);
  t.regex(s.stderr, /no medo daemon answers/);
});
