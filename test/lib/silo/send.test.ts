// silo send / silo receive between local silos: exactly the objects a set needs, only those the
// destination lacks, deltas kept, nothing sent when nothing is lacking; and a receiver that checks
// everything it is sent: a sender that lies, a pack cut short or a receiver killed mid-transfer leave the
// destination as it was. git is the oracle for the objects.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PackWriter } from '../../../lib/git/pack-writer.js';
import { repack } from '../../../lib/silo/repack.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { ROOT, assertBuilt, describeRun, runCli } from '../../helpers/cli-process.js';
import type { GitObject } from '../../helpers/git-fixture.js';
import { startSshd } from '../../helpers/sshd.js';
import { UpkeepFixture, type FileSpec } from '../../helpers/upkeep-fixture.js';

assertBuilt('cli/silo.js', 'cli/silo/send.js');

/** Some files, and the next version of them: most unchanged, some edited a little, one new. */
function files(version: number): FileSpec {
  const out: FileSpec = {};
  const ts = join(ROOT, 'node_modules', 'typescript', 'lib');
  const names = readdirSync(ts).filter((n) => n.startsWith('lib.es20') && n.endsWith('.d.ts')).sort().slice(0, 30);
  names.forEach((n, i) => {
    let b = readFileSync(join(ts, n));
    if (version > 0 && i % 4 === 0) b = Buffer.concat([b, Buffer.from(`\n// edited in version ${version}\n`)]);
    out[`lib/${n}`] = b;
  });
  out[`notes/v${version}.txt`] = `version ${version}\n`;
  out['bin/run'] = { exec: '#!/bin/sh\necho hi\n' };
  out['link'] = { link: 'lib' };
  return out;
}

interface Setup {
  f: UpkeepFixture;
  src: string;
  medo: string;
  /** Each version's treeptr, and every object it needs. */
  versions: { treeptr: string; objects: GitObject[] }[];
}

/** A source silo holding `count` versions, each in a pack of its own, named by treeptrs in one medo directory. */
function setup(t: ExecutionContext, count = 2): Setup {
  const f = new UpkeepFixture(t);
  const silo = f.silo('src.silo');
  const medo = f.medoDir('deps.medo', ['../src.silo']);
  const versions: Setup['versions'] = [];
  for (let v = 0; v < count; v++) {
    const tree = f.tree(files(v));
    const meta = f.meta(tree);
    const objects = [...f.objects(f.reach(tree)), meta];
    f.store(silo, objects, 'pack');
    versions.push({ treeptr: f.treeptr(medo, `pkg/v${v}`, { tree, meta: meta.oid }), objects });
  }
  silo.close();
  return { f, src: join(f.root, 'src.silo'), medo, versions };
}

/** Every object reads back from `dir` as git has it. */
function holdsExactly(t: ExecutionContext, dir: string, objects: readonly GitObject[]): void {
  const silo = Silo.open(dir);
  try {
    const wrong = objects.filter((o) => {
      const got = silo.read(o.oid);
      return got === undefined || got.type !== o.type || !got.content.equals(o.content);
    });
    t.deepEqual(wrong.map((o) => o.oid), [], `${dir} holds every object as git has it`);
  } finally {
    silo.close();
  }
  t.deepEqual(verifySilo(dir).problems, []);
}

