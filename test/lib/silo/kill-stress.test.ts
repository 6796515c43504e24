// kill -9 at random moments of `medo add`, `silo repack`, `silo gc --prune`, `silo send` and `silo
// receive` (issue 14, "Prove it"). A seeded schedule picks, for each kill point, the command and the
// moment: uniform over the time the same command last took to run to its end. Each command runs in a
// process group of its own, and the whole group gets SIGKILL (for "receive", only the receiver that
// `silo send` started). After every kill:
//   - `silo verify` of both silos finds no problem (temp files the killed process left are notes);
//   - every .treeptr written before the command is complete in the source silo and names git's tree of
//     its source, and every version the destination held whole before a send it still holds whole;
//   - the killed command, run again, completes; after a completed prune no temp file and no lock is left
//     (after a repack, no upkeep lock: a dead add's lock is the next prune's to clear).
// At the end a prune and a repack complete, both silos verify clean, and `medo expand` of every version
// from each silo gives git's tree of its source.
//
// MEDO_KILL_POINTS=N (default 60) sets the number of kills, MEDO_KILL_SEED=S the schedule. A failure
// names the seed, the point and the command; the same seed gives the same schedule (the moments are
// times, so a replay comes near the same point, not exactly to it).
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { MODE_GITLINK, MODE_TREE } from '../../../lib/git/tree.js';
import { readTree } from '../../../lib/git/tree-walk.js';
import { readTreeptr } from '../../../lib/medo/treeptr.js';
import { listLocks } from '../../../lib/silo/lock.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { ROOT, assertBuilt } from '../../helpers/cli-process.js';
import { git, initRepo, tempDir } from '../../helpers/git-fixture.js';
import { makeMedoLayout } from '../../helpers/medo-fixture.js';

const POINTS = Number(process.env.MEDO_KILL_POINTS ?? 60);
const SEED = Number(process.env.MEDO_KILL_SEED ?? 14);
const VERSIONS = 6;

