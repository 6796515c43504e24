// `medo expand` from a remote silo that offers a derived tarball (silo derive tar.zst) of the tree: on a
// host that holds nothing, the tarball (smaller than the files' pack entries) is fetched in place of
// them, checked, and the expand is exact; --no-derived, a host that holds the files already, and a
// tarball that does not match its record all fetch object by object, and nothing wrong is cached.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/cli-process.js';
import { sharedTempDir, tempDir } from '../../helpers/git-fixture.js';
import { makeMedoLayout } from '../../helpers/medo-fixture.js';
import { readLog, startNginx, type Nginx } from '../../helpers/silo-servers.js';

const MEDO = join(ROOT, 'bin', 'medo.js');
const SILO = join(ROOT, 'bin', 'silo.js');

function run(bin: string, args: string[], cache?: string): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, CI: '1', ...(cache === undefined ? {} : { MEDO_CACHE_DIR: cache }) };
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Fx {
  dir: string;
  silo: string;
  ptr: string;
  tree: string;
  files: number;
  tarball: string;
  nginx: Nginx;
}

let fx: Fx;

test.before(async () => {
  const dir = sharedTempDir('medo-derived-fetch-');
  const layout = makeMedoLayout(dir);
  // Real text that compresses far better as one stream than file by file: TypeScript's declarations.
  const src = join(dir, 'src');
  const lib = join(ROOT, 'node_modules', 'typescript', 'lib');
  mkdirSync(join(src, 'lib'), { recursive: true });
  const names = readdirSync(lib).filter((f) => f.endsWith('.d.ts')).sort().slice(0, 80);
  for (const n of names) writeFileSync(join(src, 'lib', n), readFileSync(join(lib, n)));
  const ptr = join(layout.medoDir, 'ts.treeptr');
  let r = run(MEDO, ['add', '--no-delta-base', src, ptr]);
  if (r.status !== 0) throw new Error(r.stderr);
  r = run(SILO, ['derive', '--json', 'tar.zst', ptr]);
  if (r.status !== 0) throw new Error(r.stderr);
  const tarball = (JSON.parse(r.stdout) as { file: string }).file;
  const tree = (JSON.parse(readFileSync(ptr, 'utf8')) as { tree: string }).tree;
  fx = { dir, silo: layout.siloDir, ptr, tree, files: names.length, tarball, nginx: await startNginx(dir, join(dir, 'nginx')) };
});

test.after.always(async () => {
  await fx?.nginx.stop();
  if (fx !== undefined) rmSync(fx.dir, { recursive: true, force: true });
});

function client(t: ExecutionContext, silo = 'deps.silo'): { root: string; ptr: string; cache: string; out: string } {
  const root = tempDir(t);
  const medo = join(root, 'c.medo');
  mkdirSync(medo);
  writeFileSync(join(medo, 'SILO.json'), `${JSON.stringify({ silos: [`${fx.nginx.url}${silo}/`] })}\n`);
  cpSync(fx.ptr, join(medo, 'ts.treeptr'));
  return { root, ptr: join(medo, 'ts.treeptr'), cache: join(root, 'cache'), out: join(root, 'out') };
}

/** The requests nginx logged while `fn` ran. */
function logged(fn: () => void): string[] {
  const before = readLog(fx.nginx.log).length;
  fn();
  return readLog(fx.nginx.log).slice(before).map((l) => `${l.request} ${l.status} ${l.range}`);
}

function expandAndVerify(t: ExecutionContext, c: ReturnType<typeof client>, extra: string[] = []): { stderr: string; requests: string[] } {
  let r: ReturnType<typeof run> | undefined;
  const requests = logged(() => {
    r = run(MEDO, ['expand', ...extra, c.ptr, c.out], c.cache);
  });
  t.is(r!.status, 0, r!.stderr);
  const v = run(MEDO, ['verify', c.ptr, c.out], c.cache);
  t.is(v.status, 0, `the expanded tree verifies: ${v.stdout}${v.stderr}`);
  return { stderr: r!.stderr, requests };
}

const packRanges = (requests: string[]): string[] => requests.filter((l) => /\.pack HTTP/.test(l) && / 206 /.test(l));

test.serial('a host that holds nothing takes the tarball, not the files one by one', async (t) => {
  const c = client(t);
  const { stderr, requests } = expandAndVerify(t, c);
  t.true(requests.some((l) => l.includes(`GET /silo/deps.silo/${fx.tarball} HTTP/1.1 200`)), requests.join('\n'));
  t.log(stderr.trim());
  t.regex(stderr, /tar\.zst: .* in place of .* of pack entries, \d+ file\(s\)/);
  // The trees come from the pack; the files do not.
  const ranges = packRanges(requests);
  t.true(ranges.length < fx.files / 4, `${ranges.length} range requests for ${fx.files} files`);
});

test.serial('--no-derived, and a host that already holds the files, fetch no tarball', async (t) => {
  const c = client(t);
  const first = expandAndVerify(t, c, ['--no-derived']);
  t.false(first.requests.some((l) => l.includes('derived/forms/')), first.requests.join('\n'));
  rmSync(c.out, { recursive: true, force: true });
  const again = expandAndVerify(t, c);
  t.false(again.requests.some((l) => l.includes('derived/forms/')), again.requests.join('\n'));
});

test.serial('a tarball that does not match its record is named, and the files are fetched instead', async (t) => {
  const bad = join(fx.dir, 'bad.silo');
  rmSync(bad, { recursive: true, force: true });
  cpSync(fx.silo, bad, { recursive: true });
  const fd = openSync(join(bad, fx.tarball), 'r+');
  writeSync(fd, Buffer.from('corrupt'), 0, 7, 100);
  closeSync(fd);
  const c = client(t, 'bad.silo');
  const { stderr, requests } = expandAndVerify(t, c);
  t.regex(stderr, /warning: .*tar\.zst: has sha256 [0-9a-f]{64}, its record says [0-9a-f]{64}; fetching the tree's objects instead/);
  t.true(packRanges(requests).length > 0);
});
