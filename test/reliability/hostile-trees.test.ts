// Hostile trees and silos end to end (issue 15, part 2): each case is a wedge whose root is a good tree
// holding `good.txt` and, at `bad`, the hostile part (or a good tree with a hostile sidecar or object).
// Every verb meets every case: `medo expand` (a typed error naming the object, nothing written outside
// DEST, no setuid file, no half-written file under its name), `medo verify`, `medo reachable`, `silo send`
// and `silo gc`, and one mount of all the wedges at once, which answers EIO for the bad entry alone and
// keeps serving the rest. docs/reliability.md has the table this test keeps true.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PackWriter } from '../../lib/git/pack-writer.js';
import { writeTreeptr } from '../../lib/medo/treeptr.js';
import { hashObject } from '../../lib/oid.js';
import { Silo } from '../../lib/silo/silo.js';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { REPO_ROOT, medoArgs, startMount, type RunningMount } from '../helpers/mount-process.js';

interface Case {
  name: string;
  /** What `medo expand` must say: a typed error (exit 3) matching this, or success. */
  expand: RegExp | 'ok';
  /** What the mount answers for `bad` (readdir for a tree, read for a file): an errno code, or 'ok'. */
  mount: string;
  /** Whether `medo reachable` and `silo send` must refuse it (they read trees, not sidecars or blobs). */
  walkFails: boolean;
  /**
   * A sidecar that does not parse leaves every entry of its wedge without modes or times: the mount
   * answers EIO for all of them (never made-up attributes), and serves the other wedges.
   */
  wholeWedge?: true;
}

const CASES: Case[] = [
  { name: 'dotdot', expand: /name '\.\.'/, mount: 'EIO', walkFails: true },
  { name: 'dot', expand: /name '\.'/, mount: 'EIO', walkFails: true },
  { name: 'empty-name', expand: /empty name/, mount: 'EIO', walkFails: true },
  { name: 'slash', expand: /name contains '\/'/, mount: 'EIO', walkFails: true },
  { name: 'nul', expand: /has no mode|corrupt|truncated/, mount: 'EIO', walkFails: true },
  { name: 'duplicate', expand: /not sorted or not unique/, mount: 'EIO', walkFails: true },
  { name: 'unsorted', expand: /not sorted or not unique/, mount: 'EIO', walkFails: true },
  { name: 'blob-and-tree', expand: /duplicate entry "x"/, mount: 'EIO', walkFails: true },
  { name: 'tree-is-blob', expand: /is a blob, expected a tree/, mount: 'EIO', walkFails: true },
  { name: 'symlink-out', expand: 'ok', mount: 'ok', walkFails: false },
  { name: 'setuid', expand: 'ok', mount: 'ok', walkFails: false },
  { name: 'device-perm', expand: /"paths\.bad" has a bad permission/, mount: 'EIO', walkFails: false },
  { name: 'empty-dir-out', expand: /"empty_dirs\[0\]" is not a clean relative path/, mount: 'EIO', walkFails: false, wholeWedge: true },
  { name: 'ghost-paths', expand: 'ok', mount: 'ok', walkFails: false },
  { name: 'loose-liar', expand: /does not hash to|corrupt|hash/i, mount: 'EIO', walkFails: false },
  { name: 'idx-past-pack', expand: /past|outside|offset/i, mount: 'EIO', walkFails: false },
  // The bytes are right; only the index's CRC of their entry lies. Readers (git's too) do not use the
  // CRC: silo verify reports it.
  { name: 'crc-lie', expand: 'ok', mount: 'ok', walkFails: false },
];

let root: string;
let siloDir: string;
let medoDir: string;
/** A directory beside every DEST: nothing may appear in it. */
let outside: string;
const treeptrOf = (c: string): string => join(medoDir, `${c}.treeptr`);

