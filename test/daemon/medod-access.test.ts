// Other users, containers and mount(8), real FUSE. A container engine bind-mounts the wedge into a new
// mount namespace and runs as another uid; the test does the same with `unshare --mount` and `setpriv`
// (there is no container engine here). mount.fuse.medo is run directly and through `mount -t fuse.medo`.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { buildMedoFixture, writeSourceTree, type MedoFixture } from '../helpers/mount-fixture.js';
import { REPO_ROOT, isMounted, removeMountpoint } from '../helpers/mount-process.js';
import { startDaemon, type RunningDaemon } from '../helpers/medod-process.js';

const NOBODY = '65534';

let root: string;
let src: string;
let fx: MedoFixture;
let d: RunningDaemon;
let view: string;
const mnts: string[] = [];

test.before(async () => {
  root = sharedTempDir('medod-access-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
  d = await startDaemon(join(root, 'd'));
  // Where the namespace sees the wedge: a directory any user may traverse (the temp root may not be).
  view = mkdtempSync('/tmp/medo-view-');
  chmodSync(view, 0o755);
});

test.after.always(async () => {
  if (d !== undefined) await d.stop(mnts);
  for (const m of mnts) removeMountpoint(m);
  if (view !== undefined) rmSync(view, { recursive: true, force: true });
  if (root !== undefined) removeDir(root);
});

function mountpoint(name: string): string {
  const m = join(root, name);
  mkdirSync(m);
  mnts.push(m);
  return m;
}

/** In a new mount namespace: bind `mnt` at `view`, then run `cat PATH` (relative to it) as nobody. */
function catAsNobody(mnt: string, path: string): { status: number | null; stdout: Buffer; stderr: string } {
  const script = 'mount --bind "$1" "$2" && exec setpriv --reuid=$3 --regid=$3 --clear-groups cat "$2/$4"';
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', mnt, view, NOBODY, path], { maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

test('with allow_other, an unprivileged uid in another mount namespace reads the bind-mounted wedge', async (t) => {
  const mnt = mountpoint('shared');
  await d.request({ op: 'mount', source: fx.medoDir, mountpoint: mnt, options: { allowOther: true } });
  const readme = catAsNobody(mnt, 'debian/bullseye/wedge/README.md');
  t.is(readme.status, 0, readme.stderr);
  t.true(readme.stdout.equals(readFileSync(join(src, 'README.md'))), 'the bytes match');
  const big = catAsNobody(mnt, 'tools/big.bin');
  t.is(big.status, 0, big.stderr);
  t.true(big.stdout.equals(readFileSync(join(src, 'big.bin'))));
  // default_permissions: the recorded modes are enforced by the kernel (private.txt is 0600, root's).
  const priv = catAsNobody(mnt, 'debian/bullseye/wedge/private.txt');
  t.not(priv.status, 0);
  t.regex(priv.stderr, /Permission denied/);
  t.false(isMounted(view), 'the bind mount stayed in its namespace');
});

test('without allow_other, another uid is refused', async (t) => {
  const mnt = mountpoint('private');
  await d.request({ op: 'mount', source: fx.medoDir, mountpoint: mnt });
  const r = catAsNobody(mnt, 'debian/bullseye/wedge/README.md');
  t.not(r.status, 0);
  t.regex(r.stderr, /Permission denied/);
});

const helperEnv = (): NodeJS.ProcessEnv => ({ ...process.env, MEDO_SOCKET: d.socket });
const runHelper = (args: string[], env = helperEnv()): { status: number | null; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'mount-helper', 'mount-fuse-medo.ts'), ...args],
    { cwd: REPO_ROOT, encoding: 'utf8', env });
  return { status: r.status, stderr: r.stderr };
};

test('mount.fuse.medo run directly: drops fstab options, returns once mounted, fails clearly', async (t) => {
  const mnt = mountpoint('helper');
  let r = runHelper([fx.treeptr, mnt, '-o', 'noauto,nofail,_netdev,users,defaults,x-systemd.automount,comment=build,ro,allow_other,default_permissions']);
  t.is(r.status, 0, r.stderr);
  t.true(isMounted(mnt), 'mounted when the helper returns');
  t.true(readFileSync(join(mnt, 'README.md')).equals(readFileSync(join(src, 'README.md'))));
  t.deepEqual((await d.status()).mounts.find((m) => m.mountpoint === mnt)?.options, { allowOther: true });
  await d.request({ op: 'unmount', mountpoint: mnt });

  r = runHelper([fx.treeptr, mnt, '-f', '-o', 'ro']);
  t.is(r.status, 0, r.stderr);
  t.false(isMounted(mnt), '-f checks but does not mount');
  r = runHelper([fx.treeptr, mnt, '-o', 'rw']);
  t.is(r.status, 1);
  t.regex(r.stderr, /read-only/);
  r = runHelper([fx.treeptr, mnt, '-o', 'ro,fancy']);
  t.is(r.status, 1);
  t.regex(r.stderr, /-o fancy: not an option medo knows/);
  r = runHelper([join(root, 'nope'), mnt, '-o', 'ro']);
  t.is(r.status, 32);
  t.regex(r.stderr, /cannot mount .*nope.*no such file or directory/);
  r = runHelper([fx.treeptr, mnt, '-o', 'ro'], { ...process.env, MEDO_SOCKET: join(root, 'no-daemon.sock') });
  t.is(r.status, 32);
  t.regex(r.stderr, /no medo daemon answers/);
  t.false(isMounted(mnt));
});

test('mount -t fuse.medo finds the helper and mounts (helper placed over /sbin in a private namespace)', async (t) => {
  // mount(8) looks for helpers only in /sbin (util-linux FS_SEARCH_PATH "/sbin:/sbin/fs.d:/sbin/fs"), not
  // PATH; the test puts one there in a private mount namespace rather than installing it on the host.
  // The daemon, outside the namespace, makes the mount, so it shows in the host's mount table.
  const mnt = mountpoint('mount8');
  const sbin = mkdtempSync(join(root, 'sbin-'));
  writeFileSync(join(sbin, 'mount.fuse.medo'),
    `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(REPO_ROOT, 'mount-helper', 'mount-fuse-medo.ts')}" "$@"\n`, { mode: 0o755 });
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    'mount --bind "$1" /sbin/ && exec mount -t fuse.medo "$2" "$3" -o ro,allow_other,noauto,_netdev', 'sh', sbin, fx.treeptr, mnt],
  { cwd: REPO_ROOT, encoding: 'utf8', env: helperEnv() });
  t.is(r.status, 0, r.stderr);
  t.true(isMounted(mnt));
  t.true(readFileSync(join(mnt, 'README.md')).equals(readFileSync(join(src, 'README.md'))));
  const m = (await d.status()).mounts.find((x) => x.mountpoint === mnt);
  t.deepEqual(m?.options, { allowOther: true });
  await d.request({ op: 'unmount', mountpoint: mnt });
  t.false(isMounted(mnt));
});