/** Every file of the silo's objects/ and pack/, with sizes: what "left as it was" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const p = join(rel, name);
      const st = statSync(join(dir, p));
      if (st.isDirectory()) walk(p);
      else out.push(`${p} ${st.size}`);
    }
  };
  for (const sub of ['objects', 'pack']) walk(sub);
  return out;
}

const unique = (objects: readonly GitObject[]): GitObject[] => [...new Map(objects.map((o) => [o.oid, o])).values()];

test('a medo directory into a new silo: exactly what its treeptrs need; a second send moves nothing and says so', async (t) => {
  const s = setup(t);
  const dest = join(s.f.root, 'copy.silo');
  const r = await runCli('silo', ['send', '--json', s.src, dest, s.medo]);
  t.is(r.code, 0, describeRun(r));
  const all = unique(s.versions.flatMap((v) => v.objects));
  const report = JSON.parse(r.stdout);
  t.like(report, { offered: all.length, needed: all.length, objects: all.length, created: true });
  holdsExactly(t, dest, all);
  t.deepEqual(readdirSync(join(dest, 'pack')).filter((n) => n.endsWith('.idx')), [`${report.pack}.idx`]);
  t.regex(readFileSync(join(dest, 'pack', 'packs'), 'utf8'), new RegExp(report.pack));

  const again = await runCli('silo', ['send', s.src, dest, s.medo]);
  t.is(again.code, 0, describeRun(again));
  t.regex(again.stdout, new RegExp(`holds all ${all.length} objects already: nothing sent`));
  t.deepEqual(readdirSync(join(dest, 'pack')).filter((n) => n.endsWith('.idx')), [`${report.pack}.idx`], 'no new pack');
});

test('only what DEST lacks moves, as deltas against what it has; a keep list on stdin names the set', async (t) => {
  const s = setup(t, 3);
  await repack(s.src, { threads: 0 }); // deltas between the versions
  const dest = join(s.f.root, 'copy.silo');
  const first = await runCli('silo', ['send', '--json', s.src, dest, s.versions[0]!.treeptr]);
  t.is(first.code, 0, describeRun(first));
  const v0 = unique(s.versions[0]!.objects);
  t.is(JSON.parse(first.stdout).objects, v0.length);

  const keep = await runCli('medo', ['reachable', s.medo]);
  t.is(keep.code, 0, describeRun(keep));
  const r = await runCli('silo', ['send', '--json', '--keep', '-', s.src, dest], keep.stdout);
  t.is(r.code, 0, describeRun(r));
  const report = JSON.parse(r.stdout);
  const all = unique(s.versions.flatMap((v) => v.objects));
  const have = new Set(v0.map((o) => o.oid));
  const lacking = all.filter((o) => !have.has(o.oid));
  t.like(report, { offered: all.length, needed: lacking.length, objects: lacking.length, created: false });
  t.true(report.deltas > 0, `deltas kept: ${report.deltas} of ${report.objects}`);
  const lackingBytes = lacking.reduce((n, o) => n + o.content.length, 0);
  t.true(report.packBytes < lackingBytes / 3, `${report.packBytes} bytes sent for ${lackingBytes} bytes of objects`);
  holdsExactly(t, dest, all);
});

test('ids of a keep list that SRC lacks are skipped with a note; bad arguments are usage errors', async (t) => {
  const s = setup(t, 1);
  const dest = join(s.f.root, 'copy.silo');
  const keep = `${s.versions[0]!.objects.map((o) => o.oid).join('\n')}\n${'ab'.repeat(20)}\n`;
  const r = await runCli('silo', ['send', '--keep', '-', s.src, dest], keep);
  t.is(r.code, 0, describeRun(r));
  t.regex(r.stdout, /note: 1 id of the keep list is not in/);
  for (const args of [['send', s.src], ['send', s.src, dest], ['send', s.src, 'http://host/x', s.medo], ['send', s.src, 'ssh://host', s.medo]]) {
    const bad = await runCli('silo', args);
    t.is(bad.code, 2, describeRun(bad));
  }
  const notSilo = await runCli('silo', ['send', s.src, s.medo, s.medo]);
  t.is(notSilo.code, 3, describeRun(notSilo));
  t.regex(notSilo.stderr, /not a silo and not empty/);
});

test('a receiver killed mid-transfer leaves DEST as it was; verify passes, a prune clears the stray, a rerun completes', async (t) => {
  const s = setup(t);
  const dest = join(s.f.root, 'copy.silo');
  t.is((await runCli('silo', ['send', s.src, dest, s.versions[0]!.treeptr])).code, 0);
  const before = snapshot(dest);
  const killed = await runCli('silo', ['send', s.src, dest, s.medo], '', { MEDO_TEST_RECEIVE_DIE_AT: '2000' });
  t.is(killed.code, 3, describeRun(killed));
  t.regex(killed.stderr, /killed by SIGKILL.*left as it was/);
  const after = snapshot(dest);
  const strays = after.filter((l) => !before.includes(l));
  t.true(strays.every((l) => /^pack\/\.tmp-receive-/.test(l)), strays.join(', '));
  t.deepEqual(after.filter((l) => !strays.includes(l)), before);
  const v = verifySilo(dest);
  t.deepEqual(v.problems, []);
  t.true(v.notes.some((n) => /leftover temp file .*\.tmp-receive-/.test(n)), v.notes.join('\n'));
  const keep = await runCli('medo', ['reachable', s.versions[0]!.treeptr]);
  const gc = await runCli('silo', ['gc', '--prune', '--prune-expire', 'now', dest, '--keep', '-'], keep.stdout);
  t.is(gc.code, 0, describeRun(gc));
  t.deepEqual(snapshot(dest), before, 'the prune cleared the stray');
  const rerun = await runCli('silo', ['send', s.src, dest, s.medo]);
  t.is(rerun.code, 0, describeRun(rerun));
  holdsExactly(t, dest, unique(s.versions.flatMap((v) => v.objects)));
});

// A sender that lies: `silo receive` driven by hand through the protocol.

interface Script {
  /** Lines to write as they are, instead of the script below. */
  raw?: string[];
  /** Ids offered; default: the objects' ids. */
  want?: unknown[];
  /** Sends after hearing what is needed: the raw bytes and messages to write. */
  then?: (need: string[]) => Buffer[];
}

