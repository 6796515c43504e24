// `silo gc` and derived/: three versions of a wedge, static deltas v1 -> v2 and v2 -> v3, tarballs of v1
// and v3, and what interrupted writers leave. With only v3 kept, a prune removes v1's tarball and the
// delta into v2 (listing first), keeps v3's tarball and the delta into v3 (whose FROM, v2, is gone: a
// host holding v2 still wants it), and removes the strays; nothing young goes, and the silo verifies.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireUpkeepLock } from '../../lib/silo/lock.js';
import { tempDir } from '../helpers/git-fixture.js';
import { makeMedoLayout, makeSampleTree } from '../helpers/medo-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function cli(program: 'medo' | 'silo', args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(join(ROOT, 'dist', 'lib', 'silo', 'gc-derived.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', `${program}.js`), ...args], { encoding: 'utf8', input, env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(program: 'medo' | 'silo', args: string[], input?: string): string {
  const r = cli(program, args, input);
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

interface DerivedPlan { kind: string; files: string[]; tree?: string; from?: string; form?: string; action: string }
interface Report { derived: DerivedPlan[]; pruned: boolean; notes: string[] }

/** Ages a file (or directory) two hours, past the default grace period. */
function age(path: string): void {
  const then = (Date.now() - 2 * 3600_000) / 1000;
  utimesSync(path, then, then);
}

