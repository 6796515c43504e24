// The upkeep commands end to end, as a user runs them (built with `npx tsc -p .`):
//   medo reachable DIR | silo gc SILO --keep - [--prune];  silo repack;  medo url-for
// with git as the oracle for what is reachable and for every object's bytes.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, inflateSync } from 'node:zlib';
import { git, initRepo, verifyPack } from '../helpers/git-fixture.js';
import { UpkeepFixture } from '../helpers/upkeep-fixture.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(program: 'medo' | 'silo', args: readonly string[], options: { input?: string; cwd?: string } = {}): Run {
  const env = { ...process.env };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY']) delete env[k];
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', `${program}.js`), ...args], {
    cwd: options.cwd ?? ROOT, input: options.input ?? '', env, encoding: 'utf8', maxBuffer: 1 << 28,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test.before(() => {
  for (const f of ['dist/cli/medo/reachable.js', 'dist/cli/medo/url-for.js', 'dist/cli/silo/gc.js', 'dist/cli/silo/repack.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: build with 'npx tsc -p .' before running the CLI tests`);
  }
});

function world(t: Parameters<typeof test>[1] extends (t: infer T) => unknown ? T : never) {
  const f = new UpkeepFixture(t);
  const kept = f.tree({ 'bin/tool': { exec: '#!/bin/sh\n' }, 'lib/a.py': 'a\n', 'lib/b/c.py': 'c\n', shared: 'both\n' });
  const dropped = f.tree({ 'old/x': 'x\n', shared: 'both\n', 'old/y': 'y\n' });
  const meta = f.meta(kept);
  const silo = f.silo('s.silo');
  f.store(silo, f.objects([...f.reach(kept), meta.oid]), 'loose');
  f.store(silo, f.objects(f.reach(dropped)), 'pack');
  silo.close();
  const medo = f.medoDir('m.medo', ['../s.silo']);
  const ptr = f.treeptr(medo, 'tool', { tree: kept, meta: meta.oid });
  const keep = [...new Set([...f.reach(kept), meta.oid])].sort();
  const dead = [...new Set(f.reach(dropped))].filter((o) => !keep.includes(o)).sort();
  return { f, kept, dropped, meta, medo, ptr, keep, dead, silo: join(f.root, 's.silo') };
}

test('medo reachable | silo gc --keep -: report, prune, and everything still verifies', (t) => {
  const w = world(t);
  const reach = run('medo', ['reachable', w.medo]);
  t.is(reach.code, 0, reach.stderr);
  t.is(reach.stdout, `${w.keep.join('\n')}\n`);

  const report = run('silo', ['gc', '--prune-expire', 'now', w.silo, '--keep', '-'], { input: reach.stdout });
  t.is(report.code, 0, report.stderr);
  t.regex(report.stdout, new RegExp(`unreachable: ${w.dead.length} objects`));
  t.regex(report.stdout, /4 of 5 objects unreachable \(\d+ bytes\) -> rewrite without them/, 'the pack also holds the shared blob');
  t.regex(report.stdout, /dry run: nothing removed/);
  const json = JSON.parse(run('silo', ['gc', '--prune-expire', 'now', '--json', w.silo, '--keep', '-'], { input: reach.stdout }).stdout);
  t.deepEqual(json.unreachable.oids, w.dead);

  const prune = run('silo', ['gc', '--prune-expire', 'now', '--prune', w.silo, '--keep', '-'], { input: reach.stdout });
  t.is(prune.code, 0, prune.stderr);
  t.regex(prune.stdout, new RegExp(`pruned: ${w.dead.length} objects removed`));
  const verify = run('silo', ['verify', w.silo]);
  t.is(verify.code, 0, verify.stdout);
  t.is(readdirSync(join(w.silo, 'pack')).filter((n) => n.endsWith('.pack')).length, 1, 'the old pack is replaced by one with the shared blob');
  const again = run('medo', ['reachable', w.medo]);
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout, reach.stdout);
  const ask = [...w.keep, ...w.dead].map((o) => `${o}\n`).join('');
  const batch = spawnSync(process.execPath, [join(ROOT, 'bin', 'silo.js'), 'cat-file', '--batch', w.silo], { input: ask });
  const expected = Buffer.concat([git(w.f.oracle, ['cat-file', '--batch'], w.keep.map((o) => `${o}\n`).join('')),
    Buffer.from(w.dead.map((o) => `${o} missing\n`).join(''))]);
  t.true(batch.stdout.equals(expected), 'kept objects read back as git has them; the others are gone');

  // Then repack: one pack git accepts, and a second repack changes nothing.
  const repack = run('silo', ['repack', w.silo]);
  t.is(repack.code, 0, repack.stderr);
  t.regex(repack.stdout, /folded \d+ loose objects and 1 pack into .*pack-[0-9a-f]{40}\.pack/);
  const [idx] = readdirSync(join(w.silo, 'pack')).filter((n) => n.endsWith('.idx'));
  t.is(verifyPack(w.silo, join(w.silo, 'pack', idx!)).entries.size, w.keep.length);
  t.is(run('silo', ['verify', w.silo]).code, 0);
  const twice = run('silo', ['repack', w.silo]);
  t.regex(twice.stdout, /nothing to repack/);
});

