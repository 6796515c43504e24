// Seed corpora for the libFuzzer targets, made from real git data at run time (never committed):
// `npx tsx fuzz/native/make-seeds.mts OUT_DIR` writes OUT_DIR/{apply_delta,create_delta,inflate}/.
//
// A small repository holds three versions of some of this project's own sources and of licence texts,
// edited the way files are (lines inserted, deleted, changed, a block moved), and is repacked with
// `git repack -a -d -f --depth=10` so that most entries are deltas. Each entry's zlib stream becomes an
// inflate seed; each delta, with its base as git names it, an apply_delta seed; each base and result
// pair a create_delta seed. Loose objects add zlib streams written by git's other path.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { parseEntryHeader } from '../../lib/git/pack-entry.js';
import { git, gitObjects, initRepo, verifyPack } from '../../test/helpers/git-fixture.js';

/** libFuzzer's -max_len in run.sh: a longer seed would only be cut. */
const MAX_SEED = 65536;

const project = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = process.argv[2];
if (out === undefined) throw new Error('usage: make-seeds.mts OUT_DIR');

/** The files tracked: sources that change the way code does, and prose. */
function sources(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of ['lib/git', 'lib']) {
    for (const name of readdirSync(join(project, dir)).filter((n) => n.endsWith('.ts')).sort().slice(0, 10)) {
      files.set(`${dir.replace('/', '-')}-${name}`, readFileSync(join(project, dir, name), 'utf8'));
    }
  }
  for (const name of ['Apache-2.0', 'GPL-2']) {
    const path = join('/usr/share/common-licenses', name);
    if (existsSync(path)) files.set(name, readFileSync(path, 'utf8'));
  }
  return files;
}

/** The next version of a file: a line inserted every 37, one dropped every 53, words changed every 11. */
function edit(text: string, version: number): string {
  const lines = text.split('\n');
  const next: string[] = [];
  lines.forEach((line, i) => {
    if ((i + version) % 53 === 0) return;
    next.push(i % 11 === version ? line.replace(/\b(the|const|a)\b/, `v${version}`) : line);
    if ((i + version) % 37 === 0) next.push(`// version ${version}: line ${i} was here`);
  });
  // A block moved to the end, as a reordering does.
  const cut = Math.floor(next.length / 3);
  const block = next.splice(cut, Math.min(20, Math.floor(next.length / 10)));
  return [...next, ...block].join('\n');
}

function makeRepo(dir: string): void {
  initRepo(dir);
  const files = sources();
  for (let version = 0; version < 3; version++) {
    for (const [name, text] of files) {
      const body = version === 0 ? text : edit(text, version);
      files.set(name, body);
      writeFileSync(join(dir, name), body);
    }
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', `version ${version}`]);
  }
}

let written = 0;
function seed(kind: string, name: string, ...parts: Buffer[]): void {
  const data = Buffer.concat(parts);
  if (data.length > MAX_SEED) return;
  writeFileSync(join(out!, kind, name), data);
  written++;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** The zlib streams of git's loose objects, as written before the repack. */
function looseSeeds(repo: string): void {
  const objects = join(repo, '.git', 'objects');
  let n = 0;
  for (const dir of readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort()) {
    for (const file of readdirSync(join(objects, dir)).sort()) {
      if (n++ >= 40) return;
      const stream = readFileSync(join(objects, dir, file));
      seed('inflate', `loose-${dir}${file}`, Buffer.of(0), u32(inflateSync(stream).length), stream);
    }
  }
}

function packSeeds(repo: string): void {
  git(repo, ['repack', '-a', '-d', '-f', '-q', '--depth=10', '--window=50']);
  const packDir = join(repo, '.git', 'objects', 'pack');
  const idx = readdirSync(packDir).find((n) => n.endsWith('.idx'));
  if (idx === undefined) throw new Error('git repack made no pack');
  const pack = readFileSync(join(packDir, idx.replace(/\.idx$/, '.pack')));
  const contents = new Map(gitObjects(repo).map((o) => [o.oid, o.content]));
  let deltas = 0;
  for (const [oid, e] of verifyPack(repo, join(packDir, idx)).entries) {
    const h = parseEntryHeader(pack.subarray(e.offset, e.offset + 32), e.offset, idx);
    const stream = pack.subarray(e.offset + h.headerLength, e.offset + e.sizeInPack);
    // The stream as the reader sees it, followed by the next entry's first bytes.
    const tail = pack.subarray(e.offset + e.sizeInPack, e.offset + e.sizeInPack + 16);
    seed('inflate', `pack-${oid}`, Buffer.of(0), u32(e.size), stream, tail);
    const content = contents.get(oid)!;
    if (e.base === undefined) {
      // Whole objects also seed mode 2 (zlib's own deflate, level 6) and mode 1 (sizes near the truth).
      if (e.type === 'blob') seed('inflate', `deflate-${oid}`, Buffer.of(2 | (6 << 2)), u32(e.sizeInPack), content);
      else seed('inflate', `near-${oid}`, Buffer.of(1 | (1 << 2)), u32(0), stream);
      continue;
    }
    const base = contents.get(e.base)!;
    seed('apply_delta', `delta-${oid}`, u32(base.length), base, inflateSync(stream));
    seed('create_delta', `pair-${oid}`, u32(base.length), base, content);
    // The same pair indexed with the fewest buckets, and tried at a smaller room.
    seed('create_delta', `pair-few-${oid}`, u32(base.length + 0x81 * 2 ** 24), base, content);
    deltas++;
  }
  if (deltas === 0) throw new Error('the repack made no deltas');
}

const work = mkdtempSync(join(tmpdir(), 'medo-fuzz-seeds-'));
try {
  for (const kind of ['apply_delta', 'create_delta', 'inflate']) mkdirSync(join(out, kind), { recursive: true });
  const repo = join(work, 'repo');
  makeRepo(repo);
  looseSeeds(repo);
  packSeeds(repo);
  // Kept inputs of past findings (fuzz/native/regressions/<target>/) are seeds too.
  const kept = join(project, 'fuzz', 'native', 'regressions');
  for (const kind of existsSync(kept) ? readdirSync(kept) : []) {
    mkdirSync(join(out, kind), { recursive: true });
    for (const name of readdirSync(join(kept, kind))) copyFileSync(join(kept, kind, name), join(out, kind, `regression-${name}`));
  }
  console.log(`make-seeds: ${written} seeds in ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
