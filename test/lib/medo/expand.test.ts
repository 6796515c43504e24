// expand: the source directory is the oracle for content, modes, mtimes, symlinks and empty directories,
// and `git write-tree` over the expanded directory must give back the .treeptr's tree.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMedoError } from '../../../lib/errors.js';
import { serializeTree, MODE_FILE, MODE_TREE } from '../../../lib/git/tree.js';
import { expandTargets, type ExpandOptions, type ExpandReport } from '../../../lib/medo/expand.js';
import { findFileWorker } from '../../../lib/medo/materialize/file-pool.js';
import { resolveTargets } from '../../../lib/medo/resolve-target.js';
import { readTreeptr, writeTreeptr } from '../../../lib/medo/treeptr.js';
import { OldCopy } from '../../../lib/medo/old-copy.js';
import { native } from '../../../lib/native.js';
import { hashObject } from '../../../lib/oid.js';
import { Silo } from '../../../lib/silo/silo.js';
import { git, initRepo, tempDir } from '../../helpers/git-fixture.js';
import { listPaths, makeMedoLayout, makeSampleTree, setMtimeNs, snapshot, storeBlob, storeTree, type MedoLayout } from '../../helpers/medo-fixture.js';

interface Fixture extends MedoLayout {
  tmp: string;
  source: string;
  treeptrPath: string;
  tree: string;
}

function fixture(t: ExecutionContext, options: { meta?: boolean } = {}): Fixture {
  const tmp = tempDir(t, 'medo-expand-');
  const layout = makeMedoLayout(tmp);
  const source = join(tmp, 'source');
  makeSampleTree(source);
  const stored = storeTree(layout, source, 'sample.treeptr', tmp, options);
  return { ...layout, tmp, source, treeptrPath: stored.treeptrPath, tree: stored.tree };
}

async function expand(arg: string, dest: string, options: ExpandOptions = {}): Promise<ExpandReport> {
  const resolved = resolveTargets(arg);
  const store = resolved.medoDir.openStore();
  try {
    return await expandTargets(resolved.targets, store, dest, { medoRoot: resolved.medoDir.root, ...options });
  } finally {
    store.close();
  }
}

/** `git write-tree` of a directory, in a scratch repository (git ignores empty directories and modes beyond +x). */
function gitTreeOf(t: ExecutionContext, dir: string): string {
  const repo = initRepo(join(tempDir(t, 'medo-oracle-'), 'r.git'), { bare: true });
  git(repo, ['--work-tree', dir, 'add', '-A']);
  return git(repo, ['write-tree']).toString().trim();
}

function assertSameTree(t: ExecutionContext, expected: string, actual: string): void {
  const a = snapshot(expected);
  const b = snapshot(actual);
  t.deepEqual([...b.keys()], [...a.keys()], 'the same paths');
  const diffs: string[] = [];
  for (const [p, s] of a) {
    const o = b.get(p)!;
    if (o === undefined) continue;
    for (const k of ['type', 'perm', 'mtimeUs', 'content'] as const) {
      if (s[k] !== o[k]) diffs.push(`${p || '.'}: ${k} ${String(o[k])}, expected ${String(s[k])}`);
    }
  }
  t.deepEqual(diffs, []);
}

function inodes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of listPaths(dir)) {
    const st = lstatSync(rel === '' ? dir : join(dir, rel), { bigint: true });
    if (!st.isDirectory()) out.set(rel, `${st.ino}:${st.ctimeNs}`);
  }
  return out;
}

const WAYS: [string, ExpandOptions][] = [
  ['on worker threads', {}],
  ['on this thread', { threads: 0 }],
  ['without the write pool', { medoRoot: undefined }],
];

for (const [way, options] of WAYS) {
  test(`expand ${way} gives back every file, mode, mtime, symlink and empty directory, and the tree git computes`, async (t) => {
    const f = fixture(t);
    const dest = join(f.tmp, 'out');
    const r = await expand(f.treeptrPath, dest, options);
    assertSameTree(t, f.source, dest);
    t.is(gitTreeOf(t, dest), f.tree);
    const files = listPaths(f.source).filter((p) => !lstatSync(join(f.source, p)).isDirectory()).length;
    t.is(r.written, files);
    t.is(r.bytes, listPaths(f.source).reduce((n, p) => n + (lstatSync(join(f.source, p)).isFile() ? lstatSync(join(f.source, p)).size : 0), 0));
    t.is(r.unchanged + r.replaced + r.updated, 0);
    t.deepEqual(r.extra, []);
    t.true(statSync(join(dest, 'nested-empty/inner/innermost')).isDirectory());
    t.is(statSync(join(dest, 'opt/setgid-dir')).mode & 0o7777, 0o2775);
  });
}