test('silo gc usage errors name what is wrong and change nothing', (t) => {
  const w = world(t);
  const bad = run('silo', ['gc', w.silo, '--keep', '-'], { input: `${w.keep[0]}\n\nzzz\n` });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /<stdin>: line 3 is not an object id.*zzz/);
  const noKeep = run('silo', ['gc', w.silo]);
  t.is(noKeep.code, 2);
  t.regex(noKeep.stderr, /--keep/);
  const missingFile = run('silo', ['gc', w.silo, '--keep', join(w.f.root, 'nope.txt')]);
  t.is(missingFile.code, 2);
  t.regex(missingFile.stderr, /nope\.txt/);
  const empty = run('silo', ['gc', '--prune', w.silo, '--keep', '-'], { input: '' });
  t.is(empty.code, 2);
  t.regex(empty.stderr, /refusing to prune them all/);
  t.is(run('medo', ['reachable', w.medo]).code, 0, 'nothing was removed');
  const notSilo = run('silo', ['gc', w.f.root, '--keep', '-'], { input: '' });
  t.is(notSilo.code, 3);
  const badSize = run('silo', ['repack', '--small', 'lots', w.silo]);
  t.is(badSize.code, 2);
  t.regex(badSize.stderr, /--small.*lots/);
});

test('medo reachable: a missing object is exit 3 naming it and the treeptr', (t) => {
  const f = new UpkeepFixture(t);
  const tree = f.tree({ 'a/b': 'b\n', c: 'c\n' });
  const objs = f.objects(f.reach(tree));
  const lost = objs.find((o) => o.content.toString() === 'b\n')!;
  const silo = f.silo('s.silo');
  f.store(silo, objs.filter((o) => o !== lost), 'loose');
  silo.close();
  const medo = f.medoDir('m.medo', ['../s.silo']);
  f.treeptr(medo, 'x', { tree });
  const r = run('medo', ['reachable', 'm.medo'], { cwd: f.root });
  t.is(r.code, 3);
  t.is(r.stdout, '');
  t.regex(r.stderr, new RegExp(`m\\.medo/x\\.treeptr: blob ${lost.oid} at "a/b" is in none of the local silos`));
  t.is(run('medo', ['reachable', join(f.root, 'nothing-here')]).code, 2);
});

