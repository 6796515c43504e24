import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openTarStream, readTar, type TarEntry } from '../../../lib/tar/tar-reader.js';
import { END, base256, paxEntry, tarEntry, tarHeader } from '../../helpers/tar-builder.js';
import { findMeta, makeTree } from '../../helpers/tree-fixture.js';
import { tempDir } from '../../helpers/git-fixture.js';

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(input: AsyncIterable<Buffer>, options?: { maxEntrySize?: number }): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTar(input, options)) out.push(e);
  return out;
}

const LONG = `${'long-directory-name-'.repeat(4)}/${'x'.repeat(120)}`;

function fixture(root: string): void {
  makeTree(root, [
    { path: 'file', file: 'content\n', perm: 0o640, mtime: '1700000000.123456789' },
    { path: 'exec', file: '#!/bin/sh\n', perm: 0o755, mtime: '1700000001' },
    { path: 'big', file: Buffer.alloc(70_000, 7), mtime: '1700000002' },
    { path: 'empty', file: '' },
    { path: 'sym', symlink: 'file' },
    { path: 'long-target', symlink: 'y'.repeat(150) },
    { path: 'hard', hardlink: 'file' },
    { path: 'dir/sub/f', file: 'f', perm: 0o600 },
    { path: 'emptydir', dir: true, perm: 0o700, mtime: '1600000000' },
    { path: LONG, file: 'deep' },
    { path: 'ünïcödé', file: 'u' },
  ]);
}

function expectEntries(t: import('ava').ExecutionContext, got: TarEntry[], root: string, ns: boolean): void {
  const meta = findMeta(root);
  const byPath = new Map(got.map((e) => [e.path, e]));
  t.deepEqual([...byPath.keys()].sort(), [...meta.keys()].sort(), 'every path, root included');
  for (const [path, [perm, sec, nsec]] of meta) {
    const e = byPath.get(path)!;
    t.is(e.mode, perm, `mode of ${path}`);
    t.is(e.mtimeSec, sec, `mtime of ${path}`);
    if (ns) t.is(e.mtimeNsec, nsec, `mtime nanoseconds of ${path}`);
  }
  t.is(byPath.get('file')!.content!.toString(), 'content\n');
  t.true(byPath.get('big')!.content!.equals(Buffer.alloc(70_000, 7)));
  t.is(byPath.get('empty')!.content!.length, 0);
  t.is(byPath.get('empty')!.type, 'file');
  t.is(byPath.get(LONG)!.content!.toString(), 'deep');
  t.is(byPath.get('sym')!.type, 'symlink');
  t.is(byPath.get('sym')!.linkTarget, 'file');
  t.is(byPath.get('long-target')!.linkTarget, 'y'.repeat(150));
  // tar stores the second name of an inode as a hard link to the first one it met.
  const links = got.filter((e) => e.type === 'hardlink');
  t.is(links.length, 1);
  t.true(['file', 'hard'].includes(links[0]!.linkTarget!));
  t.is(byPath.get('emptydir')!.type, 'dir');
  t.is(byPath.get('')!.type, 'dir');
}

for (const format of ['gnu', 'oldgnu', 'posix']) {
  test(`reads what GNU tar --format=${format} writes, in any chunking`, async (t) => {
    const dir = tempDir(t);
    const root = join(dir, 'src');
    fixture(root);
    const archive = join(dir, 'a.tar');
    execFileSync('tar', ['-C', root, `--format=${format}`, '-cf', archive, '.']);
    const bytes = readFileSync(archive);
    for (const size of [bytes.length, 65536, 509, 1]) {
      expectEntries(t, await readAll(chunks(bytes, size)), root, format === 'posix');
    }
  });
}