test('the compiled write worker is there to be used (npx tsc -p . has run)', (t) => {
  t.truthy(findFileWorker(), 'without dist/, expand and verify do their file work on the main thread only');
});

test('with the native helper, times are set to the nanosecond: scanning the expanded tree gives back its very sidecar', async (t) => {
  if (native?.setTimes === undefined) return t.pass('no native helper here: times are set to the microsecond');
  const tmp = tempDir(t, 'medo-expand-');
  const layout = makeMedoLayout(tmp);
  const source = join(tmp, 'source');
  makeSampleTree(source);
  // Nanoseconds no microsecond holds, on directories, a symlink and a file (deepest first).
  for (const [rel, ns] of [['lib/python3', 987_654_321], ['bin/readme-link', 111_111_111], ['etc', 999_999_999], ['', 1]] as const) {
    setMtimeNs(rel === '' ? source : join(source, rel), 1_650_000_000, ns);
  }
  const stored = storeTree(layout, source, 'sample.treeptr', tmp);
  const meta = readTreeptr(stored.treeptrPath).meta!;
  for (const [way, options] of WAYS) {
    const dest = join(tmp, `out-${way.replace(/ /g, '-')}`);
    await expand(stored.treeptrPath, dest, options);
    const ns = (dir: string): Map<string, bigint> => new Map(listPaths(dir).map((p) => [p, lstatSync(p === '' ? dir : join(dir, p), { bigint: true }).mtimeNs]));
    t.deepEqual(ns(dest), ns(source), `${way}: every mtime to the nanosecond`);
    t.is((await OldCopy.scan(dest)).has(stored.tree), true);
    t.true((await OldCopy.scan(dest)).hasBlob(meta), `${way}: the scan of the expanded tree makes the sidecar it came from`);
  }
  return undefined;
});

for (const [way, options] of WAYS) {
  test(`a file seen just before (same inode, size and ctime) is taken to hold what it held, not hashed again; one changed since is (${way})`, async (t) => {
    const f = fixture(t);
    const dest = join(f.tmp, 'out');
    await expand(f.treeptrPath, dest, options);
    const file = join(dest, 'README');
    const wanted = readFileSync(file);
    // The same size, other bytes, and a scan that says (falsely) it holds what the tree wants there.
    writeFileSync(file, Buffer.alloc(wanted.length, 0x78));
    const st = lstatSync(file, { bigint: true });
    const lie = { oid: hashObject('blob', wanted), ino: st.ino, size: wanted.length, ctimeNs: st.ctimeNs };
    const seen = (p: string) => (p === 'README' ? lie : undefined);
    const trusted = await expand(f.treeptrPath, dest, { ...options, seen });
    t.is(trusted.replaced, 0, 'the scan was believed: not hashed again');
    t.not(readFileSync(file).toString(), wanted.toString());
    // Any change since the scan moves the ctime: then the file is hashed, found wrong and rewritten.
    chmodSync(file, 0o600);
    chmodSync(file, Number(st.mode & 0o7777n));
    const checked = await expand(f.treeptrPath, dest, { ...options, seen });
    t.is(checked.replaced, 1);
    t.true(readFileSync(file).equals(wanted));
  });
}

test('a second run leaves every file alone (same inode and ctime) and reports nothing', async (t) => {
  const f = fixture(t);
  const dest = join(f.tmp, 'out');
  await expand(f.treeptrPath, dest);
  const before = inodes(dest);
  const r = await expand(f.treeptrPath, dest);
  t.is(r.written + r.replaced + r.updated, 0);
  t.is(r.unchanged, before.size);
  t.is(r.dirsCreated, 0);
  t.deepEqual(inodes(dest), before);
  assertSameTree(t, f.source, dest);
});

