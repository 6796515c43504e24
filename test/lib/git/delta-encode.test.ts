import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import test from 'ava';
import { applyDelta, deltaSizes } from '../../../lib/git/delta.js';
import { DeltaIndex, createDelta, createDeltaJs, deltaSampleJs, fillIndexJs } from '../../../lib/git/delta-encode.js';
import { native } from '../../../lib/native.js';

// The delta encoder: every delta it writes must rebuild the target exactly (applyDelta is the decoder the
// reader uses, and git's own decoder checks it again in the pack tests), the native and JavaScript
// encoders must write the same bytes, and a delta that would not be smaller than maxSize is refused.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomBytes(n: number, random: () => number, alphabet = 256): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * alphabet);
  return b;
}

/** `base` edited: some spans replaced, inserted or deleted, so a good delta is much smaller than it. */
function edit(base: Buffer, random: () => number, edits: number): Buffer {
  let out = Buffer.from(base);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(random() * (out.length + 1));
    const r = random();
    const span = randomBytes(1 + Math.floor(random() * 200), random);
    if (r < 0.33) out = Buffer.concat([out.subarray(0, at), span, out.subarray(at)]);
    else if (r < 0.66) out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + span.length))]);
    else out = Buffer.concat([out.subarray(0, at), span, out.subarray(Math.min(out.length, at + span.length))]);
  }
  return out;
}

function roundTrip(t: import('ava').ExecutionContext, base: Buffer, target: Buffer, label: string): Buffer | undefined {
  const index = new DeltaIndex(base);
  const delta = createDelta(index, target, target.length + 64);
  if (delta === undefined) {
    t.fail(`${label}: no delta within target size + 64`);
    return undefined;
  }
  const sizes = deltaSizes(delta);
  t.is(sizes.baseSize, base.length, `${label}: base size`);
  t.is(sizes.resultSize, target.length, `${label}: result size`);
  t.true(applyDelta(base, delta, target.length).equals(target), `${label}: applyDelta gives the target back`);
  if (native?.createDeltaInto !== undefined) {
    const js = createDelta(new DeltaIndex(base), target, target.length + 64, false);
    t.true(js !== undefined && js.equals(delta), `${label}: the JavaScript encoder writes the native encoder's bytes`);
  }
  return delta;
}

test('native and JavaScript indexes are identical', (t) => {
  const random = rng(7);
  for (const n of [0, 15, 16, 17, 1000, 70_000]) {
    for (const alphabet of [256, 2]) {
      const base = randomBytes(n, random, alphabet);
      const a = new DeltaIndex(base).table;
      const b = new Int32Array(a.length);
      b[0] = a[0]!;
      fillIndexJs(base, b);
      t.deepEqual(Buffer.from(b.buffer), Buffer.from(a.buffer), `n=${n} alphabet=${alphabet}`);
    }
  }
});

test('edited random data: round trip, identical encoders, and a small delta', (t) => {
  const random = rng(42);
  for (let k = 0; k < 60; k++) {
    const base = randomBytes(Math.floor(random() * 40_000), random, k % 3 === 0 ? 4 : 256);
    const target = edit(base, random, 1 + Math.floor(random() * 8));
    const delta = roundTrip(t, base, target, `case ${k}`);
    if (delta !== undefined && base.length > 10_000 && k % 3 !== 0) {
      t.true(delta.length < target.length / 4, `case ${k}: delta ${delta.length} of a ${target.length}-byte target`);
    }
  }
});

