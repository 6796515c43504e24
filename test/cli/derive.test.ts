// `silo derive`: each form made from a tree with what is hard to carry (modes, nanosecond mtimes,
// symlinks, empty directories, awkward names), then unpacked here with the form's own tool and checked
// with `medo verify`; a form whose tool drops something is refused and nothing is published.
import test from 'ava';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/git-fixture.js';
import { makeMedoLayout, makeSampleTree } from '../helpers/medo-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function cli(program: 'medo' | 'silo', args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'silo', 'derive.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', `${program}.js`), ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function setUp(t: Parameters<typeof tempDir>[0]): { tmp: string; siloDir: string; ptr: string; tree: string } {
  const tmp = tempDir(t, 'medo-derive-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const ptr = join(layout.medoDir, 'w.treeptr');
  const added = cli('medo', ['add', src, ptr]);
  if (added.status !== 0) throw new Error(added.stderr);
  return { tmp, siloDir: layout.siloDir, ptr, tree: (JSON.parse(readFileSync(ptr, 'utf8')) as { tree: string }).tree };
}

interface Derived {
  tree: string;
  form: string;
  file: string;
  bytes: number;
  sha256: string;
  tool: string;
}

const UNPACK: { [form: string]: (file: string, dir: string) => void } = {
  'tar.gz': (f, d) => execFileSync('tar', ['-xzf', f, '-C', d]),
  'tar.zst': (f, d) => execFileSync('tar', ['--zstd', '-xf', f, '-C', d]),
  squashfs: (f, d) => execFileSync('unsquashfs', ['-no-progress', '-quiet', '-f', '-d', d, f]),
  erofs: (f, d) => execFileSync('fsck.erofs', [`--extract=${d}`, '--force', '--preserve', f]),
};

test('every form unpacks, with its own tool, to exactly the tree; url-for lists them', (t) => {
  const { tmp, siloDir, ptr, tree } = setUp(t);
  for (const form of ['tar.gz', 'tar.zst', 'squashfs', 'erofs']) {
    const r = cli('silo', ['derive', '--json', form, ptr]);
    t.is(r.status, 0, `${form}: ${r.stderr}`);
    const rec = JSON.parse(r.stdout) as Derived;
    t.is(rec.tree, tree);
    t.is(rec.form, form);
    const file = join(siloDir, rec.file);
    const bytes = readFileSync(file);
    t.is(rec.bytes, bytes.length);
    t.is(rec.sha256, createHash('sha256').update(bytes).digest('hex'));
    const meta = (JSON.parse(readFileSync(ptr, 'utf8')) as { meta: string }).meta;
    t.deepEqual(JSON.parse(readFileSync(`${file}.json`, 'utf8')), { format: 'medo-derived', version: 1, ...rec, meta });
    const out = join(tmp, `out-${form}`);
    mkdirSync(out);
    UNPACK[form]!(file, out);
    const v = cli('medo', ['verify', '--json', ptr, out]);
    const diffs = (JSON.parse(v.stdout) as { differences: { kind: string; expected: string; actual: string }[] }).differences;
    if (form === 'squashfs') {
      // SquashFS keeps whole seconds: every difference is an mtime that agrees to the second.
      t.true(diffs.every((d) => d.kind === 'mtime' && d.expected.slice(0, 19) === d.actual.slice(0, 19)), JSON.stringify(diffs.slice(0, 3)));
    } else {
      t.deepEqual(diffs, [], form);
      t.is(v.status, 0);
    }
  }
  const u = JSON.parse(cli('medo', ['url-for', '--json', ptr]).stdout) as { derived: { form: string; location: string }[] };
  t.deepEqual(u.derived.map((d) => d.form).sort(), ['erofs', 'squashfs', 'tar.gz', 'tar.zst']);
  t.true(u.derived.every((d) => existsSync(d.location)));
  // No scratch left behind.
  t.deepEqual(readdirSync(join(siloDir, 'derived', 'forms')).filter((n) => n.startsWith('.')), []);
});

test('a form whose tool leaves something out is refused, and nothing is published', (t) => {
  const { tmp, siloDir, ptr } = setUp(t);
  // A mksquashfs that quietly drops a directory.
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'mksquashfs'), '#!/bin/sh\n[ "$1" = -version ] && exec /usr/bin/mksquashfs -version\nexec /usr/bin/mksquashfs "$@" -e etc\n');
  chmodSync(join(bin, 'mksquashfs'), 0o755);
  const r = cli('silo', ['derive', 'squashfs', ptr], { PATH: `${bin}:${process.env.PATH}` });
  t.is(r.status, 3);
  t.regex(r.stderr, /squashfs of tree [0-9a-f]{40} does not unpack to the tree \(\d+ differences: missing etc/);
  t.regex(r.stderr, /not published/);
  t.deepEqual(readdirSync(join(siloDir, 'derived', 'forms')), []);
  const bad = cli('silo', ['derive', 'zip', ptr]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown form "zip"/);
});