async function lyingSender(dest: string, script: Script, objects: readonly GitObject[]): Promise<{ code: number | null; stderr: string; replies: string[] }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'silo.js'), 'receive', dest], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  child.stdin.on('error', () => undefined);
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = (m: unknown): Buffer => Buffer.from(`${JSON.stringify(m)}\n`);
  child.stdin.write(line({ op: 'hello', protocol: 'medo-send', version: 1 }));
  const want = script.want ?? objects.map((o) => o.oid);
  child.stdin.write(line({ op: 'want', ids: want }));
  child.stdin.write(line({ op: 'want-end', count: want.length }));
  // Wait for need-end (or the end), then play the rest.
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (/"need-end"/.test(out) || child.exitCode !== null) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
  const need = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((m) => m.op === 'need').flatMap((m) => m.ids as string[]);
  for (const b of script.then?.(need) ?? []) child.stdin.write(b);
  child.stdin.end();
  const code = await closed;
  return { code, stderr: err, replies: out.split('\n').filter((l) => l !== '') };
}

/** A pack of `objects` as PackWriter writes it, each under the id given (which may be a lie). */
function packOf(dir: string, objects: readonly { oid: string; type: GitObject['type']; content: Buffer }[]): Buffer[] {
  const w = new PackWriter(dir);
  for (const o of objects) w.add(o.type, o.content, o.oid);
  const p = w.finish()!;
  const pack = readFileSync(p.packPath);
  const idx = readFileSync(p.idxPath);
  return [Buffer.from(`${JSON.stringify({ op: 'pack', packBytes: pack.length, idxBytes: idx.length, objects: objects.length })}\n`), pack, idx];
}

const lies: [string, RegExp, (s: Setup, dir: string) => Script][] = [
  ['a path-like id', /not an object id/, () => ({ want: ['../../etc/passwd'] })],
  ['an id that is not hex', /not an object id/, () => ({ want: ['z'.repeat(40)] })],
  ['a count that does not match', /announced 5 ids/, () => ({
    raw: ['{"op":"hello","protocol":"medo-send","version":1}', '{"op":"want","ids":[]}', '{"op":"want-end","count":5}'],
  })],
  ['a pack whose object does not hash to its id', /hashes to/, (s, dir) => ({
    then: (need) => {
      const objs = s.versions[0]!.objects.filter((o) => need.includes(o.oid));
      const swapped = objs.map((o, i) => (i === 0 ? { ...o, content: Buffer.concat([o.content, Buffer.from('x')]) } : o));
      return packOf(dir, swapped);
    },
  })],
  ['a pack with an object the list did not name', /not asked for/, (s, dir) => ({
    // Asked for all but the first; sent all but the second: as many objects, one of them not asked for.
    want: unique(s.versions[0]!.objects).slice(1).map((o) => o.oid),
    then: () => packOf(dir, unique(s.versions[0]!.objects).filter((_, i) => i !== 1)),
  })],
  ['a pack cut short', /closed the connection after/, (s, dir) => ({
    then: (need) => {
      const [head, pack, idx] = packOf(dir, unique(s.versions[0]!.objects).filter((o) => need.includes(o.oid)));
      void idx;
      return [head!, pack!.subarray(0, pack!.length >> 1)];
    },
  })],
  ['a pack with flipped bytes', /fails its checks|not one/, (s, dir) => ({
    then: (need) => {
      const [head, pack, idx] = packOf(dir, unique(s.versions[0]!.objects).filter((o) => need.includes(o.oid)));
      const bad = Buffer.from(pack!);
      bad[bad.length >> 1] ^= 0x20;
      return [head!, bad, idx!];
    },
  })],
  ['"done" when objects were asked for', /without sending/, () => ({ then: () => [Buffer.from('{"op":"done"}\n')] })],
];