test('reads ustar (prefix + name) and v7 archives', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'src');
  makeTree(root, [
    { path: `${'p'.repeat(90)}/${'n'.repeat(90)}`, file: 'split name' },
    { path: 'sym', symlink: 'target' },
    { path: 'd/f', file: 'f', perm: 0o755 },
  ]);
  execFileSync('tar', ['-C', root, '--format=ustar', '-cf', join(dir, 'u.tar'), '.']);
  const u = await readAll(openTarStream(join(dir, 'u.tar')));
  t.is(u.find((e) => e.path === `${'p'.repeat(90)}/${'n'.repeat(90)}`)!.content!.toString(), 'split name');
  t.is(u.find((e) => e.path === 'd/f')!.mode, 0o755);

  // v7: no magic; directories only by their trailing '/'.
  const v7 = Buffer.concat([
    tarEntry({ name: 'dir/', magic: 'v7', type: '\0', mode: 0o750 }),
    tarEntry({ name: 'dir/file', magic: 'v7', type: '\0' }, 'v7 data'),
    END,
  ]);
  const e = await readAll(chunks(v7, 100));
  t.deepEqual(e.map((x) => [x.path, x.type, x.mode]), [['dir', 'dir', 0o750], ['dir/file', 'file', 0o644]]);
  t.is(e[1]!.content!.toString(), 'v7 data');
});

test('pax records: path, linkpath, size, fractional and negative mtimes; global headers ignored', async (t) => {
  const longName = `${'d'.repeat(200)}/file`;
  const archive = Buffer.concat([
    paxEntry({ comment: 'ignored', path: 'global-path-is-ignored' }, 'g'),
    paxEntry({ path: longName, mtime: '1700000000.5' }),
    tarEntry({ name: 'short' }, 'pax named'),
    paxEntry({ mtime: '-1.25', size: '3' }),
    tarEntry({ name: 'old', size: 999 }, 'abc'),
    paxEntry({ linkpath: 'L'.repeat(300) }),
    tarEntry({ name: 'sym', type: '2' }),
    END,
  ]);
  const e = await readAll(chunks(archive, 512));
  t.deepEqual(e.map((x) => x.path), [longName, 'old', 'sym']);
  t.deepEqual([e[0]!.mtimeSec, e[0]!.mtimeNsec], [1700000000, 500_000_000]);
  t.deepEqual([e[1]!.mtimeSec, e[1]!.mtimeNsec, e[1]!.content!.toString()], [-2, 750_000_000, 'abc']);
  t.is(e[2]!.linkTarget, 'L'.repeat(300));
});

test('GNU base-256 numbers, negative mtimes included', async (t) => {
  const neg = Buffer.alloc(12, 0xff); // -1
  const h = tarHeader({ name: 'f', size: 2 });
  neg.copy(h, 136);
  base256(2n).copy(h, 124);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const e = await readAll(chunks(Buffer.concat([h, Buffer.from('hi'), Buffer.alloc(510), END]), 4096));
  t.deepEqual([e[0]!.mtimeSec, e[0]!.size, e[0]!.content!.toString()], [-1, 2, 'hi']);
});

test('a GNU volume label is not an entry, whatever its name', async (t) => {
  const archive = Buffer.concat([tarEntry({ name: '/My Backup ../', type: 'V' }), tarEntry({ name: 'f' }, 'x'), END]);
  t.deepEqual((await readAll(chunks(archive, 512))).map((e) => e.path), ['f']);
});

test('names are cleaned: ./ prefixes, doubled and trailing slashes', async (t) => {
  const archive = Buffer.concat([
    tarEntry({ name: './', type: '5', mode: 0o711 }),
    tarEntry({ name: './a//b/./c', type: '0' }, 'x'),
    tarEntry({ name: 'dir/', type: '5' }),
    END,
  ]);
  t.deepEqual((await readAll(chunks(archive, 512))).map((e) => [e.path, e.type]), [['', 'dir'], ['a/b/c', 'file'], ['dir', 'dir']]);
});

