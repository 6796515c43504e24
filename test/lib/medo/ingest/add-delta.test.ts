// medo add with a delta base: a new version's changed files go into the pack as REF_DELTAs against the
// same paths of the earlier version, which git reads (fsck, cat-file) with both packs in place; the
// base is found beside OUT by itself, named with --delta-base, or refused; chains stay within the limit.
import test, { type ExecutionContext } from 'ava';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { medoAdd } from '../../../../lib/medo/ingest/add.js';
import { naturalCompare } from '../../../../lib/medo/ingest/delta-base.js';
import { readTreeptr } from '../../../../lib/medo/treeptr.js';
import { deltaDepth } from '../../../../lib/silo/delta-depth.js';
import { repack } from '../../../../lib/silo/repack.js';
import { Silo } from '../../../../lib/silo/silo.js';
import { verifySilo } from '../../../../lib/silo/verify-silo.js';
import { git, gitLines, initRepo, tempDir, verifyPack } from '../../../helpers/git-fixture.js';
import { makeMedoLayout, type MedoLayout } from '../../../helpers/medo-fixture.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A directory of real text (TypeScript's declaration files), each file edited per version. */
function writeVersion(dir: string, n: number): void {
  const lib = join(process.cwd(), 'node_modules', 'typescript', 'lib');
  const random = rng(100 + n);
  mkdirSync(join(dir, 'lib'), { recursive: true });
  for (const name of readdirSync(lib).filter((f) => f.startsWith('lib.es20') && f.endsWith('.d.ts')).sort().slice(0, 40)) {
    const lines = readFileSync(join(lib, name), 'latin1').split('\n');
    for (let k = 0; k < n; k++) lines.splice(Math.floor(random() * lines.length), 0, `// version ${n} edit ${k}`);
    writeFileSync(join(dir, 'lib', name), lines.join('\n'), 'latin1');
  }
  writeFileSync(join(dir, 'VERSION'), `${n}\n`);
}

function packBytes(silo: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of readdirSync(join(silo, 'pack')).filter((f) => f.endsWith('.pack'))) out.set(n, statSync(join(silo, 'pack', n)).size);
  return out;
}

/**
 * git judges the silo: a repository gets its self-contained packs as they are, and its thin packs (REF_DELTAs
 * to bases in other packs, as git's fetch sends them) through `git index-pack --fix-thin`, which resolves
 * every delta against the bases it has; then fsck passes and every file of `src` comes back.
 */
function gitReads(t: ExecutionContext, layout: MedoLayout, tree: string, src: string, thin: readonly string[] = []): void {
  const repo = initRepo(join(layout.root, `judge-${tree.slice(0, 8)}-${readdirSync(layout.root).length}.git`), { bare: true });
  for (const n of readdirSync(join(layout.siloDir, 'pack')).filter((f) => /\.(pack|idx)$/.test(f))) {
    if (thin.some((p) => n.startsWith(p))) continue;
    copyFileSync(join(layout.siloDir, 'pack', n), join(repo, 'objects', 'pack', n));
  }
  for (const p of thin) git(repo, ['index-pack', '--stdin', '--fix-thin'], readFileSync(join(layout.siloDir, 'pack', `${p}.pack`)));
  git(repo, ['fsck', '--full', '--no-dangling']);
  const bad: string[] = [];
  for (const line of gitLines(repo, ['ls-tree', '-r', tree])) {
    const [info, path] = line.split('\t') as [string, string];
    const oid = info.split(' ')[2]!;
    if (!git(repo, ['cat-file', 'blob', oid]).equals(readFileSync(join(src, path)))) bad.push(path);
  }
  t.deepEqual(bad, [], 'git cat-file gives every file back');
}

test('the next version beside the first is stored as deltas against it, and git reads both', async (t) => {
  const layout = makeMedoLayout(tempDir(t));
  const v1 = join(layout.root, 'v1');
  const v2 = join(layout.root, 'v2');
  writeVersion(v1, 1);
  writeVersion(v2, 2);
  const out1 = join(layout.medoDir, 'lib', 'ts-1.9.treeptr');
  const out2 = join(layout.medoDir, 'lib', 'ts-1.10.treeptr');
  const r1 = await medoAdd({ src: v1, out: out1, threads: 0 });
  t.is(r1.deltaBase, undefined, 'nothing to deltify against yet');
  const before = packBytes(layout.siloDir);
  const r2 = await medoAdd({ src: v2, out: out2, threads: 2 });
  t.is(r2.deltaBase, out1, '1.9 comes before 1.10 in natural order');
  t.true(r2.deltas! >= 40, `${r2.deltas} deltas`);
  const added = [...packBytes(layout.siloDir)].filter(([n]) => !before.has(n)).reduce((s, [, b]) => s + b, 0);
  const first = [...before.values()].reduce((s, b) => s + b, 0);
  t.true(added < first / 6, `second version took ${added} bytes, the first ${first}`);
  t.deepEqual(verifySilo(layout.siloDir).problems, []);
  const thin = r2.pack!.split('/').pop()!.replace(/\.pack$/, '');
  gitReads(t, layout, r2.tree!, v2, [thin]);
  gitReads(t, layout, r1.tree!, v1, [thin]);
  const silo = Silo.open(layout.siloDir);
  try {
    const bad = readdirSync(join(v2, 'lib')).filter((n) => !silo.read(gitLines(layout.root, ['hash-object', join(v2, 'lib', n)])[0]!)?.content
      .equals(readFileSync(join(v2, 'lib', n))));
    t.deepEqual(bad, [], 'medo reads every file of the thin pack back');
  } finally {
    silo.close();
  }

  // Repack makes it one self-contained pack that verify-pack accepts alone.
  const rp = await repack(layout.siloDir, { threads: 0 });
  t.true(rp.deltas >= 40);
  t.notThrows(() => verifyPack(layout.root, rp.newPack!.replace(/\.pack$/, '.idx')));
  gitReads(t, layout, r2.tree!, v2);
});