for (const [what, message, make] of lies) {
  test(`a sender that lies (${what}) gets a clear error; nothing of it is stored`, async (t) => {
    const s = setup(t, 1);
    const dest = join(s.f.root, 'dest.silo');
    Silo.init(dest).close();
    const before = snapshot(dest);
    const script = make(s, s.f.root);
    if (script.raw !== undefined) {
      const child = await lyingSenderRaw(dest, script.raw);
      t.is(child.code, 3, child.stderr);
      t.regex(child.stderr, message);
    } else {
      const r = await lyingSender(dest, script, unique(s.versions[0]!.objects));
      t.is(r.code, 3, r.stderr);
      t.regex(r.stderr, message);
      t.true(r.replies.some((l) => l.includes('"op":"error"')), 'the sender is told why');
    }
    t.deepEqual(snapshot(dest), before, 'nothing stored, no temp file left');
  });
}

async function lyingSenderRaw(dest: string, lines: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'silo.js'), 'receive', dest], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(`${lines.join('\n')}\n`);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr: err };
}

// Over ssh, to a real OpenSSH server on loopback.

test('over ssh: an exact copy, only the missing objects move, a receiver killed mid-transfer leaves DEST as it was', async (t) => {
  const s = setup(t, 3);
  await repack(s.src, { threads: 0 });
  const sshd = await startSshd(t, s.f.root);
  const dest = join(s.f.root, 'far.silo');
  const url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}${dest}`;
  const receiver = `${process.execPath} ${join(ROOT, 'bin', 'silo.js')} receive`;
  const env = { MEDO_SSH_COMMAND: sshd.sshCommand };
  const sendOver = (args: string[], stdin = '', receiverCmd = receiver): ReturnType<typeof runCli> =>
    runCli('silo', ['send', '--json', '--receiver', receiverCmd, s.src, url, ...args], stdin, env);

  const first = await sendOver([s.versions[0]!.treeptr]);
  t.is(first.code, 0, `${describeRun(first)}\n${sshd.log()}`);
  const v0 = unique(s.versions[0]!.objects);
  t.like(JSON.parse(first.stdout), { objects: v0.length, created: true, dest: url });
  holdsExactly(t, dest, v0);

  // Killed mid-transfer (the receiver kills itself with SIGKILL once 2000 pack bytes are in).
  const before = snapshot(dest);
  const killed = await sendOver([s.medo], '', `MEDO_TEST_RECEIVE_DIE_AT=2000 ${receiver}`);
  t.is(killed.code, 3, describeRun(killed));
  t.regex(killed.stderr, /left as it was/);
  t.deepEqual(snapshot(dest).filter((l) => !/^pack\/\.tmp-receive-/.test(l)), before, 'nothing new is visible');
  t.deepEqual(verifySilo(dest).problems, []);

  const r = await sendOver([s.medo]);
  t.is(r.code, 0, describeRun(r));
  const report = JSON.parse(r.stdout);
  const all = unique(s.versions.flatMap((v) => v.objects));
  const have = new Set(v0.map((o) => o.oid));
  const lacking = all.filter((o) => !have.has(o.oid));
  t.like(report, { offered: all.length, needed: lacking.length, objects: lacking.length });
  t.true(report.deltas > 0);
  t.is(statSync(join(dest, 'pack', `${report.pack}.pack`)).size, report.packBytes, 'the bytes counted are the pack that landed');
  holdsExactly(t, dest, all);

  const again = await sendOver([s.medo]);
  t.is(again.code, 0, describeRun(again));
  t.like(JSON.parse(again.stdout), { needed: 0, objects: 0, packBytes: 0 });

  // A far side that is not a silo receive, and a host that refuses us, are clear errors.
  const wrong = await sendOver([s.medo], '', 'cat');
  t.is(wrong.code, 3, describeRun(wrong));
  const refused = await runCli('silo', ['send', s.src, `ssh://nobody-here@127.0.0.1:${sshd.port}${dest}`, s.medo], '', env);
  t.is(refused.code, 3, describeRun(refused));
  t.regex(refused.stderr, /closed the connection|Permission denied/);
});
