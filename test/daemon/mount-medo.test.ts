// A medo directory and a single .treeptr mounted for real through FUSE (served by a child process): what
// readers see must be git's tree byte for byte, with the source directory's modes and mtimes from the
// sidecar; writes fail with EROFS; concurrent readers get the right bytes; unmount leaves nothing.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import {
  appendFile, chmod, chown, link, lstat, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, statfs, symlink, truncate, unlink, utimes, writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import {
  BIG_SIZE, buildMedoFixture, expectedTree, listAll, readMountedTree, writeSourceTree, type MedoFixture,
} from '../helpers/mount-fixture.js';
import { isMounted, removeMountpoint, startMount, type RunningMount } from '../helpers/mount-process.js';
import { READ_AHEAD_KB, chooseBackend } from '../../daemon/mount.js';

/** The FUSE backend the mounts below get (MEDO_FUSE_BACKEND, else the low-level one when it is built). */
const { backend } = chooseBackend();

let root: string;
let src: string;
let fx: MedoFixture;
let medoMount: RunningMount;
let ptrMount: RunningMount;
let wedge: string;

test.before(async () => {
  root = sharedTempDir('medo-mount-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
  medoMount = await startMount(fx.medoDir, join(root, 'mnt-medo'));
  ptrMount = await startMount(fx.treeptr, join(root, 'mnt-ptr'));
  wedge = join(medoMount.mnt, 'debian', 'bullseye', 'wedge');
});

test.after.always(async () => {
  for (const m of [medoMount, ptrMount]) if (m !== undefined) await m.stop();
  for (const d of ['mnt-medo', 'mnt-ptr']) if (root !== undefined) removeMountpoint(join(root, d));
  if (root !== undefined) removeDir(root);
});

const S_IFMT = BigInt(constants.S_IFMT);
const typeOf = (mode: bigint): string =>
  ({ [constants.S_IFDIR]: 'dir', [constants.S_IFREG]: 'file', [constants.S_IFLNK]: 'symlink' })[Number(mode & S_IFMT)] ?? 'other';

test('a medo directory shows each .treeptr at its path without the extension, nested folders kept', async (t) => {
  t.deepEqual((await readdir(medoMount.mnt)).sort(), ['debian', 'tools']);
  t.deepEqual(await readdir(join(medoMount.mnt, 'debian')), ['bullseye']);
  t.deepEqual(await readdir(join(medoMount.mnt, 'debian', 'bullseye')), ['wedge']);
  t.true((await stat(wedge)).isDirectory());
  // A blob .treeptr is its file.
  const big = join(medoMount.mnt, 'tools', 'big.bin');
  const st = await lstat(big);
  t.true(st.isFile());
  t.is(st.size, BIG_SIZE);
  t.true((await readFile(big)).equals(await readFile(join(src, 'big.bin'))));
});

for (const [title, at] of [['medo directory', () => wedge], ['single .treeptr', () => ptrMount.mnt]] as const) {
  test(`${title}: every path, type, size, content and symlink target is git's`, async (t) => {
    const expected = expectedTree(fx.repo, fx.tree);
    const seen = await readMountedTree(at());
    const emptyDirs = listAll(src).filter((p) => p === 'empty' || p.startsWith('nested-empty'));
    t.deepEqual(seen.map((e) => e.path).sort(), [...expected.map((e) => e.path), ...emptyDirs].sort());
    const byPath = new Map(seen.map((e) => [e.path, e]));
    const problems: string[] = [];
    for (const e of expected) {
      const s = byPath.get(e.path)!;
      if (typeOf(s.stat.mode) !== e.type) problems.push(`${e.path}: ${typeOf(s.stat.mode)}, git says ${e.type}`);
      if (e.type === 'dir') continue;
      if (s.stat.size !== BigInt(e.size)) problems.push(`${e.path}: size ${s.stat.size}, git says ${e.size}`);
      if (e.type === 'symlink' && s.target !== e.content!.toString('utf8')) problems.push(`${e.path}: target ${s.target}`);
      if (e.type === 'file' && !s.content!.equals(e.content!)) problems.push(`${e.path}: content differs`);
    }
    t.deepEqual(problems, []);
  });

  test(`${title}: modes and mtimes are the source directory's (sidecar), to the ${backend === 'lowlevel' ? 'nanosecond' : 'millisecond'}`, async (t) => {
    const problems: string[] = [];
    for (const p of listAll(src)) {
      const orig = await lstat(p === '' ? src : join(src, p), { bigint: true });
      const got = await lstat(p === '' ? at() : join(at(), p), { bigint: true });
      if (got.mode !== orig.mode) problems.push(`${p}: mode ${got.mode.toString(8)}, source has ${orig.mode.toString(8)}`);
      // The low-level backend passes nanoseconds; the libfuse 2 binding, milliseconds.
      const want = backend === 'lowlevel' ? orig.mtimeNs : (orig.mtimeNs / 1_000_000n) * 1_000_000n;
      if (got.mtimeNs !== want) problems.push(`${p}: mtime ${got.mtimeNs}, source has ${orig.mtimeNs}`);
    }
    t.deepEqual(problems, []);
  });
}

test('the low-level backend, as root, reads ahead 4 MiB (the kernel default is 128 KiB)', async (t) => {
  if (backend !== 'lowlevel' || process.getuid?.() !== 0) return t.pass('only the low-level backend run by root sets it');
  const device = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')).find((f) => f[4] === medoMount.mnt)?.[2];
  t.truthy(device);
  t.is((await readFile(`/sys/class/bdi/${device}/read_ahead_kb`, 'utf8')).trim(), String(READ_AHEAD_KB));
});

test('nlink, st_blocks and inode numbers: dirs 2 + subdirs, ceil(size/512), stable and unique', async (t) => {
  const seen = await readMountedTree(wedge);
  const inos = new Map<bigint, string>();
  const problems: string[] = [];
  for (const e of seen) {
    const again = await lstat(join(wedge, e.path), { bigint: true });
    if (again.ino !== e.stat.ino) problems.push(`${e.path}: ino changed ${e.stat.ino} -> ${again.ino}`);
    if (inos.has(e.stat.ino)) problems.push(`${e.path}: shares ino ${e.stat.ino} with ${inos.get(e.stat.ino)}`);
    inos.set(e.stat.ino, e.path);
    if (e.stat.isDirectory()) {
      const subdirs = seen.filter((x) => x.stat.isDirectory() && x.path.startsWith(`${e.path}/`) && !x.path.slice(e.path.length + 1).includes('/')).length;
      if (e.stat.nlink !== BigInt(2 + subdirs)) problems.push(`${e.path}: nlink ${e.stat.nlink}, expected ${2 + subdirs}`);
    } else {
      if (e.stat.nlink !== 1n) problems.push(`${e.path}: nlink ${e.stat.nlink}`);
      if (e.stat.blocks !== (e.stat.size + 511n) / 512n) problems.push(`${e.path}: blocks ${e.stat.blocks} for ${e.stat.size} bytes`);
    }
  }
  t.deepEqual(problems, []);
  t.is((await lstat(medoMount.mnt)).ino, 1);
  // Identical content, two names: two inodes (tar must not see a hard link).
  t.not((await lstat(join(wedge, 'same/one.txt'))).ino, (await lstat(join(wedge, 'same/two.txt'))).ino);
});

test('statfs: size and file count of the trees, nothing free', async (t) => {
  const expected = expectedTree(fx.repo, fx.tree).filter((e) => e.type !== 'dir');
  const bytes = expected.reduce((n, e) => n + e.size, 0) + BIG_SIZE; // the wedge, plus the blob .treeptr
  const s = await statfs(medoMount.mnt);
  t.is(s.files, expected.length + 1);
  t.is(s.blocks, Math.ceil(bytes / s.bsize));
  t.is(s.bfree, 0);
  t.is(s.bavail, 0);
  const df = execFileSync('df', ['--output=fstype,source', medoMount.mnt], { encoding: 'utf8' });
  t.regex(df, /medo/);
});

test('user.medo.oid is the blob or tree id of every entry', async (t) => {
  const getfattr = (p: string): string =>
    execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'user.medo.oid', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const expected = expectedTree(fx.repo, fx.tree);
  for (const e of expected.filter((x) => x.type !== 'symlink')) t.is(getfattr(join(wedge, e.path)), e.oid, e.path);
  t.is(getfattr(wedge), fx.tree);
  t.is(getfattr(join(medoMount.mnt, 'tools', 'big.bin')), fx.blob);
  t.is(getfattr(join(wedge, 'empty')), '4b825dc642cb6eb9a060e54bf8d69288fbee4904', 'an empty directory has the empty tree id');
  t.regex(execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', join(wedge, 'README.md')], { encoding: 'utf8' }), /user\.medo\.oid="[0-9a-f]{40}"/);
  // A folder that only exists in the mount's layout has none; neither has any other name.
  const missing = spawnSync('getfattr', ['-n', 'user.medo.oid', join(medoMount.mnt, 'debian')], { encoding: 'utf8' });
  t.not(missing.status, 0);
  t.regex(missing.stderr, /No such attribute/);
  t.regex(spawnSync('getfattr', ['-n', 'user.other', join(wedge, 'README.md')], { encoding: 'utf8' }).stderr, /No such attribute/);
});

test('every write, create, chmod, rename, unlink or setxattr fails with EROFS', async (t) => {
  const f = join(wedge, 'README.md');
  const d = join(wedge, 'text');
  const attempts: [string, () => Promise<unknown>][] = [
    ['create', () => writeFile(join(wedge, 'new.txt'), 'x')],
    ['open for writing', () => open(f, 'r+')],
    ['append', () => appendFile(f, 'x')],
    ['truncate', () => truncate(f, 0)],
    ['chmod', () => chmod(f, 0o600)],
    ['chown', () => chown(f, 1, 1)],
    ['utimes', () => utimes(f, 0, 0)],
    ['rename', () => rename(f, join(wedge, 'renamed'))],
    ['unlink', () => unlink(f)],
    ['rmdir', () => rmdir(join(wedge, 'empty'))],
    ['rm -r', () => rm(d, { recursive: true })],
    ['mkdir', () => mkdir(join(wedge, 'newdir'))],
    ['symlink', () => symlink('README.md', join(wedge, 'newlink'))],
    ['link', () => link(f, join(wedge, 'hardlink'))],
  ];
  for (const [what, attempt] of attempts) await t.throwsAsync(attempt, { code: 'EROFS' }, what);
  const setfattr = spawnSync('setfattr', ['-n', 'user.x', '-v', '1', f], { encoding: 'utf8' });
  t.not(setfattr.status, 0);
  t.regex(setfattr.stderr, /Read-only file system/);
  const removexattr = spawnSync('setfattr', ['-x', 'user.medo.oid', f], { encoding: 'utf8' });
  t.regex(removexattr.stderr, /Read-only file system/);
  t.true((await readFile(f)).equals(await readFile(join(src, 'README.md'))), 'content unchanged');
});

test('8 concurrent readers, whole files and random offsets, get the right bytes', async (t) => {
  const names = ['big.bin', 'medium.bin', 'text/lines.txt', 'many/f150.txt'];
  const originals = new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(src, n))] as const)));
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const reader = async (i: number): Promise<string[]> => {
    const problems: string[] = [];
    for (let round = 0; round < 3; round++) {
      const name = names[(i + round) % names.length]!;
      const orig = originals.get(name)!;
      if (i % 2 === 0) {
        const got = await readFile(join(wedge, name));
        if (!got.equals(orig)) problems.push(`reader ${i}: whole ${name} differs`);
        continue;
      }
      const fh = await open(join(wedge, name), 'r');
      try {
        for (let k = 0; k < 40; k++) {
          const pos = Math.floor(rnd() * orig.length);
          const len = 1 + Math.floor(rnd() * 200_000);
          const buf = Buffer.alloc(len);
          const { bytesRead } = await fh.read(buf, 0, len, pos);
          const want = orig.subarray(pos, pos + len);
          if (bytesRead !== want.length || !buf.subarray(0, bytesRead).equals(want)) problems.push(`reader ${i}: ${name} at ${pos}+${len} differs`);
        }
      } finally {
        await fh.close();
      }
    }
    return problems;
  };
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => reader(i)));
  t.deepEqual(results.flat(), []);
});