test('gzip, xz and zstd are recognized by their magic bytes, not their names', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'src');
  fixture(root);
  const plain = join(dir, 'a.tar');
  execFileSync('tar', ['-C', root, '-cf', plain, '.']);
  const expected = await readAll(openTarStream(plain));
  for (const [flag, name] of [['-z', 'gz'], ['-J', 'xz'], ['--zstd', 'zst']] as const) {
    const file = join(dir, `archive.${name}`);
    execFileSync('tar', ['-C', root, flag, '-cf', file, '.']);
    const misnamed = join(dir, `misnamed-${name}.tar`);
    copyFileSync(file, misnamed);
    for (const f of [file, misnamed]) {
      const got = await readAll(openTarStream(f));
      t.deepEqual(got.map((e) => [e.path, e.type, e.mode, e.mtimeSec, e.content?.toString('hex')]),
        expected.map((e) => [e.path, e.type, e.mode, e.mtimeSec, e.content?.toString('hex')]), f);
    }
  }
});

test('onRawChunk sees every byte of the file, trailing padding included', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a.tgz');
  writeFileSync(file, gzipSync(Buffer.concat([tarEntry({ name: 'f' }, 'data'), END, Buffer.alloc(8192)])));
  const seen: Buffer[] = [];
  await readAll(openTarStream(file, { onRawChunk: (c) => seen.push(Buffer.from(c)) }));
  t.true(Buffer.concat(seen).equals(readFileSync(file)));
});

test('stopping early ends the decompressor', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'src');
  fixture(root);
  const file = join(dir, 'a.tar.xz');
  execFileSync('tar', ['-C', root, '-cJf', file, '.']);
  for await (const e of readTar(openTarStream(file))) {
    t.is(e.path, '');
    break;
  }
});

// Hostile and broken input: every case a typed error, never a crash, a hang or an unbounded allocation.
const hostile: [string, () => Buffer, string][] = [
  ['a ".." component', () => Buffer.concat([tarEntry({ name: '../x' }, 'evil'), END]), 'ERR_UNSAFE_PATH'],
  ['a ".." component in the middle', () => Buffer.concat([tarEntry({ name: 'a/../../x' }, 'evil'), END]), 'ERR_UNSAFE_PATH'],
  ['an absolute name', () => Buffer.concat([tarEntry({ name: '/etc/passwd' }, 'evil'), END]), 'ERR_UNSAFE_PATH'],
  ['a pax path with ".."', () => Buffer.concat([paxEntry({ path: 'ok/../../x' }), tarEntry({ name: 'ok' }, 'e'), END]), 'ERR_UNSAFE_PATH'],
  ['a hard link to "../"', () => Buffer.concat([tarEntry({ name: 'h', type: '1', linkname: '../../etc/passwd' }), END]), 'ERR_UNSAFE_PATH'],
  ['a bad checksum', () => Buffer.concat([tarEntry({ name: 'f', checksumDelta: 1 }, 'x'), END]), 'ERR_TAR_CORRUPT'],
  ['text that is not a tar', () => Buffer.from('hello, this is not a tar archive\n'.repeat(40)), 'ERR_TAR_CORRUPT'],
  ['an empty stream', () => Buffer.alloc(0), 'ERR_TAR_CORRUPT'],
  ['a stream cut inside a header', () => tarEntry({ name: 'f' }, 'x').subarray(0, 300), 'ERR_TAR_CORRUPT'],
  ['a stream cut inside the data', () => tarEntry({ name: 'f' }, Buffer.alloc(5000, 1)).subarray(0, 2000), 'ERR_TAR_CORRUPT'],
  ['a stream without end blocks', () => tarEntry({ name: 'f' }, 'x'), 'ERR_TAR_CORRUPT'],
  ['a 100 GB claim on a short stream', () => Buffer.concat([tarHeader({ name: 'huge', sizeField: base256(100n * 1024n ** 3n) }), Buffer.alloc(4096, 1)]),
    'ERR_TAR_CORRUPT'],
  ['an 8 GiB octal claim on a short stream', () => Buffer.concat([tarHeader({ name: 'huge', sizeField: Buffer.from('77777777777\0') }), Buffer.alloc(4096)]),
    'ERR_TAR_CORRUPT'],
  ['a size beyond 2^53', () => Buffer.concat([tarHeader({ name: 'huge', sizeField: base256(1n << 80n) }), END]), 'ERR_TAR_CORRUPT'],
  ['a pax header claiming 1 GB', () => Buffer.concat([tarHeader({ name: 'p', type: 'x', size: 1024 ** 3 }), END]), 'ERR_TAR_CORRUPT'],
  ['a malformed pax record', () => Buffer.concat([tarEntry({ name: 'p', type: 'x' }, '99 path=x\n'), tarEntry({ name: 'f' }), END]), 'ERR_TAR_CORRUPT'],
  ['a pax header at the end', () => Buffer.concat([paxEntry({ path: 'x' }), END]), 'ERR_TAR_CORRUPT'],
  ['a name that is not UTF-8', () => Buffer.concat([tarEntry({ name: Buffer.from([0x61, 0xff, 0x62]) }, 'x'), END]), 'ERR_NAME_ENCODING'],
  ['a GNU sparse file', () => Buffer.concat([tarEntry({ name: 's', type: 'S' }), END]), 'ERR_TAR_CORRUPT'],
  ['a non-octal size', () => Buffer.concat([tarHeader({ name: 'f', sizeField: Buffer.from('12345678z01\0') }), END]), 'ERR_TAR_CORRUPT'],
  ['a file with an empty name', () => Buffer.concat([tarEntry({ name: '.' }, 'x'), END]), 'ERR_TAR_CORRUPT'],
];