for (const [way, options] of WAYS) {
  test(`tampered files are fixed: content replaced, mode and mtime fixed in place, the rest untouched (${way})`, async (t) => {
    const f = fixture(t);
    const dest = join(f.tmp, 'out');
    await expand(f.treeptrPath, dest, options);
    const before = inodes(dest);
    // Same size and mtime: only hashing can tell.
    const blob = join(dest, 'share/blob.bin');
    const st = statSync(blob);
    const bytes = readFileSync(blob);
    bytes[1000] = bytes[1000]! ^ 0xff;
    writeFileSync(blob, bytes);
    utimesSync(blob, st.atime, st.mtime);
    chmodSync(join(dest, 'bin/tool'), 0o644);
    utimesSync(join(dest, 'README'), 1, 1);
    unlinkSync(join(dest, 'many/f007.txt'));
    rmSync(join(dest, 'nested-empty'), { recursive: true });
    unlinkSync(join(dest, 'dir-link'));
    symlinkSync('/somewhere/else', join(dest, 'dir-link'));
    setMtimeNs(join(dest, 'dangling-link'), 1, 0);
    const r = await expand(f.treeptrPath, dest, options);
    t.is(r.replaced, 2);
    t.is(r.updated, 3);
    t.is(r.written, 1);
    t.is(r.dirsCreated, 3);
    assertSameTree(t, f.source, dest);
    const after = inodes(dest);
    for (const [p, id] of before) {
      if (p === 'share/blob.bin' || p === 'many/f007.txt' || p === 'dir-link') t.not(after.get(p), id, p);
      else if (p === 'bin/tool' || p === 'README' || p === 'dangling-link') t.is(after.get(p)!.split(':')[0], id.split(':')[0], `${p} keeps its inode`);
      else t.is(after.get(p), id, p);
    }
  });
}

test('extra files are reported and kept; --delete removes them', async (t) => {
  const f = fixture(t);
  const dest = join(f.tmp, 'out');
  await expand(f.treeptrPath, dest);
  writeFileSync(join(dest, 'stray.txt'), 'x');
  mkdirSync(join(dest, 'bin/stray-dir/deeper'), { recursive: true });
  writeFileSync(join(dest, 'bin/stray-dir/deeper/f'), 'y');
  symlinkSync('/', join(dest, 'empty/stray-link'));
  const kept = await expand(f.treeptrPath, dest);
  t.deepEqual(kept.extra.sort(), ['bin/stray-dir/', 'empty/stray-link', 'stray.txt']);
  t.deepEqual(kept.removed, []);
  t.true(existsSync(join(dest, 'stray.txt')));
  const removed = await expand(f.treeptrPath, dest, { delete: true });
  t.deepEqual(removed.removed.sort(), ['bin/stray-dir/', 'empty/stray-link', 'stray.txt']);
  t.deepEqual(removed.extra, []);
  assertSameTree(t, f.source, dest);
});

test('without a sidecar: 0644/0755 from the git mode, mtimes left, empty directories unknown', async (t) => {
  const f = fixture(t, { meta: false });
  const dest = join(f.tmp, 'out');
  await expand(f.treeptrPath, dest);
  t.is(gitTreeOf(t, dest), f.tree);
  t.is(statSync(join(dest, 'etc/secret.conf')).mode & 0o7777, 0o644);
  t.is(statSync(join(dest, 'bin/private-tool')).mode & 0o7777, 0o755);
  t.false(existsSync(join(dest, 'empty')));
  // A re-run does not touch a file whose content and executable bit are right, whatever its mode.
  chmodSync(join(dest, 'README'), 0o600);
  const before = inodes(dest);
  const r = await expand(f.treeptrPath, dest);
  t.is(r.updated + r.replaced + r.written, 0);
  t.deepEqual(inodes(dest), before);
  chmodSync(join(dest, 'bin/tool'), 0o644);
  t.is((await expand(f.treeptrPath, dest)).updated, 1);
  t.is(statSync(join(dest, 'bin/tool')).mode & 0o7777, 0o755);
});

test('an empty destination directory is filled by renaming the finished tree over it, keeping its mode', async (t) => {
  const f = fixture(t, { meta: false });
  const dest = join(f.tmp, 'out');
  mkdirSync(dest);
  chmodSync(dest, 0o750);
  const r = await expand(f.treeptrPath, dest);
  t.is(gitTreeOf(t, dest), f.tree);
  t.true(r.written > 0);
  t.is(r.dest, dest);
  t.is(statSync(dest).mode & 0o7777, 0o750, 'the tree sets no root mode: the directory keeps its own');
  t.deepEqual(readdirSync(f.tmp).filter((n) => n.startsWith('.medo-expand-')), []);
  // A destination that does not exist gets a new directory's mode; its parents are made.
  const deep = join(f.tmp, 'a/b/out');
  await expand(f.treeptrPath, deep);
  t.is(gitTreeOf(t, deep), f.tree);
  t.is(statSync(deep).mode & 0o7777, 0o777 & ~process.umask());
});