test('edge shapes: empty, tiny, identical, unrelated, repetitive, longer than a copy', (t) => {
  const random = rng(3);
  const big = randomBytes(300_000, random);
  const cases: [string, Buffer, Buffer][] = [
    ['empty both', Buffer.alloc(0), Buffer.alloc(0)],
    ['empty base', Buffer.alloc(0), randomBytes(500, random)],
    ['empty target', randomBytes(500, random), Buffer.alloc(0)],
    ['tiny', Buffer.from('abc'), Buffer.from('abcd')],
    ['identical', big, big],
    ['unrelated', randomBytes(5000, random), randomBytes(5000, random)],
    ['zeros', Buffer.alloc(200_000), Buffer.concat([Buffer.alloc(100_000), Buffer.from('x'), Buffer.alloc(150_000)])],
    ['shifted by one', big, Buffer.concat([Buffer.from('!'), big])],
    ['prefix kept', big, big.subarray(0, 123_457)],
    ['appended', big, Buffer.concat([big, randomBytes(1000, random)])],
  ];
  for (const [label, base, target] of cases) roundTrip(t, base, target, label);
  const same = createDelta(new DeltaIndex(big), big, big.length)!;
  t.true(same.length < 40, `an identical 300 kB target is a few copy instructions (${same.length} bytes)`);
});

test('maxSize: a delta that does not fit is refused by both encoders', (t) => {
  const random = rng(9);
  const base = randomBytes(20_000, random);
  const target = randomBytes(20_000, random);
  const index = new DeltaIndex(base);
  t.is(createDelta(index, target, 1000), undefined);
  t.is(createDelta(index, target, 1000, false), undefined);
  t.is(createDelta(index, target, 0), undefined);
  const close = edit(base, random, 2);
  const d = createDelta(index, close, close.length)!;
  t.truthy(d);
  t.is(createDelta(index, close, d.length), undefined, 'maxSize is exclusive');
  // The encoders give up early when pending inserts alone would overflow, so only a generous maxSize is
  // sure to give the same delta again.
  t.true(createDelta(index, close, close.length + 64, false)!.equals(d));
  const out = Buffer.alloc(d.length - 1);
  t.is(createDeltaJs(index.table, base, close, out), -1);
});

test('the sample before encoding: both twins count alike, unrelated pairs score nothing, and no pair whose delta fits is refused', (t) => {
  // createDelta samples a target of 4 KiB or more before encoding it; the pairs here are encoded with and
  // without that sample (createDeltaJs into a buffer of maxSize bytes), over the size limits delta
  // search uses: half the target, and tighter ones as after a first delta was found.
  const random = rng(11);
  const pairs: [Buffer, Buffer][] = [];
  for (let k = 0; k < 40; k++) {
    const base = randomBytes(4096 + Math.floor(random() * 60_000), random, k % 4 === 0 ? 4 : 256);
    pairs.push([base, edit(base, random, 1 + Math.floor(random() * 30))]);
    pairs.push([base, randomBytes(4096 + Math.floor(random() * 60_000), random, k % 4 === 0 ? 4 : 256)]);
  }
  const repo = process.cwd();
  const old = execFileSync('git', ['rev-list', '--max-count=1', 'HEAD~20'], { cwd: repo, encoding: 'utf8' }).trim();
  for (const path of ['lib/git/delta-encode.ts', 'lib/silo/delta-search.ts', 'lib/silo/repack.ts', 'lib/medo/expand.ts']) {
    try {
      const before = execFileSync('git', ['show', `${old}:${path}`], { cwd: repo, maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] });
      pairs.push([before, readFileSync(join(repo, path))], [readFileSync(join(repo, 'lib/silo/gc.ts')), readFileSync(join(repo, path))]);
    } catch {
      // not there 20 commits ago
    }
  }
  for (const [i, [base, target]] of pairs.entries()) {
    const index = new DeltaIndex(base);
    if (native?.deltaSample !== undefined) {
      t.is(native.deltaSample(index.table, base, target, 32, 32), deltaSampleJs(index.table, base, target, 32, 32), `pair ${i}: the twins count alike`);
    }
    for (const maxSize of [Math.floor(target.length / 2), Math.floor(target.length / 8), Math.floor(target.length / 64)]) {
      const room = Buffer.alloc(maxSize - 1);
      const n = createDeltaJs(index.table, base, target, room);
      const sampled = createDelta(index, target, maxSize);
      if (n >= 0) t.true(sampled !== undefined && sampled.equals(room.subarray(0, n)), `pair ${i}, maxSize ${maxSize}: a delta that fits is made`);
    }
    if (i % 2 === 1 && i < 80) t.is(deltaSampleJs(index.table, base, target, 32, 32), 0, `pair ${i}: unrelated random data has no window of the base`);
  }
});