test('medo reachable --history keeps an old version from a previous commit; a collected one is a warning', (t) => {
  const f = new UpkeepFixture(t);
  const repo = initRepo(join(f.root, 'work'));
  const medo = f.medoDir('work/deps.medo', ['../../s.silo']);
  const v1 = f.tree({ 'py/v': '1\n', 'py/common': 'common\n' });
  const v2 = f.tree({ 'py/v': '2\n', 'py/common': 'common\n' });
  const gone = f.tree({ 'py/v': 'collected long ago\n' });
  const silo = f.silo('s.silo');
  f.store(silo, f.objects([...f.reach(v1), ...f.reach(v2)]), 'pack');
  silo.close();
  for (const tree of [gone, v1, v2]) {
    f.treeptr(medo, 'python', { tree });
    git(repo, ['add', '-A']);
    git(repo, ['commit', '-q', '-m', tree]);
  }
  const now = run('medo', ['reachable', medo]);
  t.is(now.code, 0, now.stderr);
  t.is(now.stdout, `${[...new Set(f.reach(v2))].sort().join('\n')}\n`);
  const hist = run('medo', ['reachable', '--history', medo]);
  t.is(hist.code, 0, hist.stderr);
  t.is(hist.stdout, `${[...new Set([...f.reach(v1), ...f.reach(v2)])].sort().join('\n')}\n`);
  t.regex(hist.stderr, new RegExp(`warning: [0-9a-f]{12}:deps\\.medo/python\\.treeptr: tree ${gone} is in no local silo .*collected`));

  const gc = run('silo', ['gc', '--prune-expire', 'now', '--json', join(f.root, 's.silo'), '--keep', '-'], { input: hist.stdout });
  t.is(JSON.parse(gc.stdout).unreachable.count, 0, 'the old version is kept');
});

test('medo url-for: a loose path gunzips to the object, a packed one gives the entry git lists', (t) => {
  const w = world(t);
  const loose = run('medo', ['url-for', w.ptr]);
  t.is(loose.code, 0, loose.stderr);
  const [head, line] = loose.stdout.split('\n');
  t.is(head, `tree ${w.kept} (root)`);
  const path = /^ {2}loose (\S+)$/.exec(line!)![1]!;
  t.true(gunzipSync(readFileSync(path)).equals(git(w.f.oracle, ['cat-file', 'tree', w.kept])));

  const packed = w.f.treeptr(w.medo, 'old', { tree: w.dropped });
  const p = run('medo', ['url-for', '--all', packed]);
  t.is(p.code, 0, p.stderr);
  const m = /^ {2}pack {2}(\S+) offset=(\d+) length=(\d+) data=(\d+)\+(\d+) whole$/m.exec(p.stdout)!;
  const { entries } = verifyPack(w.f.root, m[1]!.replace(/\.pack$/, '.idx'));
  t.like(entries.get(w.dropped), { offset: Number(m[2]), sizeInPack: Number(m[3]) });
  const data = readFileSync(m[1]!).subarray(Number(m[4]), Number(m[4]) + Number(m[5]));
  t.true(inflateSync(data).equals(git(w.f.oracle, ['cat-file', 'tree', w.dropped])));
  t.is(p.stdout.split('\n').filter((l) => /^(tree|blob) /.test(l)).length, new Set(w.f.reach(w.dropped)).size);

  const json = JSON.parse(run('medo', ['url-for', '--json', w.ptr]).stdout);
  t.like(json.objects[0], { oid: w.kept, type: 'tree', role: 'root' });
  t.like(json.objects[0].locations[0], { silo: '../s.silo', kind: 'loose', location: path, checked: true });

  const remote = w.f.medoDir('r.medo', ['https://example.org/s.silo']);
  const r = run('medo', ['url-for', w.f.treeptr(remote, 'x', { tree: w.kept })]);
  t.is(r.code, 0);
  t.regex(r.stdout, new RegExp(`loose https://example\\.org/s\\.silo/objects/${w.kept.slice(0, 2)}/${w.kept.slice(2)}\\.gz \\(unchecked candidate\\)`));
  t.regex(r.stderr, /note: https:\/\/example\.org\/s\.silo\/: remote silo, not checked/);
  const badMirror = run('medo', ['url-for', '--mirror', 'nonsense', w.ptr]);
  t.is(badMirror.code, 2);

  const nowhere = w.f.treeptr(w.medo, 'nowhere', { tree: 'ab'.repeat(20) });
  const n = run('medo', ['url-for', nowhere]);
  t.is(n.code, 3);
  t.regex(n.stdout, /\(in no silo\)/);
  t.regex(n.stderr, /1 object is in no silo/);
});

test('--help for each upkeep command', (t) => {
  for (const [program, command] of [['medo', 'url-for'], ['medo', 'reachable'], ['silo', 'gc'], ['silo', 'repack']] as const) {
    const r = run(program, [command, '--help']);
    t.is(r.code, 0);
    t.true(r.stdout.startsWith(`usage: ${program} ${command}`), r.stdout);
  }
});
