// systemd/medod.service and systemd/wedge-example.mount pass `systemd-analyze verify` (syntax, known
// directives, an ExecStart that exists, and a dependency graph without ordering cycles). The unit names
// /usr/bin/medod, where a package installs it; the copy verified here points at this checkout's bin/medod.js.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/mount-process.js';

const UNITS = ['medod.service', 'wedge-example.mount'];
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

function verify(dir: string): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => join(dir, u))], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

function copyUnits(): string {
  const dir = mkdtempSync(join(tmpdir(), 'medo-units-'));
  for (const u of UNITS) copyFileSync(join(REPO_ROOT, 'systemd', u), join(dir, u));
  const service = join(dir, 'medod.service');
  writeFileSync(service, readFileSync(service, 'utf8').replace('ExecStart=/usr/bin/medod', `ExecStart=${join(REPO_ROOT, 'bin', 'medod.js')}`));
  return dir;
}

test('the units pass systemd-analyze verify without a warning', (t) => {
  if (!hasAnalyze) {
    t.log('systemd-analyze is not installed (Debian package systemd): the units were not verified');
    t.pass();
    return;
  }
  const dir = copyUnits();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = verify(dir);
  t.is(r.status, 0, r.output);
  t.is(r.output, '', 'no warnings');
});

test('the check can fail: the mount unit ordered like a local filesystem makes a cycle', (t) => {
  if (!hasAnalyze) {
    t.log('systemd-analyze is not installed: skipped');
    t.pass();
    return;
  }
  const dir = copyUnits();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const mount = join(dir, 'wedge-example.mount');
  writeFileSync(mount, readFileSync(mount, 'utf8').replace(',_netdev', ''));
  const r = verify(dir);
  t.not(r.status, 0);
  t.regex(r.output, /ordering cycle/);
});

test('medod.service keeps FUSE usable: /dev/fuse allowed, CAP_SYS_ADMIN kept, no private mount namespace', (t) => {
  const unit = readFileSync(join(REPO_ROOT, 'systemd', 'medod.service'), 'utf8');
  const set = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
  t.deepEqual(set('Type'), ['notify']);
  t.deepEqual(set('DeviceAllow'), ['/dev/fuse rw']);
  t.true(set('CapabilityBoundingSet')[0]!.split(/\s+/).includes('CAP_SYS_ADMIN'));
  t.deepEqual(set('Restart'), ['on-failure']);
  t.deepEqual(set('StandardError'), ['journal']);
  // Any of these gives the service its own mount namespace, where its mounts would be invisible to the host.
  for (const key of ['PrivateTmp', 'PrivateDevices', 'ProtectSystem', 'ProtectHome', 'ReadOnlyPaths', 'ReadWritePaths', 'InaccessiblePaths',
    'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'PrivateMounts', 'MemoryDenyWriteExecute']) {
    t.deepEqual(set(key), [], key);
  }
});
