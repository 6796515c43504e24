// The rsync recipe of docs/operations.md ("Static copies with rsync or rclone") end to end: a silo is
// copied with real rsync into a directory real nginx serves, while the source gets a new version, a
// static delta and a repack that deletes the packs the copy's readers are using. After every step of
// the recipe the copy's lists name only what the copy holds, and every reader of the copy is whole: a
// new client expands every version the copy lists (git is the oracle for the trees), a client reading
// during a slow step never fails, and a client that has held the copy's old pack list since before the
// copy reads on after the packs it names are deleted.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { medoAdd } from '../../../lib/medo/ingest/add.js';
import { hashObject } from '../../../lib/oid.js';
import { openCache } from '../../../lib/remote/cache.js';
import { RemoteStore } from '../../../lib/remote/remote-store.js';
import { PACK_LIST, parsePackList } from '../../../lib/silo/pack-list.js';
import { DELTAS_DIR, DELTA_INDEX, deltaPackPath, parseDeltaIndex, parseDeltasTo } from '../../../lib/silo/static-delta.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { git, gitLines, initRepo, tempDir } from '../../helpers/git-fixture.js';
import { makeMedoLayout } from '../../helpers/medo-fixture.js';
import { readLog, startNginx } from '../../helpers/silo-servers.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const MEDO = join(ROOT, 'bin', 'medo.js');
const SILO = join(ROOT, 'bin', 'silo.js');
const RSYNC = ['/usr/bin/rsync', '/bin/rsync'].find((p) => existsSync(p));

/** Real text (TypeScript's declaration files), some lines changed per version, one file new in each. */
function writeVersion(dir: string, n: number): void {
  const lib = join(ROOT, 'node_modules', 'typescript', 'lib');
  mkdirSync(join(dir, 'lib'), { recursive: true });
  for (const [i, name] of readdirSync(lib).filter((f) => f.endsWith('.d.ts')).sort().slice(0, 60).entries()) {
    const lines = readFileSync(join(lib, name), 'latin1').split('\n');
    if (i % 3 === n % 3) lines.splice(i % lines.length, 1, `// version ${n}`);
    writeFileSync(join(dir, 'lib', name), lines.join('\n'), 'latin1');
  }
  writeFileSync(join(dir, `NEW-${n}`), `only in version ${n}\n`.repeat(50));
}

function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The recipe, step by step, exactly as docs/operations.md gives it. */
function recipe(src: string, dest: string): string[][] {
  return [
    ['-a', '--exclude', 'locks/', '--exclude', '.tmp-*', '--exclude', 'pack/packs', '--exclude', 'derived/deltas/*.list', '--exclude', 'derived/deltas/index.json', `${src}/`, `${dest}/`],
    ['-a', '--include', 'pack/', '--include', 'pack/packs', '--include', 'derived/', '--include', 'derived/deltas/', '--include', 'derived/deltas/*.list', '--include', 'derived/deltas/index.json',
      '--exclude', '*', `${src}/`, `${dest}/`],
    ['-a', '--delete', '--exclude', 'locks/', '--exclude', '.tmp-*', `${src}/`, `${dest}/`],
  ];
}

