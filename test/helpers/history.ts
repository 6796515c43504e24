// A generated history that exercises the object layer: text that deltas well (one set of files edited
// over many commits, so packs get deep delta chains, and files over 64 KiB so deltas use maximal copy
// instructions), binary files, empty files, executables, symlinks, nested directories, names with spaces,
// unicode and quotes, names that test git's tree order, an annotated tag and unreachable loose blobs.
// Content comes from a seeded generator so every run builds the same objects.
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git, initRepo } from './git-fixture.js';

/** mulberry32: small, seedable, good enough to make content that neither compresses nor repeats. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const WORDS = ('pack index tree blob commit tag offset base chain zlib inflate deflate silo mount object delta ' +
  'fan-out checksum trailer header entry mode name sort order alternate bare loose cache page').split(' ');

function textLine(r: () => number): string {
  const n = 3 + Math.floor(r() * 10);
  return Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
}

/** A text file that changes a little at each version: a few lines edited, inserted and deleted. */
class EvolvingText {
  private readonly lines: string[];
  constructor(private readonly r: () => number, lineCount: number) {
    this.lines = Array.from({ length: lineCount }, () => textLine(r));
  }
  edit(): void {
    const at = () => Math.floor(this.r() * this.lines.length);
    for (let k = 0; k < 3; k++) this.lines[at()] = textLine(this.r);
    this.lines.splice(at(), 0, textLine(this.r), textLine(this.r));
    this.lines.splice(at(), 1);
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A binary file that changes a little at each version. */
class EvolvingBinary {
  private data: Buffer;
  constructor(private readonly r: () => number, size: number) {
    this.data = randomBytes(r, size);
  }
  edit(): void {
    for (let k = 0; k < 3; k++) randomBytes(this.r, 16).copy(this.data, Math.floor(this.r() * (this.data.length - 16)));
    const at = Math.floor(this.r() * this.data.length);
    this.data = Buffer.concat([this.data.subarray(0, at), randomBytes(this.r, 100), this.data.subarray(at)]);
  }
  bytes(): Buffer {
    return this.data;
  }
}

function put(root: string, path: string, content: string | Buffer, mode = 0o644): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

/** Names that need quoting or care; used both in the work tree and by the tree and quoting tests. */
export const AWKWARD_NAMES = ['file with spaces.txt', 'café – ünïcödé 日本.txt', 'say "hi", it\'s.txt', 'back\\slash.txt'];

/**
 * Creates a repository at `dir` (a work tree) with `versions` commits, an annotated tag and a few
 * unreachable loose blobs. Everything stays loose: callers pack it the way their test needs.
 */
export function makeHistory(dir: string, versions = 12): void {
  initRepo(dir);
  const r = random(0x5eed);
  const readme = new EvolvingText(r, 150);
  const module = new EvolvingText(r, 1500);
  const big = new EvolvingText(r, 6000); // ~250 KB: several 64 KiB pages, copies of 0x10000
  const awkward = AWKWARD_NAMES.map(() => new EvolvingText(r, 60));
  const binary = new EvolvingBinary(r, 150_000);
  for (let v = 0; v < versions; v++) {
    if (v > 0) {
      for (const f of [readme, module, big, binary]) f.edit();
      if (v % 2 === 0) for (const f of awkward) f.edit();
    }
    put(dir, 'README.md', readme.toString());
    put(dir, 'src/lib/deep/nested/module.txt', module.toString());
    put(dir, 'src/big.txt', big.toString());
    AWKWARD_NAMES.forEach((name, i) => put(dir, `docs/${name}`, awkward[i]!.toString()));
    put(dir, 'data/blob.bin', binary.bytes());
    put(dir, `data/noise-${v}.bin`, randomBytes(r, 2000 + v * 300));
    put(dir, 'empty', '');
    put(dir, 'src/empty-too/.keep', '');
    put(dir, 'bin/tool.sh', `#!/bin/sh\necho version ${Math.floor(v / 3)}\n`, 0o755);
    // git's tree order compares a directory as if its name ended in '/': "a" < "a-" < "a.b" < "a/" < "a0".
    for (const name of ['a-', 'a.b', 'a0', 'a/inside']) put(dir, `order/${name}`, `${name} ${v % 4}\n`);
    if (v === 0) {
      symlinkSync('README.md', join(dir, 'link-to-readme'));
      symlinkSync('does/not/exist', join(dir, 'dangling-link'));
    }
    if (v % 2 === 0) put(dir, 'comes-and-goes/file.txt', `version ${v}\n`);
    else rmSync(join(dir, 'comes-and-goes'), { recursive: true, force: true });
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', `version ${v}\n\nGenerated by the medo test fixture.`]);
    if (v === Math.floor(versions / 2)) git(dir, ['tag', '-a', 'v-middle', '-m', 'an annotated tag object']);
  }
  for (const content of [Buffer.from('unreachable loose blob\n'), randomBytes(r, 5000)]) {
    git(dir, ['hash-object', '-w', '--stdin'], content);
  }
}

/**
 * A small repository for tests that mutate packs byte by byte: three versions of a text file (so packs
 * hold deltas), a binary file, an empty file and a tree or two; a dozen objects in all.
 */
export function makeSmallRepo(dir: string): void {
  initRepo(dir);
  const r = random(7);
  const text = new EvolvingText(r, 120);
  for (let v = 0; v < 3; v++) {
    if (v > 0) text.edit();
    put(dir, 'notes.txt', text.toString());
    put(dir, 'sub/data.bin', randomBytes(r, 3000));
    put(dir, 'empty', '');
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', `v${v}`]);
  }
}