test('hostile destination: symlinks and hard links in DEST are replaced, never written through', async (t) => {
  const f = fixture(t);
  const outside = join(f.tmp, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim'), 'do not touch\n');
  writeFileSync(join(outside, 'linked'), 'ro\n'); // same content as etc/readonly.conf
  chmodSync(join(outside, 'linked'), 0o666);
  const dest = join(f.tmp, 'out');
  mkdirSync(join(dest, 'etc'), { recursive: true });
  symlinkSync(outside, join(dest, 'bin')); // the tree has a directory bin/
  symlinkSync(join(outside, 'victim'), join(dest, 'README')); // the tree has a file README
  symlinkSync(outside, join(dest, 'lib')); // the tree has lib/python3/...
  linkSync(join(outside, 'linked'), join(dest, 'etc/readonly.conf'));
  const victimBefore = statSync(join(outside, 'victim'), { bigint: true });
  await expand(f.treeptrPath, dest);
  t.deepEqual(readdirSync(outside).sort(), ['linked', 'victim']);
  t.is(readFileSync(join(outside, 'victim'), 'utf8'), 'do not touch\n');
  t.deepEqual(statSync(join(outside, 'victim'), { bigint: true }).mtimeNs, victimBefore.mtimeNs);
  t.is(statSync(join(outside, 'linked')).mode & 0o7777, 0o666, 'a hard link outside keeps its mode');
  t.is(statSync(join(outside, 'linked')).nlink, 1);
  t.true(lstatSync(join(dest, 'bin')).isDirectory());
  assertSameTree(t, f.source, dest);
});

test('a non-empty directory where the tree has a file is a conflict unless --delete', async (t) => {
  const f = fixture(t);
  const dest = join(f.tmp, 'out');
  mkdirSync(join(dest, 'README'), { recursive: true });
  writeFileSync(join(dest, 'README/keep'), 'mine');
  mkdirSync(join(dest, 'abs-link')); // empty: simply replaced
  writeFileSync(join(dest, 'empty'), 'a file where the tree has a directory');
  const r = await expand(f.treeptrPath, dest);
  t.deepEqual(r.conflicts, ['README']);
  t.is(readFileSync(join(dest, 'README/keep'), 'utf8'), 'mine');
  t.true(lstatSync(join(dest, 'abs-link')).isSymbolicLink());
  t.true(lstatSync(join(dest, 'empty')).isDirectory());
  const r2 = await expand(f.treeptrPath, dest, { delete: true });
  t.deepEqual(r2.conflicts, []);
  t.deepEqual(r2.removed, ['README/']);
  assertSameTree(t, f.source, dest);
});

for (const [way, options] of WAYS) {
  test(`a missing object is ERR_OBJECT_MISSING naming it, and nothing is half-written (${way})`, async (t) => {
    const tmp = tempDir(t, 'medo-expand-');
    const layout = makeMedoLayout(tmp);
    const silo = Silo.open(layout.siloDir);
    const present = silo.writeLoose('blob', Buffer.from('here\n')).oid;
    const absent = '0123456789abcdef0123456789abcdef01234567';
    const sub = silo.writeLoose('tree', serializeTree([{ mode: MODE_FILE, name: 'gone.txt', oid: absent }])).oid;
    const tree = silo.writeLoose('tree', serializeTree([
      { mode: MODE_FILE, name: 'a.txt', oid: present }, { mode: MODE_TREE, name: 'sub', oid: sub },
    ])).oid;
    silo.close();
    const ptr = join(layout.medoDir, 'broken.treeptr');
    writeTreeptr(ptr, { tree, size: 5, files: 2 });
    // A new destination is built beside it under a temp name: a failure leaves neither.
    const dest = join(tmp, 'out');
    const err = await t.throwsAsync(expand(ptr, dest, options));
    t.true(isMedoError(err));
    t.is((err as unknown as { code: string }).code, 'ERR_OBJECT_MISSING');
    t.regex(err!.message, new RegExp(absent));
    t.false(existsSync(dest), 'a destination that did not exist still does not');
    t.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('.medo-expand-')), [], 'no staging directory left behind');
    // A destination that holds something is expanded in place: what was written stays, nothing half-written.
    const kept = join(tmp, 'kept');
    mkdirSync(kept);
    writeFileSync(join(kept, 'mine.txt'), 'mine\n');
    const again = await t.throwsAsync(expand(ptr, kept, options));
    t.is((again as unknown as { code: string }).code, 'ERR_OBJECT_MISSING');
    t.is(readFileSync(join(kept, 'mine.txt'), 'utf8'), 'mine\n');
    t.false(existsSync(join(kept, 'sub/gone.txt')));
    t.deepEqual(readdirSync(join(kept, 'sub')), [], 'no temp file left behind');
  });
}

