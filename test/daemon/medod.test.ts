// medod end to end, real FUSE: mounts through the control socket (the CLI and raw protocol lines), status
// with counters, SIGHUP picking up added and removed .treeptrs, SIGTERM unmounting everything and exiting 0
// with the table kept, and a restart bringing the mounts back. Each test runs its own daemon in a temp dir.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { chooseBackend } from '../../daemon/mount.js';
import { repack } from '../../lib/silo/repack.js';
import type { DaemonStatus } from '../../lib/daemon-protocol.js';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { buildMedoFixture, writeSourceTree, type MedoFixture } from '../helpers/mount-fixture.js';
import { REPO_ROOT, isMounted, removeMountpoint } from '../helpers/mount-process.js';
import { MEDOD_MAIN, medoCli, startDaemon, type RunningDaemon } from '../helpers/medod-process.js';

let root: string;
let src: string;
let fx: MedoFixture;
let n = 0;

test.before(() => {
  root = sharedTempDir('medod-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

/** A fresh directory for one test's daemon and mountpoints; the daemon is stopped and mounts removed in teardown. */
async function setup(t: { teardown(fn: () => unknown): void }, mounts: number): Promise<{ d: RunningDaemon; dir: string; mnts: string[] }> {
  const dir = join(root, `case-${n++}`);
  const mnts = Array.from({ length: mounts }, (_, i) => join(dir, `mnt${i}`));
  for (const m of mnts) mkdirSync(m, { recursive: true });
  const d = await startDaemon(dir);
  t.teardown(async () => {
    await d.stop(mnts);
    for (const m of mnts) removeMountpoint(m);
  });
  return { d, dir, mnts };
}

test('medo mount / status / unmount through the daemon; the socket is 0660', async (t) => {
  const { d, mnts: [a, b] } = await setup(t, 2);
  t.is(statSync(d.socket).mode & 0o777, 0o660);
  let r = medoCli(['mount', fx.medoDir, a!], d.socket);
  t.is(r.status, 0, r.stderr);
  r = medoCli(['mount', fx.treeptr, b!, '-o', 'allow_other'], d.socket);
  t.is(r.status, 0, r.stderr);
  t.true(isMounted(a!) && isMounted(b!), 'both mounted when the commands return');
  const readme = readFileSync(join(src, 'README.md'));
  t.true((await readFile(join(a!, 'debian', 'bullseye', 'wedge', 'README.md'))).equals(readme));
  t.true((await readFile(join(b!, 'README.md'))).equals(readme));

  const js = medoCli(['status', '--json'], d.socket);
  t.is(js.status, 0, js.stderr);
  const s = JSON.parse(js.stdout) as DaemonStatus;
  t.is(s.pid, d.pid);
  t.true(s.memory.rss > 0);
  t.deepEqual(s.mounts.map((m) => [m.mountpoint, m.source, m.kind]), [[a, fx.medoDir, 'medo-dir'], [b, fx.treeptr, 'treeptr']]);
  const mb = s.mounts[1]!;
  t.deepEqual(mb.options, { allowOther: true });
  t.true(mb.counters.bytesRead >= readme.length, 'bytes served counted');
  t.true((mb.counters.ops.read ?? 0) >= 1 && (mb.counters.ops.getattr ?? 0) >= 1, JSON.stringify(mb.counters.ops));
  t.true(mb.counters.cacheMisses >= 1);
  t.is(mb.counters.errors, 0);
  const text = medoCli(['status'], d.socket);
  t.regex(text.stdout, new RegExp(`medod pid ${d.pid}, up .*rss .*2 mounts`));
  t.regex(text.stdout, /ops {7}.*read \d+/);

  // A second mount at the same place is refused with the reason.
  r = medoCli(['mount', fx.treeptr, a!], d.socket);
  t.is(r.status, 3);
  t.regex(r.stderr, /already a medo mount/);
  // Errors from the source come back with their exit code: a usage error stays a usage error.
  r = medoCli(['mount', fx.medoDir, join(d.stateDir, '..', 'nowhere'), '--rev', 'main'], d.socket);
  t.is(r.status, 2);
  t.regex(r.stderr, /--rev applies to a git repository/);

  r = medoCli(['unmount', a!], d.socket);
  t.is(r.status, 0, r.stderr);
  t.false(isMounted(a!));
  const after = await d.status();
  t.deepEqual(after.mounts.map((m) => m.mountpoint), [b]);
  const table = JSON.parse(readFileSync(join(d.stateDir, 'mounts.json'), 'utf8')) as { mounts: { mountpoint: string }[] };
  t.deepEqual(table.mounts.map((m) => m.mountpoint), [b], 'an unmount request removes the entry from the persisted table');
  r = medoCli(['unmount', a!], d.socket);
  t.is(r.status, 3);
  t.regex(r.stderr, /not a medo mount/);
});

test('bad protocol lines get an ERR_PROTOCOL answer and the daemon keeps serving', async (t) => {
  const { d } = await setup(t, 0);
  const exchange = (lines: string): Promise<string[]> => new Promise((resolve, reject) => {
    const sock = connect(d.socket);
    let text = '';
    const want = lines.split('\n').filter((l) => l.trim() !== '').length;
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      text += c;
      if (text.split('\n').length - 1 >= want) {
        sock.destroy();
        resolve(text.trim().split('\n'));
      }
    });
    sock.on('error', reject);
    sock.write(lines);
  });
  const answers = (await exchange('not json\n{"v":99,"op":"status"}\n{"v":1,"id":7,"op":"frobnicate"}\n{"v":1,"id":8,"op":"mount","source":"rel","mountpoint":"/x"}\n{"v":1,"id":9,"op":"hello"}\n'))
    .map((l) => JSON.parse(l) as { ok: boolean; id?: number; error?: { code: string; message: string }; result?: { pid: number } });
  t.deepEqual(answers.map((a) => a.ok), [false, false, false, false, true]);
  t.true(answers.slice(0, 4).every((a) => a.error!.code === 'ERR_PROTOCOL'));
  t.regex(answers[1]!.error!.message, /protocol version 99 is not supported \(this daemon speaks 1\)/);
  t.regex(answers[2]!.error!.message, /unknown op "frobnicate"/);
  t.is(answers[2]!.id, 7);
  t.regex(answers[3]!.error!.message, /source must be an absolute path/);
  t.is(answers[4]!.result!.pid, d.pid);
});

test('directory prefetch: after one file of a directory is read, its siblings are served from the page cache', async (t) => {
  if (chooseBackend().backend !== 'lowlevel') return t.pass('the libfuse 2 backend has no prefetch');
  const { d, mnts: [a] } = await setup(t, 1);
  await d.request({ op: 'mount', source: fx.treeptr, mountpoint: a! });
  const many = join(a!, 'many');
  const names = (await readdir(many)).sort();
  t.is(names.length, 300);
  t.is(await readFile(join(many, names[0]!), 'utf8'), 'file 0\n');
  const ops = async (): Promise<Record<string, number>> => (await d.status()).mounts[0]!.counters.ops;
  // Wait for the pushes (they run after the read is answered), then read every sibling.
  for (let i = 0; i < 500 && ((await ops()).prefetch ?? 0) < names.length - 1; i++) await new Promise((r) => setTimeout(r, 20));
  const before = await ops();
  t.is(before.prefetch, names.length - 1, 'every sibling pushed');
  for (const [i, name] of names.entries()) t.is(await readFile(join(many, name), 'utf8'), `file ${i}\n`, name);
  // Without the prefetch every sibling is a read request (299). A pushed page is clean and never yet used,
  // so it is the first the kernel reclaims: under a full parallel test run in a memory-limited container a
  // few come back as read requests all the same (seen in CI: 2, then 7 of 299). A dropped page is the
  // kernel's choice, not a prefetch failure, so the test asks that nine in ten siblings came from the cache.
  const reads = (await ops()).read! - before.read!;
  t.true(reads <= Math.floor((names.length - 1) / 10), `${reads} of ${names.length - 1} siblings needed a read request`);
});

test('a reading walk: a directory listed soon after a read has its small files pushed when it is listed', async (t) => {
  if (chooseBackend().backend !== 'lowlevel') return t.pass('the libfuse 2 backend has no prefetch');
  const { d, mnts: [a] } = await setup(t, 1);
  await d.request({ op: 'mount', source: fx.treeptr, mountpoint: a! });
  const ops = async (): Promise<Record<string, number>> => (await d.status()).mounts[0]!.counters.ops;
  const settled = async (): Promise<number> => {
    // The pushes run after the listing is answered: wait until the count stops moving.
    let last = -1;
    for (let i = 0; i < 200; i++) {
      const now = (await ops()).prefetch ?? 0;
      if (now === last && now > 0) return now;
      last = now;
      await new Promise((r) => setTimeout(r, 25));
    }
    return last;
  };
  // A walk that only lists (find, ls -R) is given nothing.
  for (const dir of ['names', 'same', 'bin']) await readdir(join(a!, dir));
  await d.status();
  t.is((await ops()).prefetch ?? 0, 0, 'listing alone pushes nothing');
  // Each listing fit in one answer: the kernel's request past its end was answered by the addon itself.
  t.is((await ops()).listed, 3, 'three listings ended in the addon');
  t.is((await ops()).readdirplus, 3, 'one crossing each');
  // A walk that reads: one file, then the next directory it lists.
  t.is(await readFile(join(a!, 'shared', 'doc.txt'), 'utf8'), 'doc\n');
  const many = join(a!, 'many');
  const names = (await readdir(many)).sort();
  t.is(names.length, 300);
  const pushed = await settled();
  t.true(pushed >= names.length, `${pushed} pushed: the 300 files of many/ when it was listed`);
  const before = await ops();
  // Each is a whole entry of the silo's pack: routed to the addon, read and inflated on its threads.
  t.true((before.prefetchInflated ?? 0) >= names.length, `${before.prefetchInflated} of the pushes inflated by the addon`);
  for (const [i, name] of names.entries()) t.is(await readFile(join(many, name), 'utf8'), `file ${i}\n`, name);
  // As in the test above: a pushed page may be reclaimed first under memory pressure, so nine in ten.
  const reads = (await ops()).read! - (before.read ?? 0);
  t.true(reads <= Math.floor(names.length / 10), `${reads} of ${names.length} files needed a read request`);
});

test('files stored as whole entries and as deltas of one are inflated in the addon, reads and pushes alike', async (t) => {
  if (chooseBackend().backend !== 'lowlevel') return t.pass('the libfuse 2 backend has no addon');
  // Two versions of a text file, a delta of each other after `silo repack -f` (git verify-pack says which).
  const dir = join(root, `delta-src-${n++}`);
  writeSourceTree(dir);
  mkdirSync(join(dir, 'v'), { recursive: true });
  const v1 = Array.from({ length: 3000 }, (_, i) => `line ${i}: ${'medo '.repeat(i % 7)}\n`).join('');
  const v2 = `${v1.slice(0, 40_000)}an edit in the middle\n${v1.slice(40_000)}and a line at the end\n`;
  writeFileSync(join(dir, 'v', 'one.txt'), v1);
  writeFileSync(join(dir, 'v', 'two.txt'), v2);
  const fxRoot = join(root, `delta-fx-${n++}`);
  mkdirSync(fxRoot);
  const dx = buildMedoFixture(fxRoot, dir);
  t.true((await repack(dx.siloDir, { force: true })).deltas >= 1, "silo repack made a delta");
  const packs = readdirSync(join(dx.siloDir, 'pack')).filter((f) => f.endsWith('.idx'));
  const verify = spawnSync('git', ['verify-pack', '-v', join(dx.siloDir, 'pack', packs[0]!)], { encoding: 'utf8' });
  t.regex(verify.stdout, /blob\s+\d+\s+\d+\s+\d+\s+1\s+[0-9a-f]{40}/, 'one of the two is a delta of depth 1');
  const { d, mnts: [a] } = await setup(t, 1);
  await d.request({ op: 'mount', source: dx.treeptr, mountpoint: a! });
  const ops = async (): Promise<Record<string, number>> => (await d.status()).mounts[0]!.counters.ops;
  t.is(await readFile(join(a!, 'v', 'one.txt'), 'utf8'), v1);
  t.is(await readFile(join(a!, 'v', 'two.txt'), 'utf8'), v2);
  const after = await ops();
  // Both files are over 32 KiB: each read that reaches JavaScript goes to the addon with its file, which
  // answers it (applying the delta for one of them) and pushes the rest. JavaScript inflated neither.
  t.is(after.readsInAddon, 2, `both reads answered by the addon, the delta's too: ${JSON.stringify(after)}`);
  t.is(after.prefetchInflated, 2, 'and both files pushed from there');
});

test('a second daemon on the same socket refuses to start', async (t) => {
  const { dir } = await setup(t, 0);
  const err = await t.throwsAsync(startDaemon(dir));
  t.regex(err!.message, /another medod is already listening/);
});

test('SIGHUP re-reads medo directories: a new .treeptr appears, a removed one disappears, without a remount', async (t) => {
  const { d, mnts: [a] } = await setup(t, 1);
  const medoDir = join(root, `hup-${n}.medo`);
  mkdirSync(join(medoDir, 'debian', 'bullseye'), { recursive: true });
  copyFileSync(join(fx.medoDir, 'SILO.json'), join(medoDir, 'SILO.json'));
  copyFileSync(fx.treeptr, join(medoDir, 'debian', 'bullseye', 'wedge.treeptr'));
  // SILO.json names ../silo, relative to the medo directory: the copy sits next to the original.
  t.teardown(() => rmSync(medoDir, { recursive: true, force: true }));
  t.is((await d.request<{ mountpoint: string }>({ op: 'mount', source: medoDir, mountpoint: a! })).mountpoint, a);
  t.deepEqual(await readdir(join(a!, 'debian', 'bullseye')), ['wedge']);

  copyFileSync(fx.treeptr, join(medoDir, 'debian', 'bullseye', 'wedge-2.treeptr'));
  copyFileSync(fx.blobTreeptr, join(medoDir, 'big.bin.treeptr'));
  t.deepEqual(await readdir(join(a!, 'debian', 'bullseye')), ['wedge'], 'nothing changes before the signal');
  const reloaded = new Promise<void>((resolve) => {
    const check = (): void => (d.log().includes('"msg":"reloaded medo directories"') ? resolve() : void setTimeout(check, 20));
    check();
  });
  process.kill(d.pid, 'SIGHUP');
  await reloaded;
  t.deepEqual(await readdir(join(a!, 'debian', 'bullseye')), ['wedge', 'wedge-2']);
  t.deepEqual((await readdir(a!)).sort(), ['big.bin', 'debian']);
  t.true((await readFile(join(a!, 'debian', 'bullseye', 'wedge-2', 'README.md'))).equals(readFileSync(join(src, 'README.md'))));

  // Removal, through the protocol's reload (what SIGHUP does).
  rmSync(join(medoDir, 'debian', 'bullseye', 'wedge.treeptr'));
  await d.request({ op: 'reload' });
  t.deepEqual(await readdir(join(a!, 'debian', 'bullseye')), ['wedge-2']);
  t.true(isMounted(a!), 'the same mount all along');
  t.is((await d.status()).mounts.length, 1);
});

test('SIGTERM unmounts everything and exits 0; the next start brings the mounts back', async (t) => {
  const { d, dir, mnts: [a, b] } = await setup(t, 2);
  await d.request({ op: 'mount', source: fx.medoDir, mountpoint: a! });
  await d.request({ op: 'mount', source: fx.repo, mountpoint: b!, rev: fx.tree });
  t.true(isMounted(a!) && isMounted(b!));
  const { code } = await d.stop();
  t.is(code, 0);
  t.false(isMounted(a!), 'unmounted on SIGTERM');
  t.false(isMounted(b!));
  t.regex(d.log(), /"reason":"daemon stopping"/);

  const again = await startDaemon(dir);
  t.teardown(() => again.stop([a!, b!]));
  const s = await again.status();
  t.deepEqual(s.mounts.map((m) => [m.mountpoint, m.source, m.rev]), [[a, fx.medoDir, undefined], [b, fx.repo, fx.tree]]);
  t.true(isMounted(a!) && isMounted(b!));
  t.true((await readFile(join(b!, 'README.md'))).equals(readFileSync(join(src, 'README.md'))));
  t.is((await again.stop()).code, 0);
});

test('an unmount from outside (fusermount -u) is noticed and forgotten', async (t) => {
  const { d, mnts: [a] } = await setup(t, 1);
  await d.request({ op: 'mount', source: fx.treeptr, mountpoint: a! });
  const r = medoCli(['unmount', a!], join(root, 'none.sock')); // no daemon there: the fusermount path
  t.is(r.status, 0, r.stderr);
  t.false(isMounted(a!));
  // The daemon's watch runs every second; wait for its log line, bounded by the test timeout.
  await new Promise<void>((resolve) => {
    const check = (): void => (d.log().includes('unmounted from outside') ? resolve() : void setTimeout(check, 50));
    check();
  });
  t.deepEqual((await d.status()).mounts, []);
  const table = JSON.parse(readFileSync(join(d.stateDir, 'mounts.json'), 'utf8')) as { mounts: unknown[] };
  t.deepEqual(table.mounts, []);
});

test('readiness for systemd: READY=1 arrives on NOTIFY_SOCKET once the daemon listens', (t) => {
  // Node cannot listen on a datagram socket; python3 plays systemd's part when it is there.
  if (spawnSync('python3', ['--version'], { stdio: 'ignore' }).status !== 0) {
    t.log('python3 is not installed: the notification was not checked');
    t.pass();
    return;
  }
  const dir = join(root, `notify-${n++}`);
  mkdirSync(dir);
  const script = `
import socket, subprocess, os, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(120)
p = subprocess.Popen(sys.argv[2:], env=dict(os.environ, NOTIFY_SOCKET=sys.argv[1]), stderr=subprocess.DEVNULL)
try:
    print(s.recv(4096).decode().replace('\\n', ' '))
    print('listening' if os.path.exists(sys.argv[sys.argv.index('--socket') + 1]) else 'no socket')
finally:
    p.terminate(); print('exit', p.wait())
`;
  const r = spawnSync('python3', ['-c', script, join(dir, 'notify.sock'), process.execPath, '--import', 'tsx', MEDOD_MAIN,
    '--socket', join(dir, 'medod.sock'), '--state-dir', join(dir, 'state')], { cwd: REPO_ROOT, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const [ready, listening, exit] = r.stdout.trim().split('\n');
  t.regex(ready!, /^READY=1 MAINPID=\d+/);
  t.is(listening, 'listening');
  t.is(exit, 'exit 0', 'SIGTERM: exit 0');
});

test('a persisted mount that cannot come back is reported as pending, kept, and dropped by unmount', async (t) => {
  const dir = join(root, `pending-${n++}`);
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt, { recursive: true });
  mkdirSync(join(dir, 'state'));
  const gone = join(root, 'gone.medo');
  writeFileSync(join(dir, 'state', 'mounts.json'), JSON.stringify({ version: 1, mounts: [{ source: gone, mountpoint: mnt, options: {} }] }));
  const d = await startDaemon(dir);
  t.teardown(() => d.stop([mnt]));
  const s = await d.status();
  t.deepEqual(s.mounts, []);
  t.deepEqual(s.pending, [{ source: gone, mountpoint: mnt }]);
  t.regex(medoCli(['status'], d.socket).stdout, /NOT MOUNTED: persisted mount of .*gone\.medo/);
  t.true(d.logLines().some((l) => l.msg === 'cannot bring a persisted mount back' && l.mountpoint === mnt));
  t.is(JSON.parse(readFileSync(join(d.stateDir, 'mounts.json'), 'utf8')).mounts.length, 1, 'kept for the next start');
  const r = medoCli(['unmount', mnt], d.socket);
  t.is(r.status, 0, r.stderr);
  t.deepEqual((await d.status()).pending, []);
  t.deepEqual(JSON.parse(readFileSync(join(d.stateDir, 'mounts.json'), 'utf8')).mounts, []);
});

test('unmount of a busy mount is refused with the way out; --lazy detaches it', async (t) => {
  const { d, mnts: [a] } = await setup(t, 1);
  await d.request({ op: 'mount', source: fx.treeptr, mountpoint: a! });
  // A process working inside the mount keeps it busy.
  const busy = spawn('sleep', ['600'], { cwd: a!, stdio: 'ignore' });
  const busyGone = new Promise((resolve) => busy.once('exit', resolve));
  t.teardown(async () => {
    busy.kill('SIGKILL');
    await busyGone;
  });
  let r = medoCli(['unmount', a!], d.socket);
  t.is(r.status, 3);
  t.regex(r.stderr, /cannot unmount .*busy.*--lazy detaches it now/s);
  t.true(isMounted(a!));
  t.is((await d.status()).mounts.length, 1, 'still served');
  r = medoCli(['unmount', '--lazy', a!], d.socket);
  t.is(r.status, 0, r.stderr);
  t.false(isMounted(a!));
  t.deepEqual((await d.status()).mounts, []);
  busy.kill('SIGKILL');
  await busyGone;
});
