// `medo add` as users run it: the compiled CLI (node bin/medo.js, after `npx tsc -p .`) in a child process.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { END, base256, tarEntry, tarHeader } from '../helpers/tar-builder.js';
import { tempDir } from '../helpers/git-fixture.js';
import { RICH_TREE, gitWriteTree, makeMedo, makeTree } from '../helpers/tree-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'medo.js');

function medo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'medo', 'add.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('adds a directory: exit 0, a summary line, then "unchanged" on a re-add', (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, RICH_TREE);
  const { medo: m } = makeMedo(dir);
  const out = join(m, 'sub', 'dir', 'rich.treeptr');
  const tree = gitWriteTree(src, join(dir, 'oracle.git'));
  const first = medo(['add', src, out]);
  t.is(first.status, 0, first.stderr);
  t.regex(first.stdout, new RegExp(`^tree ${tree}: \\d+ files, .*, \\d+ new objects; .* written\\n$`));
  t.is(first.stderr, '');
  const bytes = readFileSync(out);
  const again = medo(['add', '--threads', '1', src, out]);
  t.is(again.status, 0, again.stderr);
  t.regex(again.stdout, / 0 new objects; .* unchanged\n$/);
  t.true(readFileSync(out).equals(bytes));
});

test('provenance flags and --built-from FILE', (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, [{ path: 'f', file: 'f' }]);
  const { medo: m } = makeMedo(dir);
  const a = join(m, 'a.treeptr');
  t.is(medo(['add', src, a, '--input', 'x.treeptr', '--input', 'y.treeptr', '--command', 'make install', '--env', 'CC=gcc', '--env', 'X=a=b',
    '--base', 'debian:12']).status, 0);
  const flags = JSON.parse(readFileSync(a, 'utf8')) as { built_from: unknown };
  t.deepEqual(flags.built_from, { inputs: ['x.treeptr', 'y.treeptr'], base: 'debian:12', command: 'make install', env: { CC: 'gcc', X: 'a=b' } });
  const spec = join(dir, 'built.json');
  writeFileSync(spec, JSON.stringify({ inputs: ['x.treeptr', 'y.treeptr'], base: 'debian:12', command: 'make install', env: { CC: 'gcc', X: 'a=b' } }));
  const b = join(m, 'b.treeptr');
  t.is(medo(['add', src, b, '--built-from', spec]).status, 0);
  t.deepEqual(readFileSync(b), readFileSync(a));
});

test('--blob and --url on a file', (t) => {
  const dir = tempDir(t);
  const { medo: m } = makeMedo(dir);
  const file = join(dir, 'x.bin');
  writeFileSync(file, 'opaque\n');
  const r = medo(['add', '--blob', '--url', 'https://example.org/x.bin', file, join(m, 'x.treeptr')]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^blob [0-9a-f]{40}: 1 file, 7 bytes, 1 new object;/);
});

const usageErrors: [string, string[]][] = [
  ['no arguments', ['add']],
  ['one argument', ['add', 'src']],
  ['an unknown option', ['add', '--frobnicate', 'a', 'b.treeptr']],
  ['a bad --sha256', ['add', '--sha256', 'xyz', 'SRC', 'm/a.treeptr']],
  ['--env without =', ['add', '--env', 'NOVALUE', 'SRC', 'm/a.treeptr']],
  ['--built-from and --input together', ['add', '--built-from', 'f.json', '--input', 'x', 'SRC', 'm/a.treeptr']],
  ['an output that is not a .treeptr', ['add', 'SRC', 'm/a.json']],
  ['a source that does not exist', ['add', 'no-such-dir', 'm/a.treeptr']],
  ['a bad --threads', ['add', '--threads', 'many', 'SRC', 'm/a.treeptr']],
];

for (const [what, args] of usageErrors) {
  test(`exit 2 for ${what}`, (t) => {
    const dir = tempDir(t);
    makeTree(join(dir, 'SRC'), [{ path: 'f', file: 'f' }]);
    const { medo: m } = makeMedo(dir);
    const r = medo(args.map((a) => (a === 'SRC' ? join(dir, 'SRC') : a.startsWith('m/') ? join(m, a.slice(2)) : a)));
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, /^medo: .*\nTry 'medo --help'\.\n$/);
  });
}

const hostile: [string, () => Buffer, RegExp][] = [
  ['../x', () => Buffer.concat([tarEntry({ name: '../escape' }, 'x'), END]), /tar entry "\.\.\/escape" has a '\.\.' component: it would escape the destination/],
  ['/abs', () => Buffer.concat([tarEntry({ name: '/etc/passwd' }, 'x'), END]), /tar entry "\/etc\/passwd" has an absolute name/],
  ['truncated', () => tarEntry({ name: 'f' }, Buffer.alloc(4000, 1)).subarray(0, 1500), /tar entry "f": claims 4000 bytes but the archive ends after 988 of them \(truncated\)/],
  ['bad checksum', () => Buffer.concat([tarEntry({ name: 'f', checksumDelta: 3 }, 'x'), END]), /checksum mismatch/],
  ['100 GB claimed', () => Buffer.concat([tarHeader({ name: 'huge', sizeField: base256(100n << 30n) }), Buffer.alloc(10_000)]),
    /tar entry "huge": claims 107374182400 bytes but the archive ends after 10000 of them \(truncated\)/],
];

for (const [what, make, message] of hostile) {
  test(`exit 3 with one line naming the problem for a hostile tarball (${what}); no .treeptr written`, (t) => {
    const dir = tempDir(t);
    const { medo: m } = makeMedo(dir);
    const archive = join(dir, 'evil.tar');
    writeFileSync(archive, make());
    const out = join(m, 'evil.treeptr');
    const r = medo(['add', archive, out]);
    t.is(r.status, 3, r.stderr);
    t.true(r.stderr.startsWith(`medo: ${archive}: `), r.stderr);
    t.regex(r.stderr, message);
    t.is(r.stderr.split('\n').length, 2, 'one line');
    t.false(existsSync(out));
  });
}

test('exit 3 outside a medo directory, and for a special file; --skip-special warns on stderr', (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, [{ path: 'f', file: 'f' }]);
  const outside = medo(['add', src, join(dir, 'nowhere', 'x.treeptr')]);
  t.is(outside.status, 3, outside.stderr + outside.stdout);
  t.regex(outside.stderr, /no SILO\.json/);
  spawnSync('mkfifo', [join(src, 'fifo')]);
  const { medo: m } = makeMedo(dir);
  const refused = medo(['add', src, join(m, 'x.treeptr')]);
  t.is(refused.status, 3, refused.stderr);
  t.regex(refused.stderr, /"fifo" .* is a fifo/);
  const skipped = medo(['add', '--skip-special', src, join(m, 'x.treeptr')]);
  t.is(skipped.status, 0, skipped.stderr);
  t.is(skipped.stderr, 'medo add: warning: skipping "fifo": a fifo\n');
});

test('--help', (t) => {
  const r = medo(['add', '--help']);
  t.is(r.status, 0);
  t.regex(r.stdout, /^usage: medo add SRC OUT\.treeptr/);
  t.regex(medo(['--help']).stdout, /\n {2}add +store a directory/);
});
