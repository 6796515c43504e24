// The mount's sources without FUSE: paths, kinds, sizes (from object headers, whatever the storage:
// git loose, packed whole, packed delta, silo loose .gz, silo pack), content, links, inodes, statfs and the
// sidecar, all checked against git. The FUSE tests (test/daemon/) check the same through the kernel.
import test from 'ava';
import { chmodSync, closeSync, cpSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PackFile } from '../../../lib/git/pack-file.js';
import { GitRepo } from '../../../lib/git/git-repo.js';
import { MODE_TREE } from '../../../lib/git/tree.js';
import { InodeScope, InodeTable } from '../../../lib/mount/inode-table.js';
import { ObjectReader } from '../../../lib/mount/object-reader.js';
import { objectSize } from '../../../lib/mount/object-location.js';
import { openMountSource } from '../../../lib/mount/open-source.js';
import { FIXED_MTIME_SEC, OID_XATTR } from '../../../lib/mount/source.js';
import { SubvolumeSource } from '../../../lib/mount/subvolume-source.js';
import { TreeSource } from '../../../lib/mount/tree-source.js';
import { Silo } from '../../../lib/silo/silo.js';
import { git, gitLines, initRepo, removeDir, sharedTempDir } from '../../helpers/git-fixture.js';
import { buildMedoFixture, expectedTree, listAll, metaFor, writeSourceTree, type MedoFixture } from '../../helpers/mount-fixture.js';

let root: string;
let work: string;
let fx: MedoFixture;
let src: string;

