// The proof, on real trees, through the compiled CLI as users run it (node bin/medo.js and
// bin/silo.js, after `npx tsc -p .`): `medo add` -> `medo expand` -> `medo verify` gives back every path,
// type, mode, mtime, symlink, byte and empty directory, checked by an independent lstat walk; the tree id is
// what `git add -A && git write-tree` gives; git accepts the silo's packs and reads the tree from them.
// Then tampering (an expanded file, a pack, a loose object) is named by `medo verify` / `silo verify`, and
// a tarball that tries to write through a symlink writes nothing outside the destination.
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { git, tempDir } from '../helpers/git-fixture.js';
import { makeMedoLayout, setMtimeNs, type MedoLayout } from '../helpers/medo-fixture.js';
import {
  batchCheck, blobTotals, gitVerifyPack, gitWriteTree, idsOfListing, lsTree, repoReadingSilo, sidecarDifferences, treeDifferences, walk,
} from '../helpers/proof-compare.js';
import { EXTRAS_DIR, addExtras, chooseTree, copyTree, countPycache, largeTree, pythonTree, type TreeChoice } from '../helpers/proof-trees.js';
import { END, tarEntry } from '../helpers/tar-builder.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MEDO = join(ROOT, 'bin', 'medo.js');
const SILO = join(ROOT, 'bin', 'silo.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(bin: string, args: readonly string[]): Run {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'medo', 'verify.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const medo = (...args: string[]): Run => cli(MEDO, args);
const silo = (...args: string[]): Run => cli(SILO, args);

// Every test here blocks in child processes for a long time: serial, so that each one ends (teardown
// included) before the next starts, and AVA sees a result between them.
//
// Chosen when the file loads, so that the titles can say how big the trees are.
const PYTHON = pythonTree();
const LARGE = largeTree(ROOT, { min: 20_000, cap: 60_000 });
const n = (x: number): string => x.toLocaleString('en-US');
const sizeOf = (c: TreeChoice): string =>
  `${n(c.files)} files, ${n(c.symlinks)} symlinks, ${n(c.dirs)} directories, ${(c.bytes / 2 ** 20).toFixed(0)} MiB`;

/** A command's output, for an assertion's message (shown only when it fails). */
function show(what: string, r: Run): string {
  return `${what}: exit ${r.status}\n${r.stdout}${r.stderr}`.trimEnd();
}

/** The whole round trip of one real tree, with every check the "Proof" names. */
function roundTrip(t: ExecutionContext, choice: TreeChoice, options: { minFiles: number; pyc: boolean }): void {
  const tmp = tempDir(t, 'medo-proof-');
  const src = join(tmp, 'src');
  copyTree(choice, src);
  if (options.pyc && countPycache(src) === 0) execFileSync('python3', ['-m', 'compileall', '-q', src], { stdio: 'ignore' });
  addExtras(src, choice.include[0]!);
  const before = walk(src);
  const totals = blobTotals(before);
  t.true(totals.files >= options.minFiles, `${totals.files} files and symlinks, wanted at least ${options.minFiles}`);
  if (options.pyc) t.true(countPycache(src) > 0, 'the Python tree has __pycache__ directories');
  t.log(`${choice.label}: ${totals.files} files and symlinks, ${totals.size} bytes; left out: ${choice.excluded.join(', ') || 'nothing'}`);

  const layout: MedoLayout = makeMedoLayout(tmp);
  const ptr = join(layout.medoDir, 'tree.treeptr');
  const added = medo('add', src, ptr);
  t.is(added.status, 0, show('medo add', added));
  const treeptrBytes = readFileSync(ptr);
  const treeptr = JSON.parse(treeptrBytes.toString('utf8')) as { tree: string; meta: string; files: number; size: number };
  t.is(treeptr.files, totals.files);
  t.is(treeptr.size, totals.size);

  // git computes the same tree id from the same directory, without the metadata.
  t.is(treeptr.tree, gitWriteTree(src, join(tmp, 'oracle.git')), 'tree id = git add -A && git write-tree');

  // git accepts every pack of the silo and reads the tree, all its blobs and the sidecar from them.
  const packs = readdirSync(join(layout.siloDir, 'pack')).filter((f) => f.endsWith('.idx'));
  t.true(packs.length > 0);
  for (const idx of packs) {
    const v = gitVerifyPack(tmp, join(layout.siloDir, 'pack', idx));
    t.is(v.status, 0, `git verify-pack ${idx}: ${v.stderr}`);
  }
  const reader = repoReadingSilo(layout.siloDir, join(tmp, 'reader.git'));
  const listing = lsTree(join(tmp, 'oracle.git'), treeptr.tree);
  t.true(lsTree(reader, treeptr.tree).equals(listing), 'git ls-tree -r -t of the silo = of the oracle repository');
  const ids = [treeptr.tree, ...new Set(idsOfListing(listing))];
  t.deepEqual(batchCheck(reader, ids), batchCheck(join(tmp, 'oracle.git'), ids), 'every object: same type and size, none missing');
  const sidecar = git(reader, ['cat-file', 'blob', treeptr.meta]).toString('utf8');
  t.deepEqual(sidecarDifferences(before, sidecar), [], 'the sidecar keeps every mode, mtime (ns) and empty directory');
  const siloCheck = silo('verify', layout.siloDir);
  t.is(siloCheck.status, 0, show('silo verify', siloCheck));

  // Back out, and verified both by medo and by an independent walk.
  const dest = join(tmp, 'dest');
  const expanded = medo('expand', ptr, dest);
  t.is(expanded.status, 0, show('medo expand', expanded));
  const verified = medo('verify', ptr, dest);
  t.is(verified.status, 0, show('medo verify', verified));
  t.regex(verified.stdout, new RegExp(`: ${totals.files} files checked: OK\\n$`));
  // expand sets mtimes through libuv, which keeps microseconds (lib/medo/materialize/fs-ops.ts); the
  // nanoseconds are in the sidecar, checked above.
  const after = walk(dest);
  t.deepEqual(treeDifferences(before, after, { mtimeUnitNs: 1000n, contentOf: [src, dest] }), []);
  t.is(emptyCount(after, EXTRAS_DIR), 4, 'the empty directories added are there');

  // A re-add writes nothing and gives the same bytes; nothing above wrote into the source.
  const again = medo('add', src, ptr);
  t.is(again.status, 0, show('medo add (again)', again));
  t.regex(again.stdout, / 0 new objects; .* unchanged\n$/);
  t.true(readFileSync(ptr).equals(treeptrBytes));
  t.deepEqual(treeDifferences(before, walk(src), { mtimeUnitNs: 1n }), [], 'the source is untouched');
}

function emptyCount(paths: ReadonlyMap<string, { type: string }>, under: string): number {
  const dirs = [...paths].filter(([rel, p]) => rel.startsWith(`${under}/`) && p.type === 'dir').map(([rel]) => rel);
  return dirs.filter((d) => ![...paths.keys()].some((k) => k.startsWith(`${d}/`))).length;
}

if (PYTHON === undefined) {
  test.serial('round trip of a Python install: no Python found (neither pyenv 3.11.7 nor python3 on PATH)', (t) => {
    t.fail('install python3 (node-gyp needs it anyway)');
  });
} else {
  const py = PYTHON;
  test.serial(`round trip of ${py.label} (${sizeOf(py)}, ${n(py.pycacheDirs)} __pycache__ directories), plus empty directories and symlinks`, (t) => {
    roundTrip(t, py, { minFiles: 1_000, pyc: true });
  });
}

if (LARGE === undefined) {
  test.serial('round trip of a large tree: none found (node_modules, /usr/share, /usr/lib)', (t) => {
    t.fail('no large tree on this machine');
  });
} else {
  const large = LARGE;
  test.serial(`round trip of ${large.label} (${sizeOf(large)}), plus empty directories and symlinks`, (t) => {
    roundTrip(t, large, { minFiles: 20_000, pyc: false });
  });
}

/** Flips one bit of the byte at `at` in `file`, returning the byte it held. */
function flipByte(file: string, at: number): number {
  const b = readFileSync(file);
  const old = b[at]!;
  b[at] = old ^ 0x01;
  writeFileSync(file, b);
  return old;
}

function badIds(report: string): string[] {
  return [...report.matchAll(/^BAD (\S+) /gm)].map((m) => m[1]!);
}

test.serial('tampering is named: a byte of an expanded file (medo verify), of a pack and of a loose object (silo verify)', (t) => {
  const source = PYTHON ?? LARGE;
  if (source === undefined) return t.fail('no real tree on this machine');
  const small = chooseTree(source.label, source.src, { cap: 400, exclude: ['site-packages', 'dist-packages'] });
  const tmp = tempDir(t, 'medo-proof-');
  const src = join(tmp, 'src');
  copyTree(small, src);
  t.true(blobTotals(walk(src)).files >= 50, 'a real tree of some size');
  const layout = makeMedoLayout(tmp);
  const ptr = join(layout.medoDir, 'tree.treeptr');
  t.is(medo('add', src, ptr).status, 0);
  // Loose objects come from --blob: a tarball of the tree and one of its first directory, kept whole.
  const blobs: string[] = [];
  for (const [name, from] of [['all', '.'], ['first', small.include[0]!]] as const) {
    const tgz = join(tmp, `${name}.tar.gz`);
    execFileSync('tar', ['-czf', tgz, '-C', src, from]);
    const blobPtr = join(layout.medoDir, `${name}.tar.gz.treeptr`);
    t.is(medo('add', '--blob', tgz, blobPtr).status, 0);
    blobs.push((JSON.parse(readFileSync(blobPtr, 'utf8')) as { blob: string }).blob);
  }
  const dest = join(tmp, 'dest');
  t.is(medo('expand', ptr, dest).status, 0);
  t.is(medo('verify', ptr, dest).status, 0);
  t.is(silo('verify', layout.siloDir).status, 0);

  // A file of the expanded tree: same size, mtime put back to the nanosecond, one bit different.
  const victim = [...walk(dest)].filter(([, p]) => p.type === 'file' && p.size > 100n).map(([rel]) => rel)[0]!;
  const st = lstatSync(join(dest, victim), { bigint: true });
  flipByte(join(dest, victim), 50);
  setMtimeNs(join(dest, victim), Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n));
  const v = medo('verify', '--json', ptr, dest);
  t.is(v.status, 1, show('medo verify', v));
  const report = JSON.parse(v.stdout) as { differences: { kind: string; path: string }[] };
  t.deepEqual(report.differences.map((d) => [d.kind, d.path]), [['content', victim]]);
  const plain = medo('verify', ptr, dest);
  t.is(plain.status, 1);
  t.true(plain.stdout.split('\n').some((l) => l.startsWith(`content ${victim}: `)), plain.stdout);

  // A byte in the middle of one blob's deflated data in the pack: the blob is named.
  const pack = readdirSync(join(layout.siloDir, 'pack')).find((f) => f.endsWith('.pack'))!;
  const packPath = join(layout.siloDir, 'pack', pack);
  const lines = gitVerifyPack(tmp, packPath.replace(/\.pack$/, '.idx')).stdout.split('\n');
  // A whole (not deltified) blob that no delta is based on, so that it alone is broken.
  const bases = new Set(lines.map((l) => / ([0-9a-f]{40})$/.exec(l)?.[1]).filter((b) => b !== undefined));
  const entries = lines.map((l) => /^([0-9a-f]{40}) blob +\d+ (\d+) (\d+)$/.exec(l)).filter((m) => m !== null)
    .map((m) => ({ oid: m[1]!, sizeInPack: Number(m[2]), offset: Number(m[3]) }))
    .filter((e) => !bases.has(e.oid))
    .sort((a, b) => b.sizeInPack - a.sizeInPack);
  const target = entries[0]!;
  t.true(target.sizeInPack > 64, 'a blob with deflated data to flip');
  const at = target.offset + Math.floor(target.sizeInPack / 2);
  const old = flipByte(packPath, at);
  const p = silo('verify', layout.siloDir);
  t.is(p.status, 1, show('silo verify (pack)', p));
  t.true(badIds(p.stdout).includes(target.oid), p.stdout);
  t.deepEqual(badIds(p.stdout).filter((id) => id !== target.oid && id !== '-'), [], 'only that object (and the pack checksum) is blamed');
  const restored = readFileSync(packPath);
  restored[at] = old;
  writeFileSync(packPath, restored);
  t.is(silo('verify', layout.siloDir).status, 0);

  // Loose objects: a bit flipped in the gzip data, and a valid gzip of other content.
  const loose = (oid: string): string => join(layout.siloDir, 'objects', oid.slice(0, 2), `${oid.slice(2)}.gz`);
  flipByte(loose(blobs[0]!), Math.floor(readFileSync(loose(blobs[0]!)).length / 2));
  writeFileSync(loose(blobs[1]!), gzipSync('not what this id names\n'));
  const l = silo('verify', layout.siloDir);
  t.is(l.status, 1, show('silo verify (loose)', l));
  t.deepEqual(badIds(l.stdout).sort(), [...blobs].sort(), l.stdout);
});