test.before(() => assertBuilt('cli/medo/add.js', 'cli/silo/gc.js', 'cli/silo/repack.js', 'cli/silo/send.js', 'cli/silo/receive.js'));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Real text (TypeScript's declaration files under 300 KB), a few lines changed per version, and many small files. */
function writeVersion(dir: string, n: number): void {
  const lib = join(ROOT, 'node_modules', 'typescript', 'lib');
  mkdirSync(join(dir, 'lib'), { recursive: true });
  const names = readdirSync(lib).filter((f) => f.endsWith('.d.ts') && statSync(join(lib, f)).size < 300_000).sort();
  for (const [i, name] of names.entries()) {
    const lines = readFileSync(join(lib, name), 'latin1').split('\n');
    if (i % VERSIONS === n) lines.splice(i % lines.length, 1, `// version ${n}`);
    writeFileSync(join(dir, 'lib', name), lines.join('\n'), 'latin1');
  }
  for (let k = 0; k < 150; k++) {
    mkdirSync(join(dir, 'small', `d${k % 10}`), { recursive: true });
    writeFileSync(join(dir, 'small', `d${k % 10}`, `f${k}.txt`), `file ${k}${k % 7 === n ? ` of version ${n}` : ''}\n`);
  }
  writeFileSync(join(dir, `VERSION`), `${n}\n`);
}

/** git's tree of `dir`: the oracle. */
function gitTree(dir: string, scratch: string): string {
  const repo = initRepo(scratch, { bare: true });
  git(dir, ['--git-dir', repo, '--work-tree', dir, 'add', '-A']);
  return git(dir, ['--git-dir', repo, '--work-tree', dir, 'write-tree']).toString().trim();
}

/** Every object below `tree` (and the sidecar `meta`) is in the silo; throws naming the first that is not. */
function holdsWhole(siloDir: string, tree: string, meta: string | undefined): void {
  const silo = Silo.open(siloDir);
  try {
    if (meta !== undefined && !silo.has(meta)) throw new Error(`the metadata sidecar ${meta} is not in ${siloDir}`);
    const todo = [tree];
    while (todo.length > 0) {
      for (const e of readTree(silo, todo.pop()!)) {
        if (e.mode === MODE_TREE) todo.push(e.oid);
        else if (e.mode !== MODE_GITLINK && !silo.has(e.oid)) throw new Error(`blob ${e.oid} (${e.name}) of tree ${tree} is not in ${siloDir}`);
      }
    }
  } finally {
    silo.close();
  }
}

function wholeIn(siloDir: string, tree: string, meta: string | undefined): boolean {
  try {
    holdsWhole(siloDir, tree, meta);
    return true;
  } catch {
    return false;
  }
}

type Op = 'add' | 'repack' | 'prune' | 'send' | 'receive';
const OPS: [Op, number][] = [['add', 0.3], ['repack', 0.15], ['prune', 0.2], ['send', 0.15], ['receive', 0.2]];

interface Cmd {
  program: 'medo' | 'silo';
  args: string[];
  stdin: string;
  what: string;
}

interface Outcome {
  /** The process (or, for receive, the receiver) was killed by our SIGKILL. */
  killed: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Runs `cmd` in a process group of its own; kills the group (or, with `receiver`, the receiver) after `killAfterMs`. */
function runKilled(cmd: Cmd, killAfterMs: number | undefined, receiver = false): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin', `${cmd.program}.js`), ...cmd.args], {
      cwd: ROOT, env: { ...process.env, CI: '1' }, stdio: ['pipe', 'ignore', 'pipe'], detached: true,
    });
    let stderr = '';
    let killed = false;
    let poll: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin!.on('error', () => {}); // a process killed before it read its stdin
    child.stdin!.end(cmd.stdin);
    child.on('error', reject);
    let target: number | undefined;
    const kill = (pid: number): void => {
      try {
        process.kill(pid, 'SIGKILL');
        killed = true;
        target = pid;
      } catch {
        // already gone: it finished first
      }
    };
    if (killAfterMs !== undefined && !receiver) timer = setTimeout(() => kill(-child.pid!), killAfterMs);
    if (killAfterMs !== undefined && receiver) {
      // The receiver is the send's child: found through /proc once it is started.
      poll = setInterval(() => {
        let kids = '';
        try {
          kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
        } catch {
          return;
        }
        if (kids === '') return;
        clearInterval(poll);
        poll = undefined;
        const pid = Number(kids.split(/\s+/)[0]);
        timer = setTimeout(() => kill(pid), killAfterMs);
      }, 2);
    }
    child.on('close', (code, signal) => {
      if (poll !== undefined) clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      // SIGKILL waits for a process in uninterruptible sleep (an fsync) to come out of it: the send is gone
      // while its receiver, reparented to init, still holds its lock for a while (seen here, then left
      // dead). A kill has landed when every process it was sent to has ended.
      const ms = Date.now() - started;
      // A kill that came after the process had ended its work (but before it was reaped) counts as none.
      const outcome = { killed: killed && (receiver ? code !== 0 : signal === 'SIGKILL'), code, signal, stderr, ms };
      (target === undefined ? Promise.resolve() : gone(target)).then(() => resolve(outcome), reject);
    });
  });
}

function cli(program: 'medo' | 'silo', args: string[], stdin = ''): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', `${program}.js`), ...args], { cwd: ROOT, input: stdin, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Who a lock's holder is, for a failure message: its parent and the parent's command line. */
function holderOf(pid: number | undefined): string {
  if (pid === undefined) return 'no pid';
  try {
    const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
    const cmd = readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0').join(' ');
    return `pid ${pid}, parent ${ppid}: ${cmd}`;
  } catch (e) {
    return `pid ${pid}: ${(e as Error).message}`;
  }
}

/** Waits (at most 60 s) until no process is left of `pid` (a process, or a group when negative). */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`SIGKILL sent to ${pid < 0 ? `process group ${-pid}` : `pid ${pid}`}, which is still there after 60 s`);
}

const tempNotes = (notes: readonly string[]): string[] => notes.filter((n) => /temp file/.test(n));