test('real files: consecutive versions of this repository\'s sources delta well', (t) => {
  // Every source file against its version a few commits back, from git itself.
  const repo = process.cwd();
  const head = execFileSync('git', ['rev-list', '--max-count=1', 'HEAD~20'], { cwd: repo, encoding: 'utf8' }).trim();
  let tried = 0;
  let whole = 0;
  let deltas = 0;
  for (const dir of ['lib/git', 'lib/silo', 'lib/medo']) {
    for (const name of readdirSync(join(repo, dir))) {
      const path = `${dir}/${name}`;
      if (!statSync(join(repo, path)).isFile()) continue;
      let old: Buffer;
      try {
        old = execFileSync('git', ['show', `${head}:${path}`], { cwd: repo, maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        continue;
      }
      const now = readFileSync(join(repo, path));
      const delta = roundTrip(t, old, now, path);
      tried++;
      whole += now.length;
      deltas += delta?.length ?? now.length;
    }
  }
  t.true(tried > 10, `${tried} files tried`);
  t.true(deltas < whole / 3, `deltas ${deltas} bytes for ${whole} bytes of files`);
});

test('real text against git\'s own encoder: deflated, our deltas are no larger than git\'s', (t) => {
  // TypeScript's declaration files (as npm ci installed them), each edited as a new release would be: a
  // few lines rewritten here and there. git packs each pair (pack-objects, its diff-delta.c) and picks the
  // direction; ours is made in the same direction and deflated as a pack entry would be.
  const random = rng(3);
  const dir = join(process.cwd(), 'node_modules', 'typescript', 'lib');
  const names = readdirSync(dir).filter((n) => n.endsWith('.d.ts') && statSync(join(dir, n)).size > 20_000).sort().slice(0, 8);
  const repo = join(mkdtempSync(join(tmpdir(), 'medo-delta-')), 'g.git');
  t.teardown(() => rmSync(dirname(repo), { recursive: true, force: true }));
  execFileSync('git', ['init', '-q', '--bare', repo]);
  const put = (b: Buffer): string => execFileSync('git', ['--git-dir', repo, 'hash-object', '-w', '--stdin'], { input: b, encoding: 'utf8' }).trim();
  let ours = 0;
  let theirs = 0;
  for (const name of names) {
    const a = readFileSync(join(dir, name));
    const lines = a.toString('latin1').split('\n');
    for (let k = 0; k < 12; k++) {
      const at = Math.floor(random() * lines.length);
      lines[at] = lines[at]!.replace(/[a-z]+/g, (w) => (random() < 0.3 ? w.toUpperCase() : w));
    }
    const b = Buffer.from(lines.join('\n'), 'latin1');
    const [ha, hb] = [put(a), put(b)];
    const pack = execFileSync('git', ['--git-dir', repo, 'pack-objects', '-q', '--window=10', '--no-reuse-delta', '--delta-base-offset', join(repo, name)],
      { input: `${ha} ${name}\n${hb} ${name}\n`, encoding: 'utf8' }).trim();
    const rows = execFileSync('git', ['verify-pack', '-v', join(repo, `${name}-${pack}.idx`)], { encoding: 'utf8' }).split('\n')
      .map((l) => l.split(/\s+/)).filter((f) => f.length === 7 && /^[0-9a-f]{40}$/.test(f[0]!));
    t.is(rows.length, 1, `${name}: git stores one of the two as a delta`);
    const [target, base] = rows[0]![0] === ha ? [a, b] : [b, a];
    const delta = createDelta(new DeltaIndex(base), target, target.length);
    t.true(delta !== undefined && applyDelta(base, delta, target.length).equals(target), `${name}: our delta rebuilds it`);
    ours += deflateSync(delta!).length;
    // git's entry: a two- or three-byte type and size header, the distance back (two bytes here), zlib.
    theirs += Number(rows[0]![3]) - 5;
  }
  t.true(ours <= theirs, `our deltas deflate to ${ours} bytes, git's to about ${theirs}`);
});