test.serial('a tarball with a symlink to outside then a file through it: medo add --blob + medo expand write nothing outside DEST', (t) => {
  const tmp = tempDir(t, 'medo-proof-');
  const layout = makeMedoLayout(tmp);
  const outside = join(tmp, 'somewhere-outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'outside the destination\n');
  const cases: [string, Buffer][] = [
    ['write-through', Buffer.concat([
      tarEntry({ name: 'a', type: '2', linkname: outside }),
      tarEntry({ name: 'a/x' }, 'written through the link\n'),
      END,
    ])],
    ['link-through', Buffer.concat([
      tarEntry({ name: 'a', type: '2', linkname: outside }),
      tarEntry({ name: 'b', type: '1', linkname: 'a/secret' }),
      tarEntry({ name: 'b' }, 'writing to the hard link\n'),
      END,
    ])],
    ['dir-through', Buffer.concat([
      tarEntry({ name: 'a', type: '2', linkname: outside }),
      tarEntry({ name: 'a/sub/', type: '5', mode: 0o755 }),
      tarEntry({ name: 'a/sub/y' }, 'two levels through\n'),
      END,
    ])],
  ];
  for (const [name, bytes] of cases) {
    const archive = join(tmp, `${name}.tar`);
    writeFileSync(archive, bytes);
    const tmpBefore = readdirSync(tmp).sort();
    // Kept as an opaque blob, the add succeeds: the tarball is only unpacked by expand.
    const blobPtr = join(layout.medoDir, `${name}.tar.treeptr`);
    const added = medo('add', '--blob', archive, blobPtr);
    t.is(added.status, 0, show(`${name}: medo add --blob`, added));
    const dest = join(tmp, `dest-${name}`);
    const r = medo('expand', blobPtr, dest);
    t.not(r.status, 0, show(`${name}: medo expand`, r));
    t.regex(r.stderr, /^medo: .*("a\/|"b")/, `${name}: the error names the entry`);
    t.deepEqual(readdirSync(outside), ['secret'], `${name}: nothing created outside`);
    t.is(readFileSync(join(outside, 'secret'), 'utf8'), 'outside the destination\n', `${name}: nothing written outside`);
    t.deepEqual(readdirSync(tmp).filter((f) => f !== `dest-${name}`).sort(), tmpBefore.filter((f) => f !== `dest-${name}`), `${name}: nothing else appeared`);
    if (existsSync(dest)) {
      for (const [rel, p] of walk(dest)) {
        if (p.type === 'file') t.not(readFileSync(join(dest, rel), 'utf8'), 'outside the destination\n', `${name}: ${rel} is no copy of the outside file`);
      }
    }
    // Imported as a tree, the same tarball is refused outright, and no .treeptr is written.
    const treePtr = join(layout.medoDir, `${name}-tree.treeptr`);
    const asTree = medo('add', archive, treePtr);
    t.is(asTree.status, 3, show(`${name}: medo add`, asTree));
    t.false(existsSync(treePtr));
    t.deepEqual(readdirSync(outside), ['secret']);
  }
});
