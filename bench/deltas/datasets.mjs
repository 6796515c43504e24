// The chains of versions the deltas benchmark stores and ships: real data, made at run time from the npm
// registry (`npm pack`), from Debian's archive (`apt-get download` + `dpkg-deb -x`) and, when two are at
// hand, CPython prefixes installed by pyenv. Tarballs and .debs are cached (bench/out/tarballs,
// bench/out/deltas/debs) and so is each unpacked tree (bench/out/deltas/data), made under a temp name
// and renamed when complete, so an interrupted run never leaves half a tree behind a final name.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fetchTarballs, tarballName } from '../object-layer/npm-history-repo.mjs';

/** Every chain of a full run, oldest version first; --quick takes QUICK. */
export const CHAINS = [
  // Consecutive minor releases: one large file (typescript.js, lib/*.d.ts) changing a little each time.
  { name: 'typescript', kind: 'npm', package: 'typescript', versions: ['5.5.4', '5.6.3', '5.7.3', '5.8.3', '5.9.3'] },
  // Consecutive patch releases of a package of ~60 small files.
  { name: 'types-node', kind: 'npm', package: '@types/node', versions: ['20.19.39', '20.19.40', '20.19.41', '20.19.42', '20.19.43'] },
  // Sibling packages: GCC 11's and 12's preprocessor and compiler proper (cc1), whose paths differ by
  // the version directory (usr/lib/gcc/x86_64-linux-gnu/11/ against .../12/).
  { name: 'cpp-11-12', kind: 'deb', packages: ['cpp-11', 'cpp-12'] },
  // Successive (security) releases of one package: the two newest versions apt offers.
  { name: 'libpython3.11-stdlib', kind: 'deb-versions', package: 'libpython3.11-stdlib', count: 2 },
  // Two CPython prefixes (the newest two 3.x under pyenv), when this machine has them.
  { name: 'cpython', kind: 'pyenv', count: 2 },
];

export const QUICK = { name: 'types-node', kind: 'npm', package: '@types/node', versions: ['20.19.41', '20.19.42', '20.19.43'] };

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...opts }).toString();

/** `make(tmp)` fills a new directory that becomes `dir` once complete; an existing `dir` is reused. */
function cached(dir, make) {
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    make(tmp);
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

function npmChain(chain, out) {
  const tarballs = join(out, 'tarballs');
  fetchTarballs(tarballs, { [chain.package]: chain.versions });
  return chain.versions.map((v) => {
    const file = tarballName(chain.package, v);
    const dir = cached(join(out, 'deltas', 'data', file.replace(/\.tgz$/, '')), (tmp) =>
      run('tar', ['-xzf', join(tarballs, file), '-C', tmp, '--strip-components=1', '--no-same-owner']));
    return { label: `${chain.package}@${v}`, dir, source: `npm pack ${chain.package}@${v}` };
  });
}

const dpkgNewer = (a, b) => spawnSync('dpkg', ['--compare-versions', a, 'gt', b]).status === 0;

/** Versions of `pkg` apt can download, newest first ([] when it knows none). */
function aptVersions(pkg) {
  const r = spawnSync('apt-cache', ['madison', pkg], { encoding: 'utf8' });
  const versions = [...new Set((r.stdout ?? '').split('\n').map((l) => l.split('|')).filter((f) => f.length >= 3 && f[0].trim() === pkg)
    .map((f) => f[1].trim()))];
  return versions.sort((a, b) => (dpkgNewer(a, b) ? -1 : dpkgNewer(b, a) ? 1 : 0));
}

function debTree(pkg, version, out) {
  const debs = join(out, 'deltas', 'debs');
  mkdirSync(debs, { recursive: true });
  // --print-uris names the file without downloading: "'URL' FILE SIZE HASH".
  const file = run('apt-get', ['download', '--print-uris', `${pkg}=${version}`]).trim().split(/\s+/)[1];
  if (file === undefined || !file.endsWith('.deb')) throw new Error(`apt-get download --print-uris ${pkg}=${version} named no .deb`);
  if (!existsSync(join(debs, file))) run('apt-get', ['download', '-q', `${pkg}=${version}`], { cwd: debs });
  const dir = cached(join(out, 'deltas', 'data', file.replace(/\.deb$/, '')), (tmp) => run('dpkg-deb', ['-x', join(debs, file), tmp]));
  return { label: `${pkg} ${version}`, dir, source: `apt-get download ${pkg}=${version}` };
}

function pyenvPrefixes(count) {
  const root = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  if (!existsSync(root)) return [];
  const key = (v) => v.split('.').map(Number);
  const versions = readdirSync(root).filter((v) => /^3\.\d+\.\d+$/.test(v))
    .sort((a, b) => { const [x, y] = [key(a), key(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  // Used in place: nothing here writes into them.
  return versions.slice(-count).map((v) => ({ label: `CPython ${v}`, dir: join(root, v), source: `pyenv ${join(root, v)}` }));
}

/**
 * The chain's versions as unpacked trees, oldest first: [{ label, dir, source }]; or { skipped: why }
 * when this machine cannot make it (apt knows too few versions, no pyenv prefixes).
 */
export function prepareChain(chain, out, log) {
  if (chain.kind === 'npm') {
    log(`${chain.name}: npm pack (cached in bench/out/tarballs)`);
    return npmChain(chain, out);
  }
  if (chain.kind === 'deb' || chain.kind === 'deb-versions') {
    const wanted = chain.kind === 'deb'
      ? chain.packages.map((p) => [p, aptVersions(p)[0]])
      : aptVersions(chain.package).slice(0, chain.count).reverse().map((v) => [chain.package, v]);
    const missing = wanted.filter(([, v]) => v === undefined).map(([p]) => p);
    if (missing.length > 0) return { skipped: `apt knows no version of ${missing.join(', ')} (apt-get update?)` };
    if (wanted.length < 2) return { skipped: `apt offers ${wanted.length} version of ${chain.package}; two are needed` };
    log(`${chain.name}: apt-get download, dpkg-deb -x (cached in bench/out/deltas)`);
    return wanted.map(([p, v]) => debTree(p, v, out));
  }
  if (chain.kind === 'pyenv') {
    const versions = pyenvPrefixes(chain.count);
    return versions.length < 2 ? { skipped: 'fewer than two CPython 3.x prefixes under pyenv' } : versions;
  }
  throw new Error(`chain ${chain.name}: unknown kind ${chain.kind}`);
}