test.before(() => {
  root = sharedTempDir('medo-source-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
  // A repository whose history packs into deltas (gc --aggressive), plus loose objects on top.
  work = initRepo(join(root, 'work'));
  writeSourceTree(work);
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', 'one']);
  const lines = join(work, 'text', 'lines.txt');
  for (let i = 0; i < 4; i++) {
    writeFileSync(lines, `edit ${i}\n${git(work, ['show', 'HEAD:text/lines.txt']).toString()}`);
    git(work, ['commit', '-q', '-am', `edit ${i}`]);
  }
  git(work, ['gc', '-q', '--aggressive']);
  writeFileSync(join(work, 'loose.txt'), 'loose\n');
  git(work, ['add', 'loose.txt']);
  git(work, ['commit', '-q', '-m', 'loose']);
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

const scope = (): InodeScope => new InodeScope(new InodeTable(), '');

test('sizes come from headers and equal git\'s for loose, whole, delta and silo objects', (t) => {
  const repo = GitRepo.open(work);
  const silo = Silo.open(fx.siloDir);
  try {
    const all = gitLines(work, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize) %(deltabase)']);
    const deltas = all.filter((l) => !l.endsWith(' 0000000000000000000000000000000000000000'));
    t.true(deltas.length > 0, 'the fixture has deltified objects');
    t.true(gitLines(work, ['count-objects', '-v']).some((l) => /^count: [1-9]/.test(l)), 'and loose ones');
    for (const line of all) {
      const [oid, , size] = line.split(' ');
      t.is(objectSize(repo, oid!), Number(size), line);
    }
    for (const line of gitLines(fx.repo, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objectsize)'])) {
      const [oid, size] = line.split(' ');
      t.is(objectSize(silo, oid!), Number(size));
    }
    t.is(objectSize(silo, fx.meta), silo.read(fx.meta)!.content.length, 'a loose .gz object');
    t.is(objectSize(repo, '0'.repeat(40)), undefined);
  } finally {
    repo.close();
    silo.close();
  }
});

test('a git tree through TreeSource: every path, kind, size, content, link, and list, as git has it', async (t) => {
  const repo = GitRepo.open(work);
  const reader = new ObjectReader(repo, { inlineMaxBytes: 64 << 10 });
  try {
    const tree = git(work, ['rev-parse', 'HEAD^{tree}']).toString().trim();
    const source = new TreeSource(reader, { oid: tree, mode: MODE_TREE }, { inodes: scope() });
    const expected = expectedTree(work, 'HEAD');
    const inos = new Set<number>([source.lookup('')!.ino]);
    for (const e of expected) {
      const node = source.lookup(e.path)!;
      t.truthy(node, e.path);
      t.is(node.kind, e.type, e.path);
      t.is(node.oid, e.oid);
      t.is(node.mtimeSec, FIXED_MTIME_SEC);
      t.is(node.perm, e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : e.mode === 0o100755 ? 0o755 : 0o644);
      t.false(inos.has(node.ino), `${e.path} has its own inode`);
      inos.add(node.ino);
      t.is(source.lookup(e.path)!.ino, node.ino);
      t.deepEqual(source.xattr(node, OID_XATTR), Buffer.from(e.oid));
      if (e.type === 'dir') {
        const names = expected.filter((x) => x.path.startsWith(`${e.path}/`) && !x.path.slice(e.path.length + 1).includes('/'))
          .map((x) => x.path.slice(e.path.length + 1));
        t.deepEqual(source.list(e.path)!.map((d) => d.name), names);
        t.is(node.nlink, 2 + expected.filter((x) => x.type === 'dir' && names.includes(x.path.slice(e.path.length + 1)) && x.path.startsWith(`${e.path}/`)).length);
        continue;
      }
      t.is(node.size, e.size, e.path);
      if (e.type === 'symlink') t.is(source.readlink(node), e.content!.toString('utf8'));
      else t.true((await source.read(node, 0, e.size + 10)).equals(e.content!), e.path);
    }
    t.is(source.lookup('no/such'), undefined);
    t.is(source.lookup('README.md/x'), undefined);
    t.is(source.list('README.md'), undefined);
    const files = expected.filter((e) => e.type !== 'dir');
    t.deepEqual(source.statfs(), { bytes: files.reduce((n, e) => n + e.size, 0), files: files.length });
  } finally {
    reader.close();
    repo.close();
  }
});

test('random reads: inline, off-thread and streamed blobs, packed or loose, give the right bytes in any order', async (t) => {
  const silo = Silo.open(fx.siloDir);
  const repo = GitRepo.open(work);
  const packed = git(fx.repo, ['cat-file', 'blob', fx.blob]);
  const siloLoose = Buffer.from(packed).reverse();
  const siloLooseOid = silo.writeLoose('blob', siloLoose).oid;
  const gitLoose = Buffer.concat([packed.subarray(1000), packed.subarray(0, 1000)]);
  const gitLooseOid = git(work, ['hash-object', '-w', '--stdin'], gitLoose).toString().trim();
  try {
    for (const [store, oid, original, what] of [
      [silo, fx.blob, packed, 'silo pack'], [silo, siloLooseOid, siloLoose, 'silo loose .gz'], [repo, gitLooseOid, gitLoose, 'git loose'],
    ] as const) {
      for (const options of [{}, { inlineMaxBytes: 8 << 20 }, { inlineMaxBytes: 1 << 16 }, { inlineMaxBytes: 1 << 16, streamMinBytes: 1 << 17 }]) {
        const label = `${what} with ${JSON.stringify(options)}`;
        const reader = new ObjectReader(store, options);
        const size = reader.size(oid);
        t.is(size, original.length, label);
        const offsets = [0, size - 10, 5, 1 << 20, 3 << 20, 123_456, size - 1, 2 << 20, 17, size + 5];
        const reads = await Promise.all(offsets.map((o) => reader.read(oid, size, o, 200_000)));
        offsets.forEach((o, i) => t.true(reads[i]!.equals(original.subarray(o, o + 200_000)), `at ${o}: ${label}`));
        // A sequential pass, as cat does.
        const parts: Buffer[] = [];
        for (let o = 0; o < size; o += 131_072) parts.push(await reader.read(oid, size, o, 131_072));
        t.true(Buffer.concat(parts).equals(original), label);
        // 8 sequential readers at once, each from its own place: more than the cursors a blob may have.
        const readers = await Promise.all(Array.from({ length: 8 }, async (_, r) => {
          const from = Math.floor((size * r) / 8);
          const got: Buffer[] = [];
          for (let o = from; o < size; o += 65_536) got.push(await reader.read(oid, size, o, 65_536));
          return Buffer.concat(got).equals(original.subarray(from));
        }));
        t.deepEqual(readers, Array(8).fill(true), label);
        reader.close();
      }
    }
  } finally {
    silo.close();
    repo.close();
  }
});

test('a streamed read that jumps ahead spills what it passes over, in whole pages, once; a sequential one spills nothing', async (t) => {
  const silo = Silo.open(fx.siloDir);
  const original = git(fx.repo, ['cat-file', 'blob', fx.blob]);
  try {
    const reader = new ObjectReader(silo, { inlineMaxBytes: 1 << 16, streamMinBytes: 1 << 17 });
    const size = original.length;
    t.true(size > 3 << 20, 'the fixture blob is large enough to jump around in');
    const spilled: { at: number; bytes: Buffer }[] = [];
    const spill = (at: number, bytes: Buffer): void => {
      spilled.push({ at, bytes: Buffer.from(bytes) });
    };
    // Forward jumps (one to output an earlier pump already made), a read behind (served from the window), and
    // one ending mid-page.
    const forward: [number, number][] = [[1 << 20, 4096], [(1 << 20) + (256 << 10), 4096], [(2 << 20) + 4096, 8192]];
    const reads: [number, number][] = [...forward, [(1 << 20) + 8192, 4096], [3 << 20, 1000]];
    for (const [at, length] of reads) {
      t.true((await reader.read(fx.blob, size, at, length, spill)).equals(original.subarray(at, at + length)), `read at ${at}`);
    }
    for (const { at, bytes } of spilled) {
      t.is(at % 4096, 0, `spill at ${at} starts on a page`);
      t.is(bytes.length % 4096, 0, `spill at ${at} is whole pages`);
      t.true(bytes.equals(original.subarray(at, at + bytes.length)), `spill at ${at} holds the blob's bytes`);
    }
    // Spilled and served ranges together cover everything before the furthest read, each byte once.
    const ranges = [...spilled.map(({ at, bytes }) => [at, at + bytes.length]), ...forward.map(([at, n]) => [at, at + n])]
      .sort((a, b) => a[0]! - b[0]!);
    let covered = 0;
    for (const [from, to] of ranges) {
      t.is(from, covered, `no gap or overlap at ${covered}`);
      covered = to!;
    }
    t.is(covered, 3 << 20);
    reader.close();

    const sequential = new ObjectReader(silo, { inlineMaxBytes: 1 << 16, streamMinBytes: 1 << 17 });
    let spills = 0;
    for (let o = 0; o < size; o += 131_072) {
      await sequential.read(fx.blob, size, o, 131_072, () => void spills++);
      if (o === 0) t.is(sequential.openCursors, 1);
    }
    t.is(spills, 0);
    t.is(sequential.openCursors, 0, 'a cursor that reached the end is closed, and its window freed');
    sequential.close();
  } finally {
    silo.close();
  }
});

test('readNow: whole files inline into one reused buffer and not kept, cached ones as kept, huge ones not at all', async (t) => {
  const silo = Silo.open(fx.siloDir);
  try {
    const reader = new ObjectReader(silo, { inlineMaxBytes: 1 << 20, cacheMinBytes: 128 << 10 });
    const small = gitLines(fx.repo, ['ls-tree', '-r', '-l', fx.tree])
      .map((l) => l.split(/\s+/))
      .filter(([mode, type, , size]) => type === 'blob' && mode !== '120000' && Number(size) > 0 && Number(size) <= 128 << 10)
      .map(([, , oid, size]) => ({ oid: oid!, size: Number(size) }));
    t.true(small.length >= 3, 'the fixture has small files');
    let buffer: ArrayBuffer | SharedArrayBuffer | undefined;
    for (const { oid, size } of small) {
      const got = reader.readNow(oid, size)!;
      t.true(got.equals(git(fx.repo, ['cat-file', 'blob', oid])), `${oid} has git's bytes`);
      buffer ??= got.buffer;
      t.is(got.buffer, buffer, 'one buffer for every small file');
    }
    const size = reader.size(fx.blob);
    t.is(reader.readNow(fx.blob, size), undefined, 'a file over inlineMaxBytes is not read inline');
    const kept = new ObjectReader(silo, { inlineMaxBytes: 8 << 20, cacheMinBytes: 128 << 10 });
    const bytes = git(fx.repo, ['cat-file', 'blob', fx.blob]);
    const first = kept.readNow(fx.blob, size)!;
    t.true(first.equals(bytes));
    // Taken whole at once, it is in the kernel's page cache afterwards: not kept, the buffer is reused.
    t.is(kept.readNow(fx.blob, size)!.buffer, first.buffer, 'a file read whole is not kept');
    // A read of a part keeps a file over cacheMinBytes for its other parts; readNow then hands that out.
    t.true((await kept.read(fx.blob, size, 0, 4096)).equals(bytes.subarray(0, 4096)));
    const cached = kept.readNow(fx.blob, size)!;
    t.not(cached.buffer, first.buffer, 'the kept copy, not the reused buffer');
    t.true(cached.equals(bytes));
    t.is(kept.readNow(fx.blob, size), cached);
    reader.close();
    kept.close();
  } finally {
    silo.close();
  }
});

test('the sidecar gives modes, mtimes and empty directories; a bad sidecar fails every lookup naming it', (t) => {
  const silo = Silo.open(fx.siloDir);
  const reader = new ObjectReader(silo);
  try {
    const source = new TreeSource(reader, { oid: fx.tree, mode: MODE_TREE }, { inodes: scope(), meta: fx.meta });
    const meta = metaFor(src);
    for (const p of listAll(src)) {
      const node = source.lookup(p)!;
      t.truthy(node, p);
      t.is(node.perm, meta.get(p)!.perm, p);
      t.is(node.mtimeSec, meta.get(p)!.mtimeSec, p);
      t.is(node.mtimeNsec, meta.get(p)!.mtimeNsec, p);
    }
    t.deepEqual(source.list('nested-empty')!.map((e) => e.name), ['inner']);
    t.is(source.lookup('nested-empty/inner')!.nlink, 3);
    t.true(source.list('')!.some((e) => e.name === 'empty' && e.kind === 'dir'));

    const bad = silo.writeLoose('blob', Buffer.from('{"format": "medo-meta", "version": 9}')).oid;
    const broken = new TreeSource(reader, { oid: fx.tree, mode: MODE_TREE }, { inodes: scope(), meta: bad });
    const e = t.throws(() => broken.lookup('README.md')!.perm);
    t.is((e as { code?: string }).code, 'ERR_OBJECT_CORRUPT');
    t.regex(e!.message, new RegExp(bad));
  } finally {
    reader.close();
    silo.close();
  }
});

test('idle inflate cursors beyond their bound are closed, but not those of sequential readers', async (t) => {
  const silo = Silo.open(fx.siloDir);
  const packed = git(fx.repo, ['cat-file', 'blob', fx.blob]);
  const reversed = Buffer.from(packed).reverse();
  const rotated = Buffer.concat([packed.subarray(777), packed.subarray(0, 777)]);
  const other = silo.writeLoose('blob', reversed).oid;
  const third = silo.writeLoose('blob', rotated).oid;
  try {
    // Each cursor below holds a bit over 2 MiB (the output up to the read, and its last step's overshoot).
    const options = { inlineMaxBytes: 1 << 16, streamMinBytes: 1 << 17, idleCursorBytes: 4 << 20 };
    const readers = {
      free: new ObjectReader(silo, { ...options, idleCursorBytes: undefined }),
      bounded: new ObjectReader(silo, { ...options, cursorInUseMs: 3_600_000 }),
      boundedNow: new ObjectReader(silo, { ...options, cursorInUseMs: 0 }),
    };
    const at = 2 << 20; // far in, and not to the end (a cursor that served the last byte is closed anyway)
    const read = async (r: ObjectReader, oid: string, content: Buffer, offset: number): Promise<void> => {
      t.true((await r.read(oid, content.length, offset, 4096)).equals(content.subarray(offset, offset + 4096)), `${oid} at ${offset}`);
    };
    for (const r of Object.values(readers)) {
      // A sequential reader of one file (two reads in a row), then one read far into each of two others.
      await read(r, fx.blob, packed, at);
      await read(r, fx.blob, packed, at + 4096);
      await read(r, other, reversed, at);
      await read(r, third, rotated, at);
    }
    t.is(readers.free.openCursors, 3, 'unbounded: a cursor per file');
    t.is(readers.bounded.openCursors, 2, 'bounded: the older one-read cursor closed, the sequential one kept');
    t.is(readers.boundedNow.openCursors, 1, 'and once the sequential reader has paused long enough, it goes too');
    // A cursor closed is made again when needed, from byte 0.
    await read(readers.boundedNow, fx.blob, packed, at + 8192);
    for (const r of Object.values(readers)) r.close();
  } finally {
    silo.close();
  }
});

test('a node cache of 3: nodes dropped and made again keep their inode, kind, size and attributes, in any order', (t) => {
  const silo = Silo.open(fx.siloDir);
  const reader = new ObjectReader(silo);
  try {
    const root = { oid: fx.tree, mode: MODE_TREE };
    const full = new TreeSource(reader, root, { inodes: scope(), meta: fx.meta });
    const small = new TreeSource(reader, root, { inodes: scope(), meta: fx.meta, nodeCacheEntries: 3 });
    const paths = listAll(src);
    t.true(paths.length > 20, 'more paths than the cache holds');
    const seen = (s: TreeSource, p: string): string => {
      const n = s.lookup(p)!;
      return JSON.stringify([n.ino, n.kind, n.oid, n.perm, n.mtimeSec, n.mtimeNsec, n.nlink, n.kind === 'dir' ? 0 : n.size]);
    };
    // The same order first, so both number the paths alike; then reversed, shuffled, and with the root's
    // directories asked for between (they are marked, so they stay while files come and go).
    const want = new Map(paths.map((p) => [p, seen(full, p)]));
    const gitSizes = new Map(expectedTree(fx.repo, fx.tree).map((e) => [e.path, e.type === 'dir' ? 0 : e.size]));
    for (const p of paths) {
      t.is(seen(small, p), want.get(p), p);
      if (gitSizes.has(p)) t.is(JSON.parse(want.get(p)!)[7], gitSizes.get(p), `${p}: git's size`);
    }
    let a = 7;
    const shuffled = [...paths].sort(() => ((a = (a * 1103515245 + 12345) & 0x7fffffff) % 3) - 1);
    for (const order of [[...paths].reverse(), shuffled]) {
      for (const p of order) {
        t.is(seen(small, p), want.get(p), p);
        t.is(small.lookup('')!.ino, 1);
      }
    }
    t.is(small.lookup('no/such'), undefined);
  } finally {
    reader.close();
    silo.close();
  }
});

test('subvolumes: folders made up between them, inodes unique across them, the shallower wins', (t) => {
  const silo = Silo.open(fx.siloDir);
  const reader = new ObjectReader(silo);
  try {
    const table = new InodeTable();
    const rootScope = new InodeScope(table, '');
    const tree = (at: string): TreeSource => new TreeSource(reader, { oid: fx.tree, mode: MODE_TREE }, { inodes: rootScope.child(at), stats: { bytes: 10, files: 2 } });
    const file = (at: string): TreeSource => new TreeSource(reader, { oid: fx.blob, mode: 0o100644 }, { inodes: rootScope.child(at) });
    const source = new SubvolumeSource([
      { path: 'a/b/one', kind: 'dir', source: tree('a/b/one') },
      { path: 'a/two', kind: 'dir', source: tree('a/two') },
      { path: 'a/two/hidden', kind: 'dir', source: tree('a/two/hidden') },
      { path: 'blob.bin', kind: 'file', source: file('blob.bin') },
    ], rootScope);
    t.deepEqual(source.shadowed.map((s) => s.path), ['a/two/hidden']);
    t.deepEqual(source.list('')!.map((e) => [e.name, e.kind]), [['a', 'dir'], ['blob.bin', 'file']]);
    t.deepEqual(source.list('a')!.map((e) => e.name), ['b', 'two']);
    t.is(source.lookup('a')!.nlink, 4);
    t.is(source.lookup('blob.bin')!.size, source.lookup('a/b/one/big.bin')!.size);
    t.is(source.lookup('a/b/one/README.md')!.oid, source.lookup('a/two/README.md')!.oid);
    t.not(source.lookup('a/b/one/README.md')!.ino, source.lookup('a/two/README.md')!.ino);
    t.is(source.list('')!.find((e) => e.name === 'a')!.ino, source.lookup('a')!.ino);
    t.is(source.list('a/b')!.find((e) => e.name === 'one')!.ino, source.lookup('a/b/one')!.ino);
    t.is(source.lookup('a/nope'), undefined);
    t.is(source.lookup('a/two/hidden'), undefined, 'shadowed: the tree has no such entry');
    t.deepEqual(source.xattrNames(source.lookup('a')!), []);
    t.deepEqual(source.xattrNames(source.lookup('a/two')!), [OID_XATTR]);
    const blobSize = source.lookup('blob.bin')!.size;
    t.deepEqual(source.statfs(), { bytes: 20 + blobSize, files: 5 });
  } finally {
    reader.close();
    silo.close();
  }
});

test('openMountSource tells a medo directory, a .treeptr and a git repository apart', (t) => {
  const medo = openMountSource({ source: fx.medoDir });
  t.is(medo.kind, 'medo-dir');
  t.deepEqual(medo.source.list('')!.map((e) => e.name), ['debian', 'tools']);
  medo.close();
  const ptr = openMountSource({ source: fx.treeptr });
  t.is(ptr.kind, 'treeptr');
  t.is(ptr.source.lookup('')!.oid, fx.tree);
  ptr.close();
  const blob = openMountSource({ source: fx.blobTreeptr });
  t.deepEqual(blob.source.list('')!.map((e) => [e.name, e.kind]), [['big.bin', 'file']]);
  blob.close();
  const g = openMountSource({ source: work, rev: 'HEAD~1' });
  t.is(g.kind, 'git');
  t.is(g.resolved!.oid, git(work, ['rev-parse', 'HEAD~1^{tree}']).toString().trim());
  g.close();
  t.throws(() => openMountSource({ source: join(root, 'nope') }), { message: /no such file or directory/ });
  t.throws(() => openMountSource({ source: fx.medoDir, rev: 'main' }), { message: /--rev applies to a git repository/ });
  t.throws(() => openMountSource({ source: src }), { message: /neither a medo directory/ });
  writeFileSync(join(root, 'plain.txt'), 'x');
  t.throws(() => openMountSource({ source: join(root, 'plain.txt') }), { message: /not a \.treeptr/ });
  rmSync(join(root, 'plain.txt'));
});

test('a corrupt entry fails reading its file with ERR_PACK_CORRUPT naming the object, inline, off-thread and streamed', async (t) => {
  const copy = join(root, 'corrupt-silo');
  cpSync(fx.siloDir, copy, { recursive: true });
  const packPath = join(copy, 'pack', basename(fx.packPath));
  const pack = PackFile.open(packPath);
  const offset = pack.find(Buffer.from(fx.blob, 'hex'))!;
  const at = offset + pack.entryHeader(offset).headerLength + 1000;
  pack.close();
  chmodSync(packPath, 0o644);
  const fd = openSync(packPath, 'r+');
  writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, at);
  closeSync(fd);
  const silo = Silo.open(copy);
  try {
    for (const options of [{}, { inlineMaxBytes: 8 << 20 }, { inlineMaxBytes: 1 << 16 }, { inlineMaxBytes: 1 << 16, streamMinBytes: 1 << 17 }]) {
      const reader = new ObjectReader(silo, options);
      const size = reader.size(fx.blob);
      // A streamed blob can only be checked (zlib's adler32) at its end: a reader going through the file
      // gets the error at the latest on its last read. The other paths check before serving a byte.
      const readAll = async (): Promise<void> => {
        for (let o = 0; o < size; o += 131_072) await reader.read(fx.blob, size, o, 131_072);
      };
      const e = await t.throwsAsync(readAll(), undefined, JSON.stringify(options));
      t.is((e as { code?: string }).code, 'ERR_PACK_CORRUPT');
      t.is((e as { data?: { oid?: string } }).data?.oid, fx.blob);
      // Other objects in the same pack still read.
      const readme = git(fx.repo, ['rev-parse', `${fx.tree}:README.md`]).toString().trim();
      t.true((await reader.read(readme, reader.size(readme), 0, 1 << 20)).equals(git(fx.repo, ['cat-file', 'blob', readme])));
      reader.close();
    }
  } finally {
    silo.close();
  }
});
