import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { medoAdd } from '../../../../lib/medo/ingest/add.js';
import { readTreeptr } from '../../../../lib/medo/treeptr.js';
import { Silo } from '../../../../lib/silo/silo.js';
import { END, base256, tarEntry, tarHeader } from '../../../helpers/tar-builder.js';
import { tempDir } from '../../../helpers/git-fixture.js';
import { RICH_TREE, inlineAttrs, makeMedo, makeTree } from '../../../helpers/tree-fixture.js';

function sidecar(silo: string, oid: string): string {
  const s = Silo.open(silo);
  try {
    return inlineAttrs(s.read(oid)!.content.toString('utf8'));
  } finally {
    s.close();
  }
}

function siloFiles(silo: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name).slice(silo.length));
    }
  };
  walk(silo);
  return out.sort();
}

/** Adds `archive` and the directory real tar extracts from it; both must give the same tree and sidecar. */
async function assertSameAsExtracted(t: import('ava').ExecutionContext, dir: string, archive: string, tag: string): Promise<void> {
  const { medo, silo } = makeMedo(join(dir, `medo-${tag}`));
  const extracted = join(dir, `extracted-${tag}`);
  mkdirSync(extracted);
  execFileSync('tar', ['-x', '--same-permissions', '-f', archive, '-C', extracted]);
  const fromTar = await medoAdd({ src: archive, out: join(medo, 'tar.treeptr'), threads: 2 });
  const fromDir = await medoAdd({ src: extracted, out: join(medo, 'dir.treeptr'), threads: 2 });
  t.is(fromTar.tree, fromDir.tree, `${tag}: tree ids`);
  t.is(sidecar(silo, fromTar.meta!), sidecar(silo, fromDir.meta!), `${tag}: sidecars`);
  t.is(fromTar.meta, fromDir.meta);
  t.is(fromTar.size, fromDir.size);
  t.is(fromTar.files, fromDir.files);
  t.is(fromDir.objectsWritten, 0, `${tag}: the directory's objects were all written by the tarball's add`);
}

const formats: [string, string[]][] = [
  ['tar', []],
  ['tgz', ['-z']],
  ['tar.xz', ['-J']],
  ['tar.zst', ['--zstd']],
  ['pax.tar', ['--format=pax']],
  ['oldgnu.tar', ['--format=oldgnu']],
];

for (const [ext, flags] of formats) {
  test(`a .${ext} made by real tar equals adding its extracted directory`, async (t) => {
    const dir = tempDir(t);
    const src = join(dir, 'src');
    makeTree(src, RICH_TREE);
    const archive = join(dir, `rich.${ext}`);
    execFileSync('tar', ['-C', src, ...flags, '-cf', archive, '.']);
    await assertSameAsExtracted(t, dir, archive, ext);
  });
}

test('a tarball whose entries sit under a top directory, without "./"', async (t) => {
  const dir = tempDir(t);
  makeTree(join(dir, 'pkg-1.0'), RICH_TREE);
  const archive = join(dir, 'pkg-1.0.tar.gz');
  execFileSync('tar', ['-C', dir, '-czf', archive, 'pkg-1.0']);
  const { medo, silo } = makeMedo(join(dir, 'm1'));
  const extracted = join(dir, 'x');
  mkdirSync(extracted);
  execFileSync('tar', ['-x', '--same-permissions', '-f', archive, '-C', extracted]);
  const fromTar = await medoAdd({ src: archive, out: join(medo, 'a.treeptr'), threads: 0 });
  const fromDir = await medoAdd({ src: extracted, out: join(medo, 'b.treeptr'), threads: 0 });
  t.is(fromTar.tree, fromDir.tree);
  // The root itself is not in the archive: everything below it must agree.
  const strip = (text: string): unknown => {
    const j = JSON.parse(text) as { paths: Record<string, unknown> };
    delete j.paths[''];
    return j;
  };
  t.deepEqual(strip(sidecar(silo, fromTar.meta!)), strip(sidecar(silo, fromDir.meta!)));
  t.deepEqual((JSON.parse(sidecar(silo, fromTar.meta!)) as { paths: Record<string, number[]> }).paths['']![0], 0o755);
});

test('--url records the sha256 of the tarball; --sha256 is checked and a mismatch refused', async (t) => {
  const dir = tempDir(t);
  makeTree(join(dir, 'src'), [{ path: 'f', file: 'f' }]);
  const archive = join(dir, 'a.tar.xz');
  execFileSync('tar', ['-C', join(dir, 'src'), '-cJf', archive, '.']);
  const sha = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const { medo, silo } = makeMedo(dir);
  const out = join(medo, 'a.treeptr');
  await medoAdd({ src: archive, out, url: 'https://example.org/a.tar.xz' });
  t.deepEqual(readTreeptr(out).source, { url: 'https://example.org/a.tar.xz', sha256: sha });
  await medoAdd({ src: archive, out, url: 'https://example.org/a.tar.xz', sha256: sha.toUpperCase() });

  const before = siloFiles(silo);
  const out2 = join(medo, 'b.treeptr');
  makeTree(join(dir, 'other'), [{ path: 'g', file: 'new content' }]);
  const other = join(dir, 'b.tar');
  execFileSync('tar', ['-C', join(dir, 'other'), '-cf', other, '.']);
  const err = await t.throwsAsync(medoAdd({ src: other, out: out2, sha256: sha }));
  t.is((err as { code?: string }).code, 'ERR_CHECKSUM_MISMATCH');
  t.throws(() => readFileSync(out2), { code: 'ENOENT' });
  t.deepEqual(siloFiles(silo), before, 'nothing written for a refused tarball');
});

