// Failing reads under a live mount (issue 15, part 3): the silo sits on a file system that fails reads
// on command (test/helpers/faulty-fs.cjs: a bad stretch of a pack, as device-mapper's `error` target
// gives, or every Nth read, as `flakey` does). The mount answers EIO for the files whose bytes are on
// the bad stretch and only those, stays up, never serves a wrong byte, and once the reads succeed again
// serves those files too: a failure is not remembered as an answer.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PackFile } from '../../lib/git/pack-file.js';
import { hashObject } from '../../lib/oid.js';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { random, randomBytes } from '../helpers/history.js';
import { REPO_ROOT, forceUnmount, startMount } from '../helpers/mount-process.js';

let root: string;
let faulty: ChildProcess | undefined;
let faultyMnt: string;
let rules: string;
let medoDir: string;
let pack: string;
const files = new Map<string, Buffer>();

function setRules(r: object[]): void {
  writeFileSync(rules, `${JSON.stringify({ rules: r })}\n`);
}

test.before(async () => {
  root = sharedTempDir('medo-failing-reads-');
  const real = join(root, 'real');
  const src = join(root, 'src');
  mkdirSync(src, { recursive: true });
  const r = random(0xbad);
  for (let i = 0; i < 8; i++) files.set(`big-${i}.bin`, randomBytes(r, 300_000 + i * 1000));
  for (let i = 0; i < 40; i++) files.set(`small-${i}.txt`, Buffer.from(`small ${i}\n`.repeat(20 + i)));
  for (const [name, bytes] of files) writeFileSync(join(src, name), bytes);
  mkdirSync(real);
  const run = (program: string, args: string[]): void => {
    const x = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', `${program}.js`), ...args], { encoding: 'utf8' });
    if (x.status !== 0) throw new Error(`${program} ${args.join(' ')}: ${x.stderr}`);
  };
  run('silo', ['init', join(real, 'deps.silo')]);
  // The medo directory names the silo through the faulty mount; add writes through the real path.
  const adding = join(root, 'adding.medo');
  mkdirSync(adding);
  writeFileSync(join(adding, 'SILO.json'), `${JSON.stringify({ silos: [join(real, 'deps.silo')] })}\n`);
  run('medo', ['add', src, join(adding, 'w.treeptr')]);
  faultyMnt = join(root, 'faulty');
  mkdirSync(faultyMnt);
  medoDir = join(root, 'deps.medo');
  mkdirSync(medoDir);
  writeFileSync(join(medoDir, 'SILO.json'), `${JSON.stringify({ silos: [join(faultyMnt, 'deps.silo')] })}\n`);
  writeFileSync(join(medoDir, 'w.treeptr'), readFileSync(join(adding, 'w.treeptr')));
  pack = readdirSync(join(real, 'deps.silo', 'pack')).find((n) => n.endsWith('.pack'))!;
  rules = join(root, 'rules.json');
  setRules([]);
  faulty = spawn(process.execPath, [join(REPO_ROOT, 'test', 'helpers', 'faulty-fs.cjs'), real, faultyMnt, rules], { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO_ROOT });
  await new Promise<void>((resolve, reject) => {
    faulty!.stdout!.once('data', (d: Buffer) => (d.toString().startsWith('ready') ? resolve() : reject(new Error(d.toString()))));
    faulty!.once('exit', (code) => reject(new Error(`faulty-fs exited ${code}`)));
  });
});

test.after.always(async () => {
  if (faulty !== undefined && faulty.exitCode === null) {
    const gone = new Promise((r) => faulty!.once('exit', r));
    faulty.kill('SIGTERM');
    await gone;
  }
  if (faultyMnt !== undefined) forceUnmount(faultyMnt);
  if (root !== undefined) removeDir(root);
});

/** Where `name`'s blob sits in the pack: [start, end) of its entry. */
function entryRange(name: string): [number, number] {
  const p = PackFile.open(join(root, 'real', 'deps.silo', 'pack', pack));
  try {
    const oid = Buffer.from(hashObject('blob', files.get(name)!), 'hex');
    const at = p.find(oid)!;
    const offsets = [...Array(p.index.count).keys()].map((i) => p.index.offsetAt(i)).sort((a, b) => a - b);
    const next = offsets.find((o) => o > at) ?? p.pack.size - 20;
    return [at, next];
  } finally {
    p.close();
  }
}

async function readAll(mnt: string): Promise<Map<string, Buffer | string>> {
  const out = new Map<string, Buffer | string>();
  await Promise.all([...files.keys()].map(async (name) => {
    out.set(name, await readFile(join(mnt, 'w', name)).catch((e: NodeJS.ErrnoException) => e.code ?? String(e)));
  }));
  return out;
}

test.serial('a bad stretch of the pack is EIO for the files on it only; they read once it heals', async (t) => {
  const hit = ['big-3.bin', 'small-17.txt'];
  setRules(hit.map((name) => {
    const [from, to] = entryRange(name);
    return { file: `deps.silo/pack/${pack}`, from: from + Math.floor((to - from) / 2), to: from + Math.floor((to - from) / 2) + 1 };
  }));
  const m = await startMount(medoDir, join(root, 'mnt-error'));
  try {
    const got = await readAll(m.mnt);
    for (const [name, bytes] of files) {
      if (hit.includes(name)) t.is(got.get(name), 'EIO', name);
      else t.true(Buffer.isBuffer(got.get(name)) && (got.get(name) as Buffer).equals(bytes), `${name}: ${String(got.get(name)).slice(0, 40)}`);
    }
    t.is(m.child.exitCode, null, 'the mount is still served');
    t.regex(m.log(), new RegExp(hashObject('blob', files.get('big-3.bin')!)), 'the log names the object');
    // The disk heals: the same files read, with the right bytes, in the same mount.
    setRules([]);
    for (const name of hit) t.true((await readFile(join(m.mnt, 'w', name))).equals(files.get(name)!), `${name} after healing`);
  } finally {
    await m.stop();
  }
});

test.serial('flakey reads of the pack: every answer is either the right bytes or EIO, and all read in the end', async (t) => {
  setRules([{ file: `deps.silo/pack/${pack}`, every: 3 }]);
  const m = await startMount(medoDir, join(root, 'mnt-flakey'));
  try {
    let eio = 0;
    let right = 0;
    for (let round = 0; round < 3; round++) {
      for (const [name, got] of await readAll(m.mnt)) {
        if (got === 'EIO') eio++;
        else if (Buffer.isBuffer(got) && got.equals(files.get(name)!)) right++;
        else t.fail(`${name}: ${String(got).slice(0, 60)}`);
      }
    }
    const failed = Number(readFileSync(`${rules}.failed`, 'utf8'));
    t.log(`${failed} reads of the pack failed; files: ${eio} EIO, ${right} right`);
    t.true(failed > 0, 'the disk failed reads');
    t.true(right > 0, 'files read through');
    t.is(m.child.exitCode, null, 'the mount is still served');
    setRules([]);
    const after = await readAll(m.mnt);
    for (const [name, bytes] of files) t.true(Buffer.isBuffer(after.get(name)) && (after.get(name) as Buffer).equals(bytes), name);
  } finally {
    await m.stop();
  }
});