test('a medo directory expands each .treeptr at its path; a blob .treeptr is its file', async (t) => {
  const tmp = tempDir(t, 'medo-expand-');
  const layout = makeMedoLayout(tmp);
  const src1 = join(tmp, 's1');
  const src2 = join(tmp, 's2');
  makeSampleTree(src1);
  mkdirSync(join(src2, 'x'), { recursive: true });
  writeFileSync(join(src2, 'x/y.txt'), 'y\n');
  const file = join(tmp, 'notes.txt');
  writeFileSync(file, 'plain file, not a tarball\n');
  chmodSync(file, 0o640);
  utimesSync(file, 1_500_000_000, 1_500_000_000);
  storeTree(layout, src1, 'tools/sample.treeptr', tmp);
  const second = storeTree(layout, src2, 'deep/er/second.treeptr', tmp);
  storeBlob(layout, file, 'tools/notes.txt.treeptr');
  const dest = join(tmp, 'out');
  writeFileSync(join(tmp, 'unrelated'), '');
  const r = await expand(layout.medoDir, dest);
  assertSameTree(t, src1, join(dest, 'tools/sample'));
  assertSameTree(t, src2, join(dest, 'deep/er/second'));
  t.is(readFileSync(join(dest, 'tools/notes.txt'), 'utf8'), 'plain file, not a tarball\n');
  t.is(statSync(join(dest, 'tools/notes.txt')).mode & 0o7777, 0o640);
  t.is(statSync(join(dest, 'tools/notes.txt')).mtimeMs, 1_500_000_000_000);
  t.deepEqual(readdirSync(dest).sort(), ['deep', 'tools']);
  t.deepEqual(r.extra, []);
  // A folder inside the medo directory: the .treeptr files below it, placed relative to it.
  const tools = join(tmp, 'tools-only');
  await expand(join(layout.medoDir, 'tools'), tools);
  t.deepEqual(readdirSync(tools).sort(), ['notes.txt', 'sample']);
  assertSameTree(t, src1, join(tools, 'sample'));
  // A blob .treeptr on its own: DEST/<name>.
  const single = join(tmp, 'single');
  await expand(join(layout.medoDir, 'tools/notes.txt.treeptr'), single);
  t.deepEqual(readdirSync(single), ['notes.txt']);
  // A tree .treeptr on its own is DEST itself.
  const alone = join(tmp, 'alone');
  await expand(second.treeptrPath, alone);
  assertSameTree(t, src2, alone);
});