test('reading a directory, or listing a file, gives EISDIR / ENOTDIR', async (t) => {
  await t.throwsAsync(readFile(join(wedge, 'text')), { code: 'EISDIR' });
  await t.throwsAsync(readdir(join(wedge, 'README.md')), { code: 'ENOTDIR' });
  await t.throwsAsync(lstat(join(wedge, 'no-such-file')), { code: 'ENOENT' });
  await t.throwsAsync(lstat(join(medoMount.mnt, 'debian', 'nope', 'x')), { code: 'ENOENT' });
});

test('SIGTERM unmounts cleanly: exit 0, nothing in the mount table, an empty mountpoint left', async (t) => {
  const mnt = join(root, 'mnt-once');
  const m = await startMount(fx.treeptr, mnt);
  t.true(isMounted(mnt));
  t.true((await readFile(join(mnt, 'README.md'))).length > 0);
  t.is(await m.stop(), 0);
  t.false(isMounted(mnt));
  t.false(/fuse\.medo/.test(execFileSync('cat', ['/proc/mounts'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(mnt)).join('\n')));
  t.deepEqual(await readdir(mnt), []);
  t.regex(m.log(), /"msg":"mounted"/);
  t.regex(m.log(), new RegExp(`"backend":"${backend}"`), 'the backend asked for served the mount');
  t.regex(m.log(), /"reason":"SIGTERM","msg":"unmounted"/);
  await rmdir(mnt);
});
