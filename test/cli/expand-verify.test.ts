// `medo expand` / `medo sync` / `medo verify` as users run them: the compiled CLI (node bin/medo.js,
// after `npx tsc -p .`) in a child process, with `medo add` putting the trees in, and git as the
// oracle for tree ids.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { git, initRepo, tempDir } from '../helpers/git-fixture.js';
import { makeMedoLayout, makeSampleTree, snapshot, storeTree } from '../helpers/medo-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'medo.js');

function medo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'medo', 'expand.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function gitWriteTree(dir: string, scratch: string): string {
  const repo = initRepo(scratch, { bare: true });
  git(repo, ['--work-tree', dir, 'add', '-A']);
  return git(repo, ['write-tree']).toString().trim();
}

function sameSnapshot(a: string, b: string): string[] {
  const x = snapshot(a);
  const y = snapshot(b);
  const out: string[] = [];
  for (const p of new Set([...x.keys(), ...y.keys()])) {
    if (JSON.stringify(x.get(p), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) !==
      JSON.stringify(y.get(p), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) out.push(p || '.');
  }
  return out;
}

test('round trip: medo add, then expand, then verify, gives back the directory exactly', (t) => {
  const tmp = tempDir(t, 'medo-cli-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const ptr = join(layout.medoDir, 'tools/sample.treeptr');
  const added = medo(['add', src, ptr]);
  t.is(added.status, 0, added.stderr);
  const treeptr = JSON.parse(readFileSync(ptr, 'utf8')) as { tree: string };
  t.is(treeptr.tree, gitWriteTree(src, join(tmp, 'oracle.git')));

  const dest = join(tmp, 'out');
  const first = medo(['expand', ptr, dest]);
  t.is(first.status, 0, first.stderr);
  t.regex(first.stdout, /^\S+: \d+ files written, 0 replaced, 0 metadata fixed, 0 left alone, \d+ directories created\n$/);
  t.deepEqual(sameSnapshot(src, dest), []);
  t.is(gitWriteTree(dest, join(tmp, 'check.git')), treeptr.tree);

  const verified = medo(['verify', ptr, dest]);
  t.is(verified.status, 0, verified.stdout + verified.stderr);
  t.regex(verified.stdout, /: \d+ files checked: OK\n$/);

  // The whole medo directory: each .treeptr at its path.
  const all = join(tmp, 'all');
  t.is(medo(['sync', layout.medoDir, all]).status, 0);
  t.deepEqual(sameSnapshot(src, join(all, 'tools/sample')), []);
  t.is(medo(['verify', layout.medoDir, all]).status, 0);
});

test('sync re-run leaves files alone; tampering is listed by verify and fixed by sync --delete', (t) => {
  const tmp = tempDir(t, 'medo-cli-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const ptr = storeTree(layout, src, 'sample.treeptr', tmp).treeptrPath;
  const dest = join(tmp, 'out');
  t.is(medo(['expand', ptr, dest]).status, 0);
  const again = medo(['sync', ptr, dest]);
  t.is(again.status, 0);
  t.regex(again.stdout, /: 0 files written, 0 replaced, 0 metadata fixed, \d+ left alone, 0 directories created\n$/);

  writeFileSync(join(dest, 'README'), 'tampered\n');
  chmodSync(join(dest, 'bin/tool'), 0o600);
  rmSync(join(dest, 'many/f002.txt'));
  writeFileSync(join(dest, 'extra.txt'), 'x');
  const v = medo(['verify', ptr, dest]);
  t.is(v.status, 1);
  const lines = v.stdout.trimEnd().split('\n');
  t.true(lines.some((l) => /^content README: [0-9a-f]{40}, expected [0-9a-f]{40}$/.test(l)), v.stdout);
  t.true(lines.includes('mode    bin/tool: 0600, expected 0755'), v.stdout);
  t.true(lines.includes('missing many/f002.txt (file)'), v.stdout);
  t.true(lines.includes('extra   extra.txt (file)'), v.stdout);
  t.regex(lines.at(-1)!, /: \d+ files checked: \d+ differences$/);

  const json = medo(['verify', '--json', ptr, dest]);
  t.is(json.status, 1);
  const report = JSON.parse(json.stdout) as { ok: boolean; differences: { kind: string; path: string }[] };
  t.false(report.ok);
  t.true(report.differences.some((d) => d.kind === 'extra' && d.path === 'extra.txt'));

  const kept = medo(['sync', ptr, dest]);
  t.is(kept.status, 0);
  t.regex(kept.stdout, /^extra extra\.txt\n/);
  t.regex(kept.stdout, /1 extra \(kept; --delete removes them\)/);
  const fixed = medo(['sync', '--delete', ptr, dest]);
  t.is(fixed.status, 0, fixed.stderr);
  t.regex(fixed.stdout, /^removed extra\.txt\n/);
  t.is(medo(['verify', ptr, dest]).status, 0);
  t.deepEqual(sameSnapshot(src, dest), []);
});

test('a missing object: exit 3 naming it, for expand and verify', (t) => {
  const tmp = tempDir(t, 'medo-cli-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const ptr = join(layout.medoDir, 'sample.treeptr');
  t.is(medo(['add', src, ptr]).status, 0);
  const dest = join(tmp, 'out');
  t.is(medo(['expand', ptr, dest]).status, 0);
  const treeptr = JSON.parse(readFileSync(ptr, 'utf8')) as { meta: string };
  // The sidecar is a loose object in the silo (or in its pack): remove whichever holds it.
  const loose = join(layout.siloDir, 'objects', treeptr.meta.slice(0, 2), `${treeptr.meta.slice(2)}.gz`);
  if (existsSync(loose)) rmSync(loose);
  else rmSync(join(layout.siloDir, 'pack'), { recursive: true });
  for (const verb of ['expand', 'verify']) {
    const r = medo([verb, ptr, join(tmp, verb === 'expand' ? 'out2' : 'out')]);
    t.is(r.status, 3, `${verb}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, new RegExp(`^medo: .*${treeptr.meta}`));
  }
});

test('tarballs: added as a tree or kept as a blob, both expand to what tar -x makes', (t) => {
  const tmp = tempDir(t, 'medo-cli-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const tgz = join(tmp, 'sample.tar.gz');
  execFileSync('tar', ['--format=posix', '-czf', tgz, '-C', src, '.']);
  const asTree = join(layout.medoDir, 'as-tree.treeptr');
  const asBlob = join(layout.medoDir, 'sample.tar.gz.treeptr');
  t.is(medo(['add', tgz, asTree]).status, 0);
  t.is(medo(['add', '--blob', tgz, asBlob]).status, 0);
  for (const ptr of [asTree, asBlob]) {
    const dest = join(tmp, `out-${ptr.endsWith('gz.treeptr') ? 'blob' : 'tree'}`);
    const r = medo(['expand', ptr, dest]);
    t.is(r.status, 0, r.stderr);
    t.deepEqual(sameSnapshot(src, dest), [], ptr);
    t.is(medo(['verify', ptr, dest]).status, 0, ptr);
  }
  const raw = join(tmp, 'raw');
  t.is(medo(['expand', '--raw', asBlob, raw]).status, 0);
  t.deepEqual(readdirSync(raw), ['sample.tar.gz']);
  t.true(readFileSync(join(raw, 'sample.tar.gz')).equals(readFileSync(tgz)));
  t.is(medo(['verify', '--raw', asBlob, raw]).status, 0);
});

test('usage: --help for both verbs and the alias, bad arguments exit 2', (t) => {
  for (const verb of ['expand', 'sync', 'verify']) {
    const h = medo([verb, '--help']);
    t.is(h.status, 0);
    t.regex(h.stdout, new RegExp(`^usage: medo ${verb === 'sync' ? 'expand' : verb} `));
  }
  t.regex(medo(['--help']).stdout, /\n {2}expand +materialize/);
  const tmp = tempDir(t, 'medo-cli-');
  for (const args of [['expand', 'only-one'], ['verify'], ['expand', '--jobs', '0', 'a', 'b'], ['expand', join(tmp, 'nothing.treeptr'), join(tmp, 'd')],
    ['verify', '--bogus', 'a', 'b']]) {
    const r = medo(args);
    t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /^medo: /);
  }
});

// As root every directory is writable; a user must make a 0555 directory writable for a moment to
// replace a file in it, and put its mode back. Run as nobody when the tests run as root.
const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0 ? test : test.skip;
asNobody('as an ordinary user: read-only directories are filled, fixed on a re-run, and keep their mode', (t) => {
  const tmp = tempDir(t, 'medo-cli-');
  chmodSync(tmp, 0o755);
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const ptr = storeTree(layout, src, 'sample.treeptr', tmp).treeptrPath;
  execFileSync('chmod', ['-R', 'a+rX', layout.siloDir, layout.medoDir]);
  const dest = join(tmp, 'out');
  execFileSync('mkdir', [dest]);
  execFileSync('chown', ['nobody', dest]);
  const nobody = (args: string[]) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args],
    { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  const first = nobody(['expand', ptr, join(dest, 'd')]);
  t.is(first.status, 0, first.stderr);
  t.deepEqual(sameSnapshot(src, join(dest, 'd')), []);
  writeFileSync(join(dest, 'd/opt/sealed/inside.txt'), 'tampered\n');
  const again = nobody(['sync', ptr, join(dest, 'd')]);
  t.is(again.status, 0, again.stderr);
  t.regex(again.stdout, / 1 replaced, /);
  t.is(readFileSync(join(dest, 'd/opt/sealed/inside.txt'), 'utf8'), 'sealed\n');
  const v = nobody(['verify', ptr, join(dest, 'd')]);
  t.is(v.status, 0, v.stdout + v.stderr);
});