test('targets that would nest inside one another are refused', async (t) => {
  const tmp = tempDir(t, 'medo-expand-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 's');
  mkdirSync(src);
  writeFileSync(join(src, 'f'), 'f\n');
  storeTree(layout, src, 'a.treeptr', tmp);
  storeTree(layout, src, 'a/b.treeptr', tmp);
  const err = t.throws(() => resolveTargets(layout.medoDir));
  t.is((err as unknown as { code: string }).code, 'ERR_USAGE');
  t.regex(err!.message, /overlap/);
});

function tarball(t: ExecutionContext, dir: string, args: string[], out: string): string {
  execFileSync('tar', ['--format=posix', '-cf', out, ...args], { cwd: dir });
  t.true(existsSync(out));
  return out;
}

test('a tarball blob is unpacked with its modes and mtimes; --raw keeps it as a file', async (t) => {
  const tmp = tempDir(t, 'medo-expand-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  // A hard link: tar stores it as a link entry, expand gives it its own copy of the content.
  const etc = statSync(join(src, 'etc'));
  linkSync(join(src, 'etc/readonly.conf'), join(src, 'etc/readonly-link.conf'));
  utimesSync(join(src, 'etc'), etc.atime, etc.mtime);
  const tgz = join(tmp, 'sample.tar.gz');
  execFileSync('tar', ['--format=posix', '--sort=name', '-czf', tgz, '-C', src, '.']);
  const ptr = storeBlob(layout, tgz, 'sample.tar.gz.treeptr').treeptrPath;
  const dest = join(tmp, 'out');
  const r = await expand(ptr, dest);
  assertSameTree(t, src, dest);
  t.deepEqual(r.extra, []);
  const before = inodes(dest);
  const again = await expand(ptr, dest);
  t.is(again.written + again.replaced + again.updated, 0);
  t.deepEqual(inodes(dest), before);
  writeFileSync(join(dest, 'README'), 'changed');
  writeFileSync(join(dest, 'extra'), '');
  const fixed = await expand(ptr, dest, { delete: true });
  t.is(fixed.replaced, 1);
  t.deepEqual(fixed.removed, ['extra']);
  assertSameTree(t, src, dest);
  const raw = join(tmp, 'raw');
  await expand(ptr, raw, { unpack: false });
  t.deepEqual(readFileSync(join(raw, 'sample.tar.gz')), readFileSync(tgz));
  // In a medo directory, the tarball unpacks into DEST/<path without .treeptr>.
  const inDir = join(tmp, 'indir');
  await expand(layout.medoDir, inDir);
  assertSameTree(t, src, join(inDir, 'sample.tar.gz'));
});

test('hostile tarballs: a path through an earlier symlink or with .. is refused, nothing lands outside', async (t) => {
  const tmp = tempDir(t, 'medo-expand-');
  const layout = makeMedoLayout(tmp);
  const outside = join(tmp, 'outside');
  mkdirSync(outside);
  const d1 = join(tmp, 'd1');
  const d2 = join(tmp, 'd2');
  mkdirSync(d1);
  mkdirSync(join(d2, 'a'), { recursive: true });
  symlinkSync(outside, join(d1, 'a'));
  writeFileSync(join(d2, 'a/x'), 'through the link\n');
  const through = tarball(t, d1, ['a'], join(tmp, 'through.tar'));
  execFileSync('tar', ['--format=posix', '-rf', through, 'a/x'], { cwd: d2 });
  const p1 = storeBlob(layout, through, 'through.tar.treeptr').treeptrPath;
  const err = await t.throwsAsync(expand(p1, join(tmp, 'out1')));
  t.is((err as unknown as { code: string }).code, 'ERR_UNSAFE_PATH');
  t.deepEqual(readdirSync(outside), []);

  mkdirSync(join(tmp, 'd3/in'), { recursive: true });
  writeFileSync(join(tmp, 'd3/escape'), 'escape\n');
  const dotdot = join(tmp, 'dotdot.tar');
  execFileSync('tar', ['--format=posix', '-P', '-cf', dotdot, 'in/../../d3/escape'], { cwd: join(tmp, 'd3') });
  const p2 = storeBlob(layout, dotdot, 'dotdot.tar.treeptr').treeptrPath;
  const err2 = await t.throwsAsync(expand(p2, join(tmp, 'out2/inner')));
  t.is((err2 as unknown as { code: string }).code, 'ERR_UNSAFE_PATH');
  t.false(existsSync(join(tmp, 'out2/escape')));
  t.false(existsSync(join(tmp, 'escape')));

  mkdirSync(join(tmp, 'd4'));
  execFileSync('mkfifo', [join(tmp, 'd4/fifo')]);
  const special = tarball(t, join(tmp, 'd4'), ['fifo'], join(tmp, 'special.tar'));
  const p3 = storeBlob(layout, special, 'special.tar.treeptr').treeptrPath;
  const err3 = await t.throwsAsync(expand(p3, join(tmp, 'out3')));
  t.is((err3 as unknown as { code: string }).code, 'ERR_SPECIAL_FILE');
});

test('the destination may not be a file', async (t) => {
  const f = fixture(t);
  const dest = join(f.tmp, 'file');
  writeFileSync(dest, '');
  const err = await t.throwsAsync(expand(f.treeptrPath, dest));
  t.is((err as unknown as { code: string }).code, 'ERR_USAGE');
  appendFileSync(dest, 'still a file');
  t.is(readFileSync(dest, 'utf8'), 'still a file');
});