for (const [what, make, code] of hostile) {
  test(`refuses ${what} with ${code}`, async (t) => {
    const err = await t.throwsAsync(readAll(chunks(make(), 1000)));
    t.is((err as { code?: string }).code, code, err?.message);
  });
}

test('an entry over maxEntrySize is ERR_TOO_LARGE once its bytes are all there', async (t) => {
  const archive = Buffer.concat([tarEntry({ name: 'big' }, Buffer.alloc(10_000)), END]);
  const err = await t.throwsAsync(readAll(chunks(archive, 1000), { maxEntrySize: 9_999 }));
  t.is((err as { code?: string }).code, 'ERR_TOO_LARGE');
  t.regex(err!.message, /"big"/);
  t.is((await readAll(chunks(archive, 1000), { maxEntrySize: 10_000 }))[0]!.size, 10_000);
});

test('corrupt or truncated compressed streams are ERR_TAR_CORRUPT naming the file and the decompressor', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'src');
  fixture(root);
  for (const [flag, name, tool] of [['-z', 'tgz', 'gzip'], ['-J', 'txz', 'xz'], ['--zstd', 'tzst', 'zstd']] as const) {
    const good = join(dir, `good.${name}`);
    execFileSync('tar', ['-C', root, flag, '-cf', good, '.']);
    const bytes = readFileSync(good);
    const truncated = join(dir, `truncated.${name}`);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const flipped = join(dir, `flipped.${name}`);
    const copy = Buffer.from(bytes);
    for (let i = 40; i < copy.length - 40; i += 97) copy[i]! ^= 0x5a;
    writeFileSync(flipped, copy);
    for (const f of [truncated, flipped]) {
      const err = await t.throwsAsync(readAll(openTarStream(f)));
      t.is((err as { code?: string }).code, 'ERR_TAR_CORRUPT', `${f}: ${err?.message}`);
    }
    // The decompressor notices a cut stream when its output ends, before the tar layer would.
    const err = await t.throwsAsync(readAll(openTarStream(truncated)));
    t.true(err!.message.startsWith(`${truncated}: ${tool}`), err?.message);
  }
  const bz = join(dir, 'x.tar.bz2');
  writeFileSync(bz, Buffer.from('BZh91AY&SY'));
  const err = await t.throwsAsync(readAll(openTarStream(bz)));
  t.regex(err!.message, /bzip2/);
});