test('kill -9 at random moments of add, repack, prune, send and receive loses nothing', async (t: ExecutionContext) => {
  t.timeout(POINTS * 10_000 + 120_000);
  const dir = tempDir(t, 'medo-kill-');
  const { siloDir, medoDir } = makeMedoLayout(dir);
  const dest = join(dir, 'dest.silo');
  Silo.init(dest).close();
  const src: string[] = [];
  const want: string[] = [];
  for (let n = 0; n < VERSIONS; n++) {
    src.push(join(dir, `v${n}`));
    writeVersion(src[n]!, n);
    want.push(gitTree(src[n]!, join(dir, `judge-${n}.git`)));
  }
  const ptrOf = (n: number): string => join(medoDir, `v${n}.treeptr`);
  const written = (): number[] => [...Array(VERSIONS).keys()].filter((n) => existsSync(ptrOf(n)));
  const keepList = (): string => (written().length === 0 ? '' : cli('medo', ['reachable', medoDir]));

  const random = rng(SEED);
  const pick = (): Op => {
    let x = random();
    for (const [op, w] of OPS) if ((x -= w) < 0) return op;
    return 'add';
  };
  const command = (op: Op): Cmd => {
    switch (op) {
      case 'add': {
        const n = Math.floor(random() * VERSIONS);
        return { program: 'medo', args: ['add', src[n]!, ptrOf(n)], stdin: '', what: `medo add v${n}` };
      }
      case 'repack':
        return { program: 'silo', args: ['repack', '--lock-wait', '2m', ...(random() < 0.3 ? ['-f'] : []), siloDir], stdin: '', what: 'silo repack' };
      case 'prune': {
        const target = random() < 0.7 ? siloDir : dest;
        return {
          program: 'silo', args: ['gc', '--prune', '--prune-expire', 'now', '--allow-empty', '--lock-wait', '2m', '--keep', '-', target],
          stdin: keepList(), what: `silo gc --prune ${target === dest ? 'dest' : 'src'}`,
        };
      }
      case 'send':
      case 'receive':
        return { program: 'silo', args: ['send', siloDir, dest, medoDir], stdin: '', what: `silo send (${op} killed)` };
    }
  };

  // How long each command last took to run to its end: the span its kill moment is drawn from.
  const took = new Map<Op, number>(OPS.map(([op]) => [op, 1000]));
  const stats = new Map<Op, { killed: number; finishedFirst: number }>(OPS.map(([op]) => [op, { killed: 0, finishedFirst: 0 }]));
  const strays = new Set<string>();
  const deadLocks = new Set<string>();
  let killed = 0;
  const history: string[] = [];
  let attempts = 0;
  const started = Date.now();
  while (killed < POINTS) {
    attempts++;
    if (attempts > POINTS * 4) throw new Error(`only ${killed} of ${POINTS} kills landed in ${attempts} attempts`);
    const op = pick();
    const send = op === 'send' || op === 'receive';
    if (send && written().length === 0) continue;
    if (op === 'prune' && written().length === 0) continue;
    const cmd = command(op);
    const delay = Math.floor(random() * took.get(op)!);
    const where = `seed ${SEED}, point ${killed + 1} (attempt ${attempts}): ${cmd.what}, killed after ${delay} ms`;
    // What must survive: every treeptr written so far, and what the destination holds whole.
    const before = written().map((n) => ({ n, ptr: readTreeptr(ptrOf(n)) }));
    const destWhole = before.filter((b) => wholeIn(dest, b.ptr.tree!, b.ptr.meta));

    const r = await runKilled(cmd, delay, op === 'receive');
    history.push(`${cmd.what} after ${delay} ms: ${r.killed ? 'killed' : 'finished'} (exit ${r.code} ${r.signal ?? ''}, ${r.ms} ms)`);
    if (!r.killed) {
      stats.get(op)!.finishedFirst++;
      if (r.code !== 0) throw new Error(`${where}: it ended first, but failed: exit ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
    } else {
      killed++;
      stats.get(op)!.killed++;
    }

    const problems = [siloDir, dest].flatMap((s) => verifySilo(s).problems.map((p) => `${s}: ${p.path}: ${p.message}`));
    if (problems.length > 0) throw new Error(`${where}: silo verify: ${problems.join('; ')}`);
    for (const s of [siloDir, dest]) {
      for (const n of tempNotes(verifySilo(s).notes)) strays.add(n);
      for (const l of listLocks(s)) if (l.state === 'dead') deadLocks.add(l.path);
    }
    for (const b of before) {
      try {
        holdsWhole(siloDir, b.ptr.tree!, b.ptr.meta);
      } catch (e) {
        throw new Error(`${where}: v${b.n}, written before, is no longer whole: ${(e as Error).message}`);
      }
      const now = readTreeptr(ptrOf(b.n));
      if (now.tree !== want[b.n]) throw new Error(`${where}: v${b.n}.treeptr names ${now.tree}, git's tree is ${want[b.n]}`);
    }
    for (const b of destWhole) {
      if (!wholeIn(dest, b.ptr.tree!, b.ptr.meta)) throw new Error(`${where}: the destination lost v${b.n}, which it held whole`);
    }

    // The killed command, run again, completes (a prune's keep list made again, as a rerun would).
    if (r.killed) {
      const rerun = await runKilled(op === 'prune' ? { ...cmd, stdin: keepList() } : cmd, undefined);
      if (rerun.code !== 0) throw new Error(`${where}: the rerun failed: exit ${rerun.code} ${rerun.signal ?? ''}: ${rerun.stderr}`);
      took.set(op, rerun.ms);
    } else {
      took.set(op, r.ms);
    }
    if (op === 'add') {
      const n = Number(/v(\d+)$/.exec(cmd.what)![1]);
      const ptr = readTreeptr(ptrOf(n));
      if (ptr.tree !== want[n]) throw new Error(`${where}: after the rerun v${n}.treeptr names ${ptr.tree}, git's tree is ${want[n]}`);
      holdsWhole(siloDir, ptr.tree!, ptr.meta);
    }
    if (send) {
      for (const n of written()) {
        const p = readTreeptr(ptrOf(n));
        if (!wholeIn(dest, p.tree!, p.meta)) throw new Error(`${where}: after the rerun the destination lacks part of v${n}`);
      }
    }
    if (op === 'prune' || op === 'repack') {
      const target = cmd.args[cmd.args.length - 1]!;
      // A repack leaves a dead add's lock to the next prune, which clears every lock whose holder is gone.
      const locks = listLocks(target).filter((l) => op === 'prune' || !l.name.startsWith('add-'));
      if (locks.length > 0) throw new Error(`${where}: after the rerun ${target} has locks: ${JSON.stringify(locks)}; holders: ${locks.map((l) => holderOf(l.owner?.pid)).join('; ')}; before: ${history.slice(-4).join(' | ')}`);
      if (op === 'prune') {
        const left = tempNotes(verifySilo(target).notes);
        if (left.length > 0) throw new Error(`${where}: a completed prune left temp files: ${left.join('; ')}`);
      }
    }
  }

  // The end: every version added, a prune and a repack to their ends, everything exact.
  for (let n = 0; n < VERSIONS; n++) if (!existsSync(ptrOf(n))) cli('medo', ['add', src[n]!, ptrOf(n)]);
  cli('silo', ['send', siloDir, dest, medoDir]);
  for (const s of [siloDir, dest]) {
    cli('silo', ['gc', '--prune', '--prune-expire', 'now', '--keep', '-', s], keepList());
    cli('silo', ['repack', s]);
    const report = verifySilo(s);
    t.deepEqual(report.problems, [], `${s} verifies`);
    t.deepEqual(report.notes, [], `${s} has nothing left over`);
    t.deepEqual(listLocks(s), [], `${s} holds no lock`);
  }
  const destMedo = join(dir, 'dest.medo');
  mkdirSync(destMedo);
  writeFileSync(join(destMedo, 'SILO.json'), `${JSON.stringify({ silos: ['../dest.silo'] })}\n`);
  for (let n = 0; n < VERSIONS; n++) {
    cpSync(ptrOf(n), join(destMedo, `v${n}.treeptr`));
    for (const [from, name] of [[medoDir, 'src'], [destMedo, 'dest']] as const) {
      const out = join(dir, `out-${name}-${n}`);
      cli('medo', ['expand', join(from, `v${n}.treeptr`), out]);
      t.is(gitTree(out, join(dir, `judge-out-${name}-${n}.git`)), want[n], `v${n} expands exactly from ${name}`);
    }
  }
  const figures = [...stats].map(([op, s]) => `${op}: ${s.killed} killed, ${s.finishedFirst} finished first`).join('; ');
  t.log(`seed ${SEED}: ${killed} kills in ${attempts} attempts, ${Math.round((Date.now() - started) / 1000)} s; ${figures}; ` +
    `${strays.size} temp files left by killed processes; ${deadLocks.size} locks of killed holders left, each broken or cleared by the next command that met it`);
});