test('hard links, a later duplicate entry, implied directories and a symlink-then-file conflict', async (t) => {
  const dir = tempDir(t);
  const { medo, silo } = makeMedo(dir);
  const archive = join(dir, 'a.tar');
  writeFileSync(archive, Buffer.concat([
    tarEntry({ name: 'implied/deep/file', mode: 0o600, mtime: 1_600_000_000 }, 'one'),
    tarEntry({ name: 'implied/deep/link', type: '1', linkname: 'implied/deep/file', mode: 0o777, mtime: 1 }),
    tarEntry({ name: 'dup', mtime: 5 }, 'first'),
    tarEntry({ name: 'dup', mtime: 6 }, 'second'),
    END,
  ]));
  const r = await medoAdd({ src: archive, out: join(medo, 'a.treeptr'), threads: 0 });
  const meta = JSON.parse(sidecar(silo, r.meta!)) as { paths: Record<string, number[]> };
  t.deepEqual(meta.paths['implied/deep/link'], [0o600, 1_600_000_000], 'a hard link has its target inode\'s metadata');
  t.deepEqual(meta.paths['implied/deep'], [0o755, 1_600_000_000], 'implied: 0755, newest mtime below');
  t.deepEqual(meta.paths['dup'], [0o644, 6]);
  t.is(r.files, 3);
  t.is(r.size, 3 + 3 + 6);

  const through = join(dir, 'through.tar');
  writeFileSync(through, Buffer.concat([tarEntry({ name: 'l', type: '2', linkname: '/etc' }), tarEntry({ name: 'l/passwd' }, 'x'), END]));
  const err = await t.throwsAsync(medoAdd({ src: through, out: join(medo, 't.treeptr') }));
  t.is((err as { code?: string }).code, 'ERR_UNSAFE_PATH');
  t.regex(err!.message, /symlink/);
});

const hostile: [string, () => Buffer, string][] = [
  ['../x', () => Buffer.concat([tarEntry({ name: 'ok' }, 'ok'), tarEntry({ name: '../x' }, 'evil'), END]), 'ERR_UNSAFE_PATH'],
  ['/abs', () => Buffer.concat([tarEntry({ name: '/abs' }, 'evil'), END]), 'ERR_UNSAFE_PATH'],
  ['truncated', () => Buffer.concat([tarEntry({ name: 'ok' }, 'ok'), tarEntry({ name: 'f' }, Buffer.alloc(9000, 1))]).subarray(0, 4000), 'ERR_TAR_CORRUPT'],
  ['bad checksum', () => Buffer.concat([tarEntry({ name: 'f', checksumDelta: 7 }, 'x'), END]), 'ERR_TAR_CORRUPT'],
  ['100 GB claimed', () => Buffer.concat([tarEntry({ name: 'ok' }, 'ok'), tarHeader({ name: 'huge', sizeField: base256(100n << 30n) }), Buffer.alloc(100_000)]),
    'ERR_TAR_CORRUPT'],
  ['a fifo', () => Buffer.concat([tarEntry({ name: 'p', type: '6' }), END]), 'ERR_SPECIAL_FILE'],
  ['a name that is not UTF-8', () => Buffer.concat([tarEntry({ name: Buffer.from([0x78, 0xe9]) }, 'x'), END]), 'ERR_NAME_ENCODING'],
  ['a hard link to nothing', () => Buffer.concat([tarEntry({ name: 'h', type: '1', linkname: 'missing' }), END]), 'ERR_TAR_CORRUPT'],
];

for (const [what, make, code] of hostile) {
  test(`a hostile tarball (${what}) is refused with ${code}; nothing is written`, async (t) => {
    const dir = tempDir(t);
    const { medo, silo } = makeMedo(dir);
    const archive = join(dir, 'hostile.tar');
    writeFileSync(archive, make());
    const before = siloFiles(silo);
    const out = join(medo, 'h.treeptr');
    const err = await t.throwsAsync(medoAdd({ src: archive, out, threads: 2 }));
    t.is((err as { code?: string }).code, code, err?.message);
    t.true(err!.message.startsWith(archive), err!.message);
    t.throws(() => readFileSync(out), { code: 'ENOENT' });
    t.deepEqual(siloFiles(silo), before);
  });
}

test('--skip-special skips a fifo in a tarball with a warning', async (t) => {
  const dir = tempDir(t);
  const { medo } = makeMedo(dir);
  const archive = join(dir, 'a.tar');
  writeFileSync(archive, Buffer.concat([tarEntry({ name: 'p', type: '6' }), tarEntry({ name: 'f' }, 'x'), END]));
  const warnings: string[] = [];
  const r = await medoAdd({ src: archive, out: join(medo, 'a.treeptr'), skipSpecial: true, onWarning: (m) => warnings.push(m) });
  t.is(r.files, 1);
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /"p"/);
});