test('gc removes the derived forms and static deltas of trees it does not keep, after the grace period', (t) => {
  const tmp = tempDir(t, 'medo-gc-derived-');
  const { siloDir, medoDir } = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const ptr: string[] = [];
  const tree: string[] = [];
  for (const v of [1, 2, 3]) {
    writeFileSync(join(src, 'README'), `hello medo, version ${v}\n${'a line that stays the same\n'.repeat(40)}`);
    writeFileSync(join(src, `added-in-${v}`), `${v}\n`);
    ptr.push(join(medoDir, `w-${v}.treeptr`));
    ok('medo', ['add', src, ptr[v - 1]!]);
    tree.push((JSON.parse(readFileSync(ptr[v - 1]!, 'utf8')) as { tree: string }).tree);
  }
  ok('silo', ['delta', ptr[0]!, ptr[1]!]);
  ok('silo', ['delta', ptr[1]!, ptr[2]!]);
  ok('silo', ['derive', 'tar.gz', ptr[0]!]);
  ok('silo', ['derive', 'tar.gz', ptr[2]!]);
  const forms = join(siloDir, 'derived', 'forms');
  const deltas = join(siloDir, 'derived', 'deltas');
  // What interrupted writers leave: a derive's scratch, a form whose record never landed, an unlisted delta.
  mkdirSync(join(forms, '.derive-crashed'));
  writeFileSync(join(forms, '.derive-crashed', 'out.tar.gz'), 'half\n');
  cpSync(join(forms, `${tree[0]}.tar.gz`), join(forms, `${tree[1]}.tar.gz`));
  cpSync(join(deltas, `${tree[0]}-${tree[1]}.pack`), join(deltas, `${tree[2]}-${tree[0]}.pack`));

  ok('silo', ['publish', '--browser', '--medo', medoDir, siloDir]);
  const keep = ok('medo', ['reachable', ptr[2]!]);
  // Everything was just made: nothing goes, whatever the keep list says.
  const young = JSON.parse(ok('silo', ['gc', '--prune', '--json', siloDir, '--keep', '-'], keep)) as Report;
  t.true(young.derived.filter((d) => d.action !== 'keep').every((d) => d.action === 'too-recent'), JSON.stringify(young.derived));
  t.true(existsSync(join(forms, `${tree[0]}.tar.gz`)));

  for (const n of readdirSync(forms)) age(join(forms, n));
  age(join(forms, '.derive-crashed', 'out.tar.gz'));
  for (const n of readdirSync(deltas)) age(join(deltas, n));
  const dry = JSON.parse(ok('silo', ['gc', '--json', siloDir, '--keep', '-'], keep)) as Report;
  const byAction = (r: Report, action: string): string[] => r.derived.filter((d) => d.action === action).flatMap((d) => d.files).sort();
  const d = 'derived/deltas';
  const f = 'derived/forms';
  t.deepEqual(byAction(dry, 'remove'), [
    `${d}/${tree[0]}-${tree[1]}.idx`, `${d}/${tree[0]}-${tree[1]}.pack`, `${d}/${tree[2]}-${tree[0]}.pack`,
    `${f}/.derive-crashed`, `${f}/${tree[0]}.tar.gz`, `${f}/${tree[0]}.tar.gz.json`, `${f}/${tree[1]}.tar.gz`,
  ].sort());
  t.deepEqual(byAction(dry, 'keep'), [
    `${d}/${tree[1]}-${tree[2]}.idx`, `${d}/${tree[1]}-${tree[2]}.pack`, `${f}/${tree[2]}.tar.gz`, `${f}/${tree[2]}.tar.gz.json`,
  ].sort());
  t.true(existsSync(join(forms, `${tree[0]}.tar.gz`)), 'a dry run removes nothing');
  // The silo browser's catalog shows v1 and v2, which the list leaves out.
  t.true(dry.notes.some((n) => n.startsWith('browse/catalog.json shows 2 tree(s) the keep list does not name')), JSON.stringify(dry.notes));
  // The plain report says what goes and why.
  const text = ok('silo', ['gc', siloDir, '--keep', '-'], keep);
  t.regex(text, new RegExp(`derived ${f}/${tree[0]}\\.tar\\.gz\\.json \\+ ${f}/${tree[0]}\\.tar\\.gz .*tar\\.gz of tree ${tree[0]!.slice(0, 12)}, not kept, removed by --prune`));
  t.regex(text, /whose TO is not kept/);

  const pruned = JSON.parse(ok('silo', ['gc', '--prune', '--json', siloDir, '--keep', '-'], keep)) as Report;
  t.true(pruned.pruned);
  t.deepEqual(readdirSync(forms).sort(), [`${tree[2]}.tar.gz`, `${tree[2]}.tar.gz.json`]);
  t.deepEqual(readdirSync(deltas).sort(), [`${tree[1]}-${tree[2]}.idx`, `${tree[1]}-${tree[2]}.pack`, `${tree[2]}.list`, 'index.json'].sort());
  const index = JSON.parse(readFileSync(join(deltas, 'index.json'), 'utf8')) as { deltas: { from: string; to: string }[] };
  t.deepEqual(index.deltas.map((x) => [x.from, x.to]), [[tree[1], tree[2]]]);
  t.regex(readFileSync(join(deltas, `${tree[2]}.list`), 'utf8'), new RegExp(`^D ${tree[1]} \\d+$`, 'm'));
  // v3 is whole: its tarball is still offered, the silo verifies, and v3 expands from it.
  const urls = JSON.parse(ok('medo', ['url-for', '--json', ptr[2]!])) as { derived: { form: string }[] };
  t.deepEqual(urls.derived.map((x) => x.form), ['tar.gz']);
  ok('silo', ['verify', siloDir]);
  const out = join(tmp, 'v3');
  ok('medo', ['expand', ptr[2]!, out]);
  t.is(readFileSync(join(out, 'README'), 'utf8').split('\n')[0], 'hello medo, version 3');
  // And a delta made again after the prune lists beside the one that stayed.
  ok('silo', ['delta', ptr[0]!, ptr[2]!]);
  t.is((JSON.parse(readFileSync(join(deltas, 'index.json'), 'utf8')) as { deltas: unknown[] }).deltas.length, 2);
});

test('silo delta and a prune share the upkeep lock', (t) => {
  const tmp = tempDir(t, 'medo-gc-derived-lock-');
  const { siloDir, medoDir } = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const a = join(medoDir, 'a.treeptr');
  const b = join(medoDir, 'b.treeptr');
  ok('medo', ['add', src, a]);
  writeFileSync(join(src, 'README'), 'changed\n');
  ok('medo', ['add', src, b]);
  // A live holder: this test's own process, as a repack or prune would hold it.
  const lock = acquireUpkeepLock(siloDir, 'silo repack (the test)');
  try {
    const r = cli('silo', ['delta', a, b]);
    t.is(r.status, 3, r.stderr);
    t.regex(r.stderr, /silo repack \(the test\)/);
    t.false(existsSync(join(siloDir, 'derived', 'deltas', 'index.json')), 'nothing listed');
  } finally {
    lock.release();
  }
  ok('silo', ['delta', a, b]);
  t.true(existsSync(join(siloDir, 'derived', 'deltas', 'index.json')));
});