function rsync(args: readonly string[]): void {
  const r = spawnSync(RSYNC!, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rsync ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

/** Runs rsync in the background; resolves when it has ended well. */
function rsyncAsync(args: readonly string[]): { done: Promise<void>; running: () => boolean } {
  const child = spawn(RSYNC!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let ended = false;
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<void>((resolve, reject) => child.once('exit', (code) => {
    ended = true;
    if (code === 0) resolve();
    else reject(new Error(`rsync ${args.join(' ')}: exit ${code}: ${err}`));
  }));
  return { done, running: () => !ended };
}

/** Every pack and static delta the copy's two lists name is in the copy, whole (the sizes listed). */
function listsNameOnlyWhatIsThere(t: ExecutionContext, dest: string, when: string): string[] {
  const packs = existsSync(join(dest, PACK_LIST)) ? parsePackList(readFileSync(join(dest, PACK_LIST), 'utf8'), PACK_LIST) : [];
  for (const p of packs) {
    for (const [ext, bytes] of [['pack', p.packBytes], ['idx', p.idxBytes]] as const) {
      const file = join(dest, 'pack', `${p.name}.${ext}`);
      t.true(existsSync(file) && statSync(file).size === bytes, `${when}: ${PACK_LIST} names ${p.name}.${ext}, whole in the copy`);
    }
  }
  const indexFile = join(dest, DELTAS_DIR, DELTA_INDEX);
  if (existsSync(indexFile)) {
    for (const d of parseDeltaIndex(readFileSync(indexFile, 'utf8'), indexFile).deltas) {
      for (const [ext, bytes] of [['pack', d.packBytes], ['idx', d.idxBytes]] as const) {
        const file = join(dest, DELTAS_DIR, `${d.pack}.${ext}`);
        t.true(existsSync(file) && statSync(file).size === bytes, `${when}: the delta index names ${d.pack}.${ext}, whole in the copy`);
      }
    }
  }
  // What clients read: each TO.list names packs that are there, whole.
  const deltas = join(dest, DELTAS_DIR);
  for (const n of existsSync(deltas) ? readdirSync(deltas).filter((f) => f.endsWith('.list')) : []) {
    const to = n.slice(0, -'.list'.length);
    for (const [from, bytes] of parseDeltasTo(readFileSync(join(deltas, n), 'utf8'), n)) {
      const file = join(dest, `${deltaPackPath(from, to)}.pack`);
      t.true(existsSync(file) && statSync(file).size === bytes, `${when}: ${n} names ${from}-${to}.pack, whole in the copy`);
    }
  }
  return packs.map((p) => p.name);
}

/** The tree git makes of `dir`, and every object below it. */
function gitTree(dir: string, scratch: string): { tree: string; oids: string[] } {
  const repo = initRepo(scratch, { bare: true });
  const g = (args: string[]): string => git(dir, ['--git-dir', repo, '--work-tree', dir, ...args]).toString().trim();
  g(['add', '-A']);
  const tree = g(['write-tree']);
  return { tree, oids: [tree, ...gitLines(repo, ['ls-tree', '-r', '-t', '--format=%(objectname)', tree])] };
}

const packsIn = (dir: string): string[] => readdirSync(join(dir, 'pack')).filter((n) => n.endsWith('.pack')).map((n) => n.slice(0, -5)).sort();

/** Files of a silo that a copy must have, with their sizes: all but locks and temp files. */
function files(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const path = join(rel, e.name);
    if (path === 'locks' || e.name.startsWith('.tmp-')) continue;
    if (e.isDirectory()) out.push(...files(dir, path));
    else out.push(`${path} ${statSync(join(dir, path)).size}`);
  }
  return out.sort();
}

test('the rsync recipe keeps every reader of an nginx-served copy whole at each step', async (t) => {
  if (RSYNC === undefined) throw new Error('rsync is not installed: run scripts/setup.sh');
  const dir = tempDir(t);
  const layout = makeMedoLayout(dir); // the source silo and its medo directory
  const dest = join(dir, 'copy.silo');
  mkdirSync(dest);
  const nginx = await startNginx(dest, join(dir, 'nginx'));
  t.teardown(() => nginx.stop());

  // Clients of the copy: a medo directory naming the nginx URL, with the source's treeptrs.
  const client = join(dir, 'client.medo');
  mkdirSync(client);
  writeFileSync(join(client, 'SILO.json'), `${JSON.stringify({ silos: [nginx.url] })}\n`);
  const src: string[] = [];
  const ptr: string[] = [];
  const want: { tree: string; oids: string[] }[] = [];
  const addVersion = async (n: number): Promise<void> => {
    const s = join(dir, `v${n}`);
    writeVersion(s, n);
    const p = join(layout.medoDir, `${n}.0.treeptr`);
    await medoAdd({ src: s, out: p, threads: 0, deltaBase: false });
    cpSync(p, join(client, `${n}.0.treeptr`));
    src.push(s);
    ptr.push(join(client, `${n}.0.treeptr`));
    want.push(gitTree(s, join(dir, `judge-${n}.git`)));
  };
  let fresh = 0;
  /** A new client (empty cache) expands version `i` from the copy; the result is what git makes of the source. */
  const expands = (i: number, when: string, cache = join(dir, `cache-${++fresh}`)): boolean => {
    const out = join(dir, `out-${++fresh}`);
    const r = run(MEDO, ['expand', ptr[i]!, out], { MEDO_CACHE_DIR: cache });
    if (r.status !== 0) {
      t.fail(`${when}: expand of version ${i + 1} from the copy: exit ${r.status}: ${r.stderr}`);
      return false;
    }
    const got = gitTree(out, join(dir, `judge-out-${fresh}.git`)).tree;
    t.is(got, want[i]!.tree, `${when}: version ${i + 1} expands from the copy exactly`);
    return got === want[i]!.tree;
  };

  // Round 1: version 1, copied whole.
  await addVersion(1);
  for (const args of recipe(layout.siloDir, dest)) rsync(args);
  listsNameOnlyWhatIsThere(t, dest, 'first copy');
  expands(0, 'first copy');

  // A long-running reader (as a mount is): it reads the list now and some of version 1's objects.
  const held = new RemoteStore([nginx.url], openCache(join(dir, 'held-cache')), { retries: 0, relistAfterMs: 0 });
  t.teardown(() => held.close());
  const half = Math.floor(want[0]!.oids.length / 2);
  for (const oid of want[0]!.oids.slice(0, half)) await held.ensure(oid);
  const oldPacks = packsIn(dest);

  // Round 2: the source gets version 2, a static delta 1 -> 2, and a repack that deletes the old packs.
  await addVersion(2);
  const delta = run(SILO, ['delta', join(layout.medoDir, '1.0.treeptr'), join(layout.medoDir, '2.0.treeptr'), '--json']);
  t.is(delta.status, 0, delta.stderr);
  const deltaPack = (JSON.parse(delta.stdout) as { entry: { pack: string } }).entry.pack;
  const repack = run(SILO, ['repack', layout.siloDir]);
  t.is(repack.status, 0, repack.stderr);
  t.deepEqual(verifySilo(layout.siloDir).problems, []);
  const newPacks = packsIn(layout.siloDir);
  t.true(oldPacks.every((p) => !newPacks.includes(p)), 'the repack replaced the packs the copy lists');

  const [step1, step2, step3] = recipe(layout.siloDir, dest);
  // Step 1, slowed down so that clients read the copy while it runs: they see the old list, whole.
  const slow = rsyncAsync(['--bwlimit=150', ...step1!]);
  let during = 0;
  while (slow.running()) {
    expands(0, 'during step 1');
    during++;
    await new Promise((resolve) => setTimeout(resolve, 50)); // lets rsync's exit be seen
  }
  await slow.done;
  t.true(during >= 1, 'a client read the copy while step 1 ran');
  t.deepEqual(listsNameOnlyWhatIsThere(t, dest, 'after step 1'), oldPacks, 'step 1 leaves the list alone');
  t.true([...oldPacks, ...newPacks].every((p) => existsSync(join(dest, 'pack', `${p}.pack`))), 'old and new packs are both in the copy');
  expands(0, 'after step 1');

  // Step 2: the lists. Both versions expand; a host holding version 1 takes the static delta for 2.
  rsync(step2!);
  t.deepEqual(listsNameOnlyWhatIsThere(t, dest, 'after step 2'), newPacks);
  expands(0, 'after step 2');
  expands(1, 'after step 2');
  const warm = join(dir, 'warm-cache');
  expands(0, 'after step 2, warming a cache', warm);
  const before = readLog(nginx.log).length;
  expands(1, 'after step 2, from a cache holding version 1', warm);
  t.true(readLog(nginx.log).slice(before).some((l) => l.request.includes(`derived/deltas/${deltaPack}.pack`) && l.status === 200),
    'the static delta was fetched from the copy');

  // Step 3: what the source no longer holds goes. The copy is now the source's files exactly.
  rsync(step3!);
  t.deepEqual(listsNameOnlyWhatIsThere(t, dest, 'after step 3'), newPacks);
  t.true(oldPacks.every((p) => !existsSync(join(dest, 'pack', `${p}.pack`)) && !existsSync(join(dest, 'pack', `${p}.idx`))), 'the old packs are gone from the copy');
  t.deepEqual(files(dest), files(layout.siloDir));
  t.deepEqual(verifySilo(dest).problems, []);
  expands(0, 'after step 3');
  expands(1, 'after step 3');

  // The long-running reader still holds the first list, whose packs are gone: it reads on, the rest of
  // version 1 and all of version 2, every object checked against its id.
  const rest = [...want[0]!.oids.slice(half), ...want[1]!.oids];
  const wrong: string[] = [];
  for (const oid of rest) {
    const o = await held.ensure(oid);
    if (hashObject(o.type, o.content) !== oid) wrong.push(oid);
  }
  t.deepEqual(wrong, []);
  t.true(readLog(nginx.log).some((l) => oldPacks.some((p) => l.request.includes(`pack/${p}.pack`)) && l.status === 404),
    'the held reader did meet a deleted pack');
});