function cli(program: 'medo' | 'silo', args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', `${program}.js`), ...args], { encoding: 'utf8', input, env: { ...process.env, CI: '1' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A tree object from raw entries, in the order given, with no check: how a hostile writer makes one. */
function rawTree(silo: Silo, entries: [mode: string, name: string | Buffer, oid: string][]): string {
  const bytes = Buffer.concat(entries.map(([mode, name, oid]) =>
    Buffer.concat([Buffer.from(`${mode} `), Buffer.isBuffer(name) ? name : Buffer.from(name), Buffer.of(0), Buffer.from(oid, 'hex')])));
  return silo.writeLoose('tree', bytes).oid;
}

function sidecar(silo: Silo, doc: object): string {
  return silo.writeLoose('blob', Buffer.from(JSON.stringify({ format: 'medo-meta', version: 2, ...doc }))).oid;
}

test.before(() => {
  root = sharedTempDir('medo-hostile-');
  siloDir = join(root, 'deps.silo');
  medoDir = join(root, 'deps.medo');
  outside = join(root, 'outside');
  mkdirSync(outside);
  mkdirSync(medoDir);
  writeFileSync(join(medoDir, 'SILO.json'), `${JSON.stringify({ silos: ['../deps.silo'] })}\n`);
  const silo = Silo.init(siloDir);
  const blob = (s: string): string => silo.writeLoose('blob', Buffer.from(s)).oid;
  const good = blob('good\n');
  const inner = rawTree(silo, [['100644', 'escaped', blob('escaped\n')]]);
  const wedge = (name: string, bad: [string, string], meta?: string): void => {
    const tree = rawTree(silo, [[bad[0], 'bad', bad[1]], ['100644', 'good.txt', good]]);
    writeTreeptr(treeptrOf(name), { tree, size: 5, files: 2, ...(meta === undefined ? {} : { meta }) });
  };
  const badTree = (entries: [string, string | Buffer, string][]): [string, string] => ['40000', rawTree(silo, entries)];
  wedge('dotdot', badTree([['40000', '..', inner], ['100644', 'ok', good]]));
  wedge('dot', badTree([['40000', '.', inner], ['100644', 'ok', good]]));
  wedge('empty-name', badTree([['100644', '', good], ['100644', 'ok', good]]));
  wedge('slash', badTree([['100644', 'a/b', good], ['100644', 'ok', good]]));
  wedge('nul', badTree([['100644', Buffer.from('a\0b'), good], ['100644', 'ok', good]]));
  wedge('duplicate', badTree([['100644', 'ok', good], ['100644', 'ok', good]]));
  wedge('unsorted', badTree([['100644', 'z', good], ['100644', 'a', good]]));
  wedge('blob-and-tree', badTree([['100644', 'x', good], ['40000', 'x', inner]]));
  wedge('tree-is-blob', ['40000', good]);
  wedge('symlink-out', ['120000', blob('../../../../../../../../outside')]);
  const attrs = [[0o755, 1700000000], [0o644, 1700000000]];
  wedge('setuid', ['100755', good], sidecar(silo, { attrs: [...attrs, [0o6755, 1700000000]], paths: { '': 0, bad: 2, 'good.txt': 1 } }));
  wedge('device-perm', ['100644', good], sidecar(silo, { attrs: [...attrs, [0o20644, 1700000000]], paths: { '': 0, bad: 2, 'good.txt': 1 } }));
  wedge('empty-dir-out', ['100644', good], sidecar(silo, { attrs, paths: { '': 0, bad: 1, 'good.txt': 1 }, empty_dirs: ['../escape'] }));
  wedge('ghost-paths', ['100644', good], sidecar(silo, { attrs, paths: { '': 0, bad: 1, 'good.txt': 1, 'ghost/file': 0, '../../x': 0 } }));
  // A loose object whose content does not hash to its name.
  const liar = blob('the real content\n');
  chmodSync(join(siloDir, 'objects', liar.slice(0, 2)), 0o755);
  const liarPath = join(siloDir, 'objects', liar.slice(0, 2), `${liar.slice(2)}.gz`);
  chmodSync(liarPath, 0o644);
  writeFileSync(liarPath, gzipSync(Buffer.from('blob 17\0the fake content\n')));
  wedge('loose-liar', ['100644', liar]);
  // A pack whose .idx sends one object's offset past the end of the pack.
  const farContent = Buffer.from('far away\n'.repeat(50));
  const far = hashObject('blob', farContent);
  const w = new PackWriter(join(siloDir, 'pack'));
  w.add('blob', farContent);
  w.add('blob', Buffer.from('a neighbour that stays readable\n'));
  const written = w.finish()!;
  const idx = readFileSync(written.idxPath);
  const n = idx.readUInt32BE(8 + 255 * 4);
  const ids = Array.from({ length: n }, (_, i) => idx.toString('hex', 8 + 1024 + i * 20, 8 + 1024 + i * 20 + 20));
  const at = ids.indexOf(far);
  idx.writeUInt32BE(statSync(written.packPath).size + 1000, 8 + 1024 + n * 24 + at * 4);
  chmodSync(written.idxPath, 0o644);
  writeFileSync(written.idxPath, idx);
  wedge('idx-past-pack', ['100644', far]);
  // A pack whose .idx records a wrong CRC-32 for one entry.
  const crcContent = Buffer.from('right bytes, wrong checksum\n'.repeat(20));
  const w2 = new PackWriter(join(siloDir, 'pack'));
  w2.add('blob', crcContent);
  const written2 = w2.finish()!;
  const idx2 = readFileSync(written2.idxPath);
  const n2 = idx2.readUInt32BE(8 + 255 * 4);
  idx2.writeUInt32BE(idx2.readUInt32BE(8 + 1024 + n2 * 20) ^ 0xffff, 8 + 1024 + n2 * 20);
  chmodSync(written2.idxPath, 0o644);
  writeFileSync(written2.idxPath, idx2);
  wedge('crc-lie', ['100644', hashObject('blob', crcContent)]);
  silo.close();
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

function filesBelow(dir: string): { path: string; mode: number }[] {
  const out: { path: string; mode: number }[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push({ path: p.slice(dir.length + 1), mode: statSync(p, { throwIfNoEntry: false })?.mode ?? 0 });
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

for (const c of CASES) {
  test(`${c.name}: expand, verify, reachable and send`, (t) => {
    const dest = join(root, 'dest', c.name);
    const r = cli('medo', ['expand', treeptrOf(c.name), dest]);
    if (c.expand === 'ok') {
      t.is(r.status, 0, r.out);
      t.is(readFileSync(join(dest, 'good.txt'), 'utf8'), 'good\n');
      t.is(cli('medo', ['verify', treeptrOf(c.name), dest]).status, 0);
    } else {
      t.is(r.status, 3, r.out);
      t.regex(r.out, c.expand);
      t.regex(r.out, /[0-9a-f]{40}/, 'the error names the object');
      // Nothing under DEST that the tree does not have, and nothing named "bad" half-written.
      const left = existsSync(dest) ? filesBelow(dest).map((f) => f.path) : [];
      t.true(left.every((p) => p === 'good.txt'), JSON.stringify(left));
      // verify of a directory holding the good part finds the same problem.
      mkdirSync(dest, { recursive: true });
      writeFileSync(join(dest, 'good.txt'), 'good\n');
      const v = cli('medo', ['verify', treeptrOf(c.name), dest]);
      t.not(v.status, 0, v.out);
    }
    if (existsSync(dest)) t.true(filesBelow(dest).every((f) => (f.mode & 0o6000) === 0 || (f.mode & 0o170000) === 0o040000), 'no setuid or setgid file');
    t.deepEqual(readdirSync(outside), [], 'nothing written outside DEST');
    t.false(existsSync(join(root, 'dest', 'escape')) || existsSync(join(root, 'escape')));
    const reach = cli('medo', ['reachable', treeptrOf(c.name)]);
    const send = cli('silo', ['send', siloDir, join(root, 'sent', c.name), treeptrOf(c.name)]);
    if (c.walkFails) {
      t.is(reach.status, 3, reach.out);
      t.regex(reach.out, new RegExp(`${c.name}\\.treeptr`), 'reachable names the .treeptr');
      t.is(send.status, 3, send.out);
    } else if (c.name === 'loose-liar' || c.name === 'idx-past-pack') {
      // The walk needs only trees; the bad blob is caught where its bytes are read: by the receiver.
      t.is(reach.status, 0, reach.out);
      t.is(send.status, 3, send.out);
      t.regex(send.out, /[0-9a-f]{40}/);
    } else {
      t.is(reach.status, 0, reach.out);
      t.is(send.status, 0, send.out);
    }
  });
}

test('the setuid case: expand writes the file without its set-id bits', (t) => {
  const dest = join(root, 'dest-setuid');
  t.is(cli('medo', ['expand', treeptrOf('setuid'), dest]).status, 0);
  t.is(statSync(join(dest, 'bad')).mode & 0o7777, 0o755);
});

test('silo verify names the lying loose object, the bad offset and the CRC that lies', (t) => {
  const r = cli('silo', ['verify', siloDir]);
  t.not(r.status, 0, r.out);
  t.regex(r.out, /loose|hash/i);
  t.regex(r.out, /pack/);
  t.regex(r.out, /CRC32 of the packed entry does not match the index/);
});

test('an old copy in DEST whose symlink stands where the tree has a directory: replaced, never written through', (t) => {
  // The tree of the dotdot case's inner directory, at "bad" of a good wedge: bad/escaped.
  const silo = Silo.open(siloDir);
  const good = silo.writeLoose('blob', Buffer.from('good\n')).oid;
  const inner = rawTree(silo, [['100644', 'escaped', silo.writeLoose('blob', Buffer.from('escaped\n')).oid]]);
  const tree = rawTree(silo, [['40000', 'bad', inner], ['100644', 'good.txt', good]]);
  silo.close();
  const ptr = join(medoDir, 'sub', 'through-link.treeptr');
  mkdirSync(join(medoDir, 'sub'), { recursive: true });
  writeTreeptr(ptr, { tree, size: 13, files: 2 });
  const dest = join(root, 'dest-old-copy');
  mkdirSync(dest, { recursive: true });
  symlinkSync(outside, join(dest, 'bad'));
  symlinkSync(join(outside, 'good.txt'), join(dest, 'good.txt'));
  const r = cli('medo', ['expand', ptr, dest]);
  t.is(r.status, 0, r.out);
  t.deepEqual(readdirSync(outside), [], 'nothing written through the links');
  t.true(lstatSync(join(dest, 'bad')).isDirectory());
  t.is(readFileSync(join(dest, 'bad', 'escaped'), 'utf8'), 'escaped\n');
  t.is(readFileSync(join(dest, 'good.txt'), 'utf8'), 'good\n');
  t.is(cli('medo', ['verify', ptr, dest]).status, 0);
});

test('silo gc removes the hostile objects no kept tree needs, and the silo still reads', (t) => {
  // A copy: the other tests read the hostile silo as it is.
  const copy = join(root, 'gc.silo');
  spawnSync('cp', ['-a', siloDir, copy]);
  const keep = cli('medo', ['reachable', treeptrOf('symlink-out'), treeptrOf('setuid')]);
  t.is(keep.status, 0, keep.out);
  const r = cli('silo', ['gc', '--prune', '--prune-expire', 'now', copy, '--keep', '-'], keep.out);
  t.is(r.status, 0, r.out);
  t.regex(r.out, /pruned: \d+ objects removed/);
});

test('one mount of every wedge: EIO for the bad entry only, the rest served, mounted nosuid,nodev', async (t) => {
  const mnt = join(root, 'mnt');
  let m: RunningMount | undefined;
  try {
    m = await startMount(medoDir, mnt);
    const opts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mnt)!.split(' ')[5]!;
    t.true(opts.split(',').includes('nosuid') && opts.split(',').includes('nodev'), opts);
    for (const c of CASES) {
      const w = join(mnt, c.name);
      const bad = join(w, 'bad');
      const got = await (async (): Promise<string> => {
        try {
          const st = await lstat(bad);
          if (st.isDirectory()) await readdir(bad);
          else if (st.isSymbolicLink()) await readlink(bad);
          else await readFile(bad);
          if (c.name === 'setuid') t.is(st.mode & 0o7777, 0o755, 'no set-id bits on the mount');
          return 'ok';
        } catch (e) {
          return (e as NodeJS.ErrnoException).code ?? String(e);
        }
      })();
      t.is(got, c.mount, `${c.name}/bad`);
      // The good file of every wedge reads, after the bad one was touched.
      const good = await readFile(join(w, 'good.txt'), 'utf8').catch((e: NodeJS.ErrnoException) => e.code);
      t.is(good, c.wholeWedge ? 'EIO' : 'good\n', `${c.name}/good.txt`);
    }
    t.is(m.child.exitCode, null, 'the server is still up');
    t.deepEqual(readdirSync(outside), []);
  } finally {
    await m?.stop();
  }
});
