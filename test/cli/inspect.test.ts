// `medo diff`, `ls`, `cat` and `log` as users run them: the compiled CLI in a child process, trees put
// in with `medo add`, and real git as the oracle (git diff --raw of the same trees, git ls-tree -l,
// git log).
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { git, initRepo, tempDir } from '../helpers/git-fixture.js';
import { makeMedoLayout, makeSampleTree, setMtimeNs } from '../helpers/medo-fixture.js';
import { random, randomBytes } from '../helpers/history.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'medo.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  bytes: Buffer;
}

function medo(args: string[], cwd = ROOT): Run {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'medo', 'diff.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1' }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), bytes: r.stdout };
}

function add(src: string, ptr: string): string {
  const r = medo(['add', src, ptr]);
  if (r.status !== 0) throw new Error(`medo add ${src}: ${r.stderr}`);
  return (JSON.parse(readFileSync(ptr, 'utf8')) as { tree: string }).tree;
}

interface JsonChange {
  path: string;
  status: 'added' | 'removed' | 'changed';
  fields: string[];
  old?: { kind: string; oid: string; perm: number; size?: number };
  new?: { kind: string; oid: string; perm: number; size?: number };
}

function diffJson(a: string, b: string, cwd = ROOT): { status: number | null; changes: JsonChange[]; treesRead: number } {
  const r = medo(['diff', '--json', a, b], cwd);
  if (r.status !== 0 && r.status !== 1) throw new Error(`medo diff: exit ${r.status}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { same: boolean; changes: JsonChange[]; trees_read: number };
  return { status: r.status, changes: j.changes, treesRead: j.trees_read };
}

/** git's view: `git diff --raw` between the two trees, as "path old-mode new-mode old-id new-id". */
function gitRaw(repo: string, a: string, b: string): Set<string> {
  const out = git(repo, ['diff-tree', '-r', '--raw', '--no-renames', '--no-abbrev', '-z', a, b]).toString('utf8').split('\0');
  const lines = new Set<string>();
  for (let i = 0; i + 1 < out.length; i += 2) {
    const [oldMode, newMode, oldId, newId] = out[i]!.slice(1).split(' ');
    lines.add(`${out[i + 1]} ${oldMode} ${newMode} ${oldId} ${newId}`);
  }
  return lines;
}

const Z = '0'.repeat(40);
const gitMode = (c: NonNullable<JsonChange['old']>): string => (c.kind === 'symlink' ? '120000' : (c.perm & 0o100) !== 0 ? '100755' : '100644');

/** medo's changes of file content, type or executable bit, in gitRaw's form. */
function asRaw(changes: readonly JsonChange[]): Set<string> {
  const lines = new Set<string>();
  const byPath = new Map<string, JsonChange[]>();
  for (const c of changes) {
    if ((c.old ?? c.new)!.kind === 'dir') continue;
    byPath.set(c.path, [...(byPath.get(c.path) ?? []), c]);
  }
  for (const [path, cs] of byPath) {
    const old = cs.find((c) => c.old !== undefined)?.old;
    const now = cs.find((c) => c.new !== undefined)?.new;
    const om = old === undefined ? '000000' : gitMode(old);
    const nm = now === undefined ? '000000' : gitMode(now);
    if (old !== undefined && now !== undefined && old.oid === now.oid && om === nm) continue; // modes or mtimes only
    lines.add(`${path} ${om} ${nm} ${old?.oid ?? Z} ${now?.oid ?? Z}`);
  }
  return lines;
}

test('diff lists what git diff lists, and modes and mtimes besides; exit 1 when different, 0 when the same', (t) => {
  const tmp = tempDir(t, 'medo-diff-');
  const layout = makeMedoLayout(tmp);
  const a = join(tmp, 'a');
  makeSampleTree(a);
  const b = join(tmp, 'b');
  cpSync(a, b, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  const r = random(0xd1ff);
  writeFileSync(join(b, 'added.txt'), 'new file\n');
  mkdirSync(join(b, 'new-dir', 'deep'), { recursive: true });
  writeFileSync(join(b, 'new-dir', 'deep', 'x.bin'), randomBytes(r, 5000));
  rmSync(join(b, 'bin'), { recursive: true, force: true });
  const files = execFileSync('find', [b, '-type', 'f', '-size', '-100k'], { encoding: 'utf8' }).trim().split('\n').filter((f) => !f.includes('new-dir'));
  writeFileSync(files[0]!, 'changed content\n');
  chmodSync(files[1]!, 0o755); // the executable bit: git sees it too
  chmodSync(files[2]!, 0o600); // seen only through the sidecar
  setMtimeNs(files[3]!, 1_600_000_000, 123_456_789);
  const pa = join(layout.medoDir, 'a.treeptr');
  const pb = join(layout.medoDir, 'b.treeptr');
  const ta = add(a, pa);
  const tb = add(b, pb);

  const repo = initRepo(join(tmp, 'oracle'), { bare: true });
  git(repo, ['--work-tree', a, 'add', '-A']);
  t.is(git(repo, ['write-tree']).toString().trim(), ta);
  git(repo, ['--work-tree', b, 'add', '-A']);
  t.is(git(repo, ['write-tree']).toString().trim(), tb);

  const d = diffJson(pa, pb);
  t.is(d.status, 1);
  t.deepEqual([...asRaw(d.changes)].sort(), [...gitRaw(repo, ta, tb)].sort());
  const rel = (f: string): string => f.slice(b.length + 1);
  const of = (p: string): JsonChange | undefined => d.changes.find((c) => c.path === p && c.status === 'changed');
  t.deepEqual(of(rel(files[0]!))?.fields, ['content', 'mtime']); // writing it moved its mtime
  t.true(of(rel(files[1]!))?.fields.includes('mode'));
  t.deepEqual(of(rel(files[2]!))?.fields, ['mode']);
  t.is(of(rel(files[2]!))?.new?.perm, 0o600);
  t.deepEqual(of(rel(files[3]!))?.fields, ['mtime']);
  // Sizes are the blobs' own.
  const x = d.changes.find((c) => c.path === 'new-dir/deep/x.bin');
  t.is(x?.status, 'added');
  t.is(x?.new?.size, 5000);

  // The text forms, and the same answer with either side a directory on disk or a tree id.
  // git's path quoting aside (a name with bytes past ASCII is quoted), the paths of the JSON.
  const ascii = (p: string): boolean => /^[\x20-\x7e]*$/.test(p) && !p.includes('"') && !p.includes('\\');
  const names = medo(['diff', '--name-only', pa, pb]).stdout.trim().split('\n');
  const paths = [...new Set(d.changes.map((c) => c.path || '.'))];
  t.is(names.length, paths.length);
  t.deepEqual(names.filter(ascii), paths.filter(ascii));
  t.deepEqual(diffJson(pa, b).changes.map((c) => `${c.status} ${c.path}`), d.changes.map((c) => `${c.status} ${c.path}`));
  // By tree ids there are no sidecars: only what git holds is compared, and that is git's answer exactly.
  const byId = diffJson(ta, tb, layout.medoDir);
  t.deepEqual([...asRaw(byId.changes)].sort(), [...gitRaw(repo, ta, tb)].sort());
  t.is(byId.changes.length, gitRaw(repo, ta, tb).size + byId.changes.filter((c) => c.status === 'added' && c.path === '').length);
  const text = medo(['diff', pa, pb]);
  t.is(text.status, 1);
  t.regex(text.stdout, new RegExp(`^changed ${rel(files[2]!).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: mode 0644 -> 0600$`, 'm'));
  t.regex(text.stdout, /^added {3}new-dir\/deep\/x\.bin \(file, 0644, 5000 bytes\)$/m);
  t.regex(medo(['diff', '--stat', pa, pb]).stdout, /paths: \d+ added, \d+ removed, \d+ changed; \+\d+ -\d+ bytes$/m);

  const same = medo(['diff', pa, a]);
  t.is(same.status, 0, same.stderr);
  t.is(same.stdout, '');
  t.is(medo(['diff', pb, pb]).status, 0);
  const bad = medo(['diff', pa, join(tmp, 'nowhere')]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /nowhere: no such file or directory/);
});

test('diff reads only the trees on the path of a change, however large the trees', (t) => {
  const tmp = tempDir(t, 'medo-diff-cost-');
  const layout = makeMedoLayout(tmp);
  const a = join(tmp, 'a');
  // 3 levels of 8 directories, 4 files in each leaf: 585 trees.
  for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) for (let k = 0; k < 8; k++) {
    const dir = join(a, `d${i}`, `e${j}`, `f${k}`);
    mkdirSync(dir, { recursive: true });
    for (let n = 0; n < 4; n++) writeFileSync(join(dir, `file${n}.txt`), `${i} ${j} ${k} ${n}\n`);
  }
  const b = join(tmp, 'b');
  execFileSync('cp', ['-a', a, b]); // every mtime kept, directories' too
  writeFileSync(join(b, 'd3', 'e5', 'f1', 'file2.txt'), 'changed\n');
  const pa = join(layout.medoDir, 'a.treeptr');
  const pb = join(layout.medoDir, 'b.treeptr');
  add(a, pa);
  add(b, pb);
  const d = diffJson(pa, pb);
  t.deepEqual(d.changes.filter((c) => !(c.fields.length === 1 && c.fields[0] === 'mtime')).map((c) => `${c.status} ${c.path} ${c.fields.join(',')}`),
    ['changed d3/e5/f1/file2.txt content,mtime']);
  // Root, d3, e5 and f1 on each side: 8 of the 1,170 trees.
  t.is(d.treesRead, 8);

  // A change of modes alone, below subtrees whose ids are equal: found in the sidecars, no tree walked.
  const c = join(tmp, 'c');
  execFileSync('cp', ['-a', a, c]);
  chmodSync(join(c, 'd6', 'e0', 'f7', 'file1.txt'), 0o444);
  const pc = join(layout.medoDir, 'c.treeptr');
  add(c, pc);
  const m = diffJson(pa, pc);
  t.deepEqual(m.changes.filter((x) => x.fields.includes('mode')).map((x) => `${x.path} ${x.old?.perm.toString(8)} ${x.new?.perm.toString(8)}`),
    ['d6/e0/f7/file1.txt 644 444']);
  t.is(m.treesRead, 4, 'the path looked up once: root, d6, e0, f7');
});

test('ls lists as git ls-tree -l does, with modes and mtimes; cat gives the bytes and follows symlinks inside the tree', (t) => {
  const tmp = tempDir(t, 'medo-ls-');
  const layout = makeMedoLayout(tmp);
  const a = join(tmp, 'a');
  makeSampleTree(a);
  mkdirSync(join(a, 'links'));
  symlinkSync('../top.bin', join(a, 'links', 'up'));
  symlinkSync('../../etc/passwd', join(a, 'links', 'out'));
  writeFileSync(join(a, 'top.bin'), randomBytes(random(7), 300_000));
  const ptr = join(layout.medoDir, 'a.treeptr');
  const tree = add(a, ptr);
  const repo = initRepo(join(tmp, 'oracle'), { bare: true });
  git(repo, ['--work-tree', a, 'add', '-A']);
  t.is(git(repo, ['write-tree']).toString().trim(), tree);

  const ls = medo(['ls', '-R', '--json', ptr]);
  t.is(ls.status, 0, ls.stderr);
  const rows = JSON.parse(ls.stdout) as { path: string; kind: string; size: number; oid: string; perm: number; mtime?: string }[];
  const expected = git(repo, ['ls-tree', '-r', '-l', '-z', tree]).toString('utf8').split('\0').filter((l) => l !== '').map((l) => {
    const [meta, path] = l.split('\t');
    const [, , oid, size] = meta!.split(/ +/);
    return `${path} ${oid} ${size}`;
  }).sort();
  t.deepEqual(rows.filter((r) => r.kind !== 'dir').map((r) => `${r.path} ${r.oid} ${r.size}`).sort(), expected);
  t.true(rows.every((r) => r.mtime !== undefined));
  // Every path a sidecar names, empty directories too.
  t.true(rows.some((r) => r.kind === 'dir' && r.oid === '4b825dc642cb6eb9a060e54bf8d69288fbee4904'));

  const one = medo(['ls', ptr, 'top.bin']);
  t.regex(one.stdout, /^-rw-r--r-- 300000 \S+ top\.bin\n$/);
  const top = medo(['ls', ptr]);
  t.regex(top.stdout, /^d\S+ +0 \S+ links$/m);
  t.notRegex(top.stdout, /links\/up/);

  const cat = medo(['cat', ptr, 'top.bin']);
  t.is(cat.status, 0, cat.stderr);
  t.true(cat.bytes.equals(readFileSync(join(a, 'top.bin'))));
  t.true(medo(['cat', ptr, 'links/up']).bytes.equals(readFileSync(join(a, 'top.bin'))));
  const out = medo(['cat', ptr, 'links/out']);
  t.is(out.status, 3);
  t.regex(out.stderr, /links\/out is a symlink to "\.\.\/\.\.\/etc\/passwd", outside the tree/);
  const missing = medo(['cat', ptr, 'no/such']);
  t.is(missing.status, 3);
  t.regex(missing.stderr, /has no no\/such/);
  t.is(medo(['cat', ptr, 'links']).status, 3);
});

test('log lists each commit that changed a .treeptr, newest first, as git log does', (t) => {
  const tmp = tempDir(t, 'medo-log-');
  const layout = makeMedoLayout(tmp);
  initRepo(tmp);
  const src = join(tmp, 'src');
  mkdirSync(src);
  const ptr = join(layout.medoDir, 'w.treeptr');
  const trees: string[] = [];
  for (let v = 1; v <= 3; v++) {
    writeFileSync(join(src, `v${v}.txt`), `version ${v}\n`);
    trees.push(add(src, ptr));
    git(tmp, ['add', 'deps.medo']);
    git(tmp, ['commit', '-q', '-m', `version ${v}`]);
    writeFileSync(join(layout.medoDir, 'other.txt'), `${v}`); // commits that do not touch the .treeptr
    git(tmp, ['add', 'deps.medo']);
    git(tmp, ['commit', '-q', '-m', `other ${v}`]);
  }
  const r = medo(['log', '--json', ptr]);
  t.is(r.status, 0, r.stderr);
  const log = JSON.parse(r.stdout) as { commit: string; subject: string; change: string; treeptr?: { tree: string; files: number } }[];
  t.deepEqual(log.map((e) => e.commit), git(tmp, ['log', '--format=%H', '--', 'deps.medo/w.treeptr']).toString().trim().split('\n'));
  t.deepEqual(log.map((e) => e.subject), ['version 3', 'version 2', 'version 1']);
  t.deepEqual(log.map((e) => e.treeptr?.tree), [...trees].reverse());
  t.deepEqual(log.map((e) => e.treeptr?.files), [3, 2, 1]);
  t.deepEqual(log.map((e) => e.change), ['modified', 'modified', 'added']);
  const text = medo(['log', ptr]).stdout;
  t.regex(text, new RegExp(`^    tree ${trees[2]}  \\d+ bytes, 3 files$`, 'm'));

  // An older version by revision, compared with the newest.
  const d = diffJson(`${log[2]!.commit}:deps.medo/w.treeptr`, ptr, tmp);
  t.deepEqual(d.changes.filter((c) => c.status !== 'changed').map((c) => `${c.status} ${c.path}`), ['added v2.txt', 'added v3.txt']);
});