test('--delta-base names the base; --no-delta-base (false) stores whole; bad bases are refused', async (t) => {
  const layout = makeMedoLayout(tempDir(t));
  const v1 = join(layout.root, 'v1');
  const v3 = join(layout.root, 'v3');
  writeVersion(v1, 1);
  writeVersion(v3, 3);
  const base = join(layout.medoDir, 'old', 'one.treeptr');
  await medoAdd({ src: v1, out: base, threads: 0 });
  const named = await medoAdd({ src: v3, out: join(layout.medoDir, 'new', 'three.treeptr'), threads: 0, deltaBase: base });
  t.is(named.deltaBase, base);
  t.true(named.deltas! > 0);

  const layout2 = makeMedoLayout(tempDir(t));
  await medoAdd({ src: v1, out: join(layout2.medoDir, 'a-1.treeptr'), threads: 0 });
  const whole = await medoAdd({ src: v3, out: join(layout2.medoDir, 'a-2.treeptr'), threads: 0, deltaBase: false });
  t.is(whole.deltaBase, undefined);
  const idx = readdirSync(join(layout2.siloDir, 'pack')).filter((f) => f.endsWith('.idx'));
  for (const i of idx) {
    t.true([...verifyPack(layout2.root, join(layout2.siloDir, 'pack', i)).entries.values()].every((e) => e.base === undefined));
  }

  // A base whose tree the silo lacks, and a blob treeptr, are refused before anything is written.
  const foreign = join(layout2.medoDir, 'foreign.treeptr');
  writeFileSync(foreign, readFileSync(base, 'utf8').replace(/"tree": *"[0-9a-f]{40}"/, `"tree": "${'ab'.repeat(20)}"`));
  const packsBefore = readdirSync(join(layout2.siloDir, 'pack')).sort();
  const e1 = await t.throwsAsync(medoAdd({ src: v3, out: join(layout2.medoDir, 'b.treeptr'), threads: 0, deltaBase: foreign }));
  t.is((e1 as { code?: string }).code, 'ERR_OBJECT_MISSING');
  t.regex(e1!.message, /foreign\.treeptr/);
  const blobPtr = join(layout2.medoDir, 'blob.treeptr');
  await medoAdd({ src: join(v1, 'VERSION'), out: blobPtr, blob: true });
  const e2 = await t.throwsAsync(medoAdd({ src: v3, out: join(layout2.medoDir, 'c.treeptr'), threads: 0, deltaBase: blobPtr }));
  t.is((e2 as { code?: string }).code, 'ERR_USAGE');
  t.deepEqual(readdirSync(join(layout2.siloDir, 'pack')).sort(), packsBefore);
});

test('re-adding a changed tree to the same .treeptr deltifies against what it named', async (t) => {
  const layout = makeMedoLayout(tempDir(t));
  const v1 = join(layout.root, 'v1');
  const v2 = join(layout.root, 'v2');
  writeVersion(v1, 1);
  writeVersion(v2, 2);
  const out = join(layout.medoDir, 'x.treeptr');
  const sibling = join(layout.medoDir, 'a.treeptr');
  await medoAdd({ src: v1, out: sibling, threads: 0 });
  await medoAdd({ src: v1, out, threads: 0 });
  const r = await medoAdd({ src: v2, out, threads: 0 });
  t.is(r.deltaBase, out);
  t.is(readTreeptr(out).tree, r.tree);
});

test('chains of adds stop at the depth limit: the next add stores the file whole', async (t) => {
  const layout = makeMedoLayout(tempDir(t));
  const src = join(layout.root, 'src');
  mkdirSync(src);
  let text = Array.from({ length: 200 }, (_, i) => `line ${i} of a file that changes a little each version\n`).join('');
  const blobs: string[] = [];
  for (let n = 0; n < 53; n++) {
    text += `added in version ${n}\n`;
    writeFileSync(join(src, 'f.txt'), text);
    await medoAdd({ src, out: join(layout.medoDir, `v-${String(n).padStart(3, '0')}.treeptr`), threads: 0 });
    blobs.push(gitLines(layout.root, ['hash-object', join(src, 'f.txt')])[0]!);
  }
  const silo = Silo.open(layout.siloDir);
  try {
    const depths = blobs.map((b) => deltaDepth(silo, b, 1000)!);
    t.is(Math.max(...depths), 50, `each version a delta of the one before, up to git's limit: ${depths}`);
    t.is(depths.indexOf(50), 50);
    t.is(depths[51], 0, 'the version after the limit is whole');
    t.is(depths[52], 1);
    t.true(silo.read(blobs[52]!)!.content.equals(readFileSync(join(src, 'f.txt'))));
  } finally {
    silo.close();
  }
  t.deepEqual(verifySilo(layout.siloDir).problems, []);
});

test('natural order of names', (t) => {
  const names = ['py-3.10.1', 'py-3.9.18', 'py-3.10.0', 'py-3.9.2', 'py-2', 'py-3.10'];
  t.deepEqual([...names].sort(naturalCompare), ['py-2', 'py-3.9.2', 'py-3.9.18', 'py-3.10', 'py-3.10.0', 'py-3.10.1']);
});
