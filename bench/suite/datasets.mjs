// The suite's datasets, made from this platform's package registries so that anyone can rerun it, and cached
// in bench/out/suite/data/ (a dataset is rebuilt only when its recipe changes or its ready.json is missing):
//   linux   the Linux source from Debian's linux-source-6.1 package (~80k files, ~1.4 GB; --quick: fs/ only)
//   python  a CPython prefix from Debian's python3.11 packages, every .py compiled to a current .pyc
//   deep    a generated deep tree of many tiny files (deterministic; --quick: a smaller one)
//   bigfile one large file: the first 512 MiB (--quick: 64 MiB) of the Linux source tarball, uncompressed
// Each becomes: the tree on the local disk (the "local" peer), a silo holding it through `medo add` (the
// real CLI) with its .treeptr in a medo directory, a squashfs image (gzip), and a bare git repository whose
// pack is the silo's own pack (hard-linked) with one commit of the tree, for git's readers.
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GIT_ENV, log, progress, q, run } from './proc.mjs';

const LINUX_PKG = 'linux-source-6.1';
const PYTHON_PKGS = ['python3.11-minimal', 'libpython3.11-minimal', 'libpython3.11-stdlib'];
const PY = { home: 'usr', bin: 'usr/bin/python3.11', imports: 'import json, ssl, asyncio, email' };
const NEG_DIRS = 16;

/** `apt-get download PKG` into dir once; the .deb's path. */
async function aptDownload(pkg, dir) {
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')).sort().pop();
  if (find() === undefined) {
    progress(`apt-get download ${pkg}`);
    try {
      await run(`apt-get download ${q(pkg)}`, { cwd: dir });
    } catch {
      await run('apt-get update -qq');
      await run(`apt-get download ${q(pkg)}`, { cwd: dir });
    }
  }
  const deb = find();
  if (deb === undefined) throw new Error(`apt-get download ${pkg} left no .deb in ${dir}`);
  return join(dir, deb);
}

/** "pkg version" from a downloaded .deb's file name (pkg_version_arch.deb, the version with %3a for ':'). */
const debName = (deb) => deb.split('/').pop().replace(/\.deb$/, '').split('_').slice(0, 2).join(' ').replaceAll('%3a', ':');

/** The kernel's source tarball, taken out of the .deb once. */
export async function linuxTarball(downloads) {
  const deb = await aptDownload(LINUX_PKG, downloads);
  const txz = join(downloads, `${LINUX_PKG}.tar.xz`);
  if (!existsSync(txz)) {
    await run(`dpkg-deb --fsys-tarfile ${q(deb)} | tar -xO ./usr/src/${LINUX_PKG}.tar.xz > ${q(`${txz}.tmp`)}`);
    renameSync(`${txz}.tmp`, txz);
  }
  return { txz, source: debName(deb) };
}

// Deterministic content for the generated tree (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generateDeep(dir, depth, fanout, filesPerDir) {
  const next = rng(20240601);
  const when = new Date('2024-06-01T00:00:00Z');
  const dirs = [];
  const walk = (d, level) => {
    mkdirSync(d, { recursive: true });
    for (let i = 0; i < filesPerDir; i++) {
      const len = Math.floor(next() * next() * 512); // mostly tiny, a few up to 512 bytes
      let body = '';
      while (body.length < len) body += Math.floor(next() * 2 ** 32).toString(16).padStart(8, '0');
      writeFileSync(join(d, `f${i}.txt`), body.slice(0, len));
      utimesSync(join(d, `f${i}.txt`), when, when);
    }
    if (level < depth) for (let i = 0; i < fanout; i++) walk(join(d, `d${i}`), level + 1);
    dirs.push(d);
  };
  walk(dir, 0);
  for (const d of dirs) utimesSync(d, when, when); // children first, so their writes do not touch it again
}

function specs(quick) {
  return [
    {
      name: 'linux', what: `the Linux source (Debian ${LINUX_PKG}${quick ? ', fs/ only' : ''})`,
      recipe: `linux-1${quick ? '-fs' : ''}`,
      async build(tree, downloads) {
        const { txz, source } = await linuxTarball(downloads);
        progress(`untarring ${LINUX_PKG}`);
        await run(`tar -xJf ${q(txz)} -C ${q(tree)}${quick ? ` ${LINUX_PKG}/fs` : ''}`);
        return { root: join(tree, LINUX_PKG), source };
      },
    },
    {
      name: 'python', what: 'a CPython 3.11 prefix with .pyc caches (Debian packages)', recipe: 'python-1', python: PY,
      negDirs: ['', 'usr/lib/python3.11', 'usr/lib/python3.11/lib-dynload', 'usr/lib/python3.11/encodings', 'usr/lib/python3.11/json',
        'usr/lib/python3.11/email', 'usr/lib/python3.11/asyncio', 'usr/lib/python3.11/collections', 'usr/bin'],
      async build(tree, downloads) {
        const debs = [];
        for (const pkg of PYTHON_PKGS) debs.push(await aptDownload(pkg, downloads));
        for (const deb of debs) await run(`dpkg-deb -x ${q(deb)} ${q(tree)}`);
        progress('compileall');
        const env = { ...process.env, PYTHONHOME: join(tree, PY.home) };
        // A few files in the standard library are not valid Python 3 on purpose (lib2to3 test data): the
        // exit status says so, and is not a failure of the dataset. The import check below is.
        await run(`${q(join(tree, PY.bin))} -s -m compileall -q -j0 ${q(join(tree, 'usr/lib/python3.11'))} > /dev/null 2>&1 || true`, { env });
        await run(`${q(join(tree, PY.bin))} -s -c ${q(PY.imports)}`, { env, cwd: tree }).catch((e) => {
          throw new Error(`the Python prefix does not run (${e.detail || e.message}): are its shared libraries (libssl3, libexpat1...) installed?`);
        });
        return { root: tree, source: debs.map(debName).join(', ') };
      },
    },
    {
      name: 'deep', what: quick ? 'a generated tree: depth 5, fan-out 3, 10 tiny files per directory' : 'a generated tree: depth 8, fan-out 3, 10 tiny files per directory',
      recipe: `deep-1-${quick ? 5 : 8}`,
      async build(tree) {
        progress('generating the deep tree');
        generateDeep(tree, quick ? 5 : 8, 3, 10);
        return { root: tree, source: 'generated' };
      },
    },
    {
      name: 'bigfile', what: `one large file: the first ${quick ? 64 : 512} MiB of the Linux source tarball`,
      recipe: `bigfile-1-${quick ? 64 : 512}`, bigFile: 'linux-head.tar',
      async build(tree, downloads) {
        const { txz, source } = await linuxTarball(downloads);
        await run(`xz -dc ${q(txz)} | head -c ${(quick ? 64 : 512) * 2 ** 20} > ${q(join(tree, 'linux-head.tar'))}`);
        return { root: tree, source };
      },
    },
  ];
}

export const DATASET_NAMES = specs(false).map((s) => s.name);

/** The first `n` directories of the tree, breadth first in name order: where a PATH-like probe looks. */
function firstDirs(root, n) {
  const out = [];
  const queue = [''];
  while (queue.length > 0 && out.length < n) {
    const rel = queue.shift();
    out.push(rel);
    for (const e of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) queue.push(rel === '' ? e.name : `${rel}/${e.name}`);
    }
  }
  return out;
}

/** Silo and .treeptr (medo add), squashfs image, git repository, blob id list: everything besides the tree. */
async function store(spec, base, root, build) {
  const silo = join(base, 'silo');
  const medoDir = join(base, 'bench.medo');
  const treeptr = join(medoDir, `${spec.name}.treeptr`);
  mkdirSync(medoDir, { recursive: true });
  await run(`${q(process.execPath)} ${q(build.silo)} init ${q(silo)}`);
  writeFileSync(join(medoDir, 'SILO.json'), `${JSON.stringify({ silos: ['../silo'] })}\n`);
  progress(`${spec.name}: medo add`);
  const add = await run(`${q(process.execPath)} ${q(build.medo)} add ${q(root)} ${q(treeptr)}`);
  const ptr = JSON.parse(readFileSync(treeptr, 'utf8'));

  progress(`${spec.name}: mksquashfs`);
  const image = join(base, 'image.sqfs');
  const sq = await run(`mksquashfs ${q(root)} ${q(image)} -comp gzip -noappend -quiet -no-progress`);

  // git reads the very pack the silo holds: the comparison is between readers, not between packings.
  const repo = join(base, 'repo.git');
  await run(`git init -q --bare ${q(repo)}`, { env: GIT_ENV });
  for (const f of readdirSync(join(silo, 'pack')).filter((f) => /\.(pack|idx)$/.test(f))) linkSync(join(silo, 'pack', f), join(repo, 'objects', 'pack', f));
  const git = (args, opts = {}) => run(`git --git-dir ${q(repo)} ${args}`, {
    env: { ...GIT_ENV, GIT_AUTHOR_NAME: 'suite', GIT_AUTHOR_EMAIL: 'suite@localhost', GIT_COMMITTER_NAME: 'suite', GIT_COMMITTER_EMAIL: 'suite@localhost',
      GIT_AUTHOR_DATE: '2024-06-01T00:00:00Z', GIT_COMMITTER_DATE: '2024-06-01T00:00:00Z' }, ...opts,
  });
  const commit = (await git(`commit-tree ${ptr.tree} -m ${q(spec.name)}`)).out;
  await git(`update-ref refs/heads/main ${commit}`);
  await git('symbolic-ref HEAD refs/heads/main');
  const listing = join(base, 'ls-tree.txt');
  await git(`ls-tree -r -l ${ptr.tree} > ${q(listing)}`);
  const ids = new Set();
  let bytes = 0;
  let files = 0;
  for (const line of readFileSync(listing, 'utf8').split('\n')) {
    const m = /^\d+ blob ([0-9a-f]{40}) +(\d+)\t/.exec(line);
    if (!m) continue;
    ids.add(m[1]);
    bytes += Number(m[2]);
    files++;
  }
  rmSync(listing);
  writeFileSync(join(base, 'ids.txt'), `${[...ids].join('\n')}\n`);
  return { silo, treeptr, tree: ptr.tree, image, repo, ids: join(base, 'ids.txt'), blobs: ids.size, files, bytes, addMs: add.wallMs, mksquashfsMs: sq.wallMs };
}

/** Prepared datasets (built if need be), in the order of `names`. */
export async function prepareDatasets({ out, build, quick, names }) {
  const downloads = join(out, 'downloads');
  const result = [];
  for (const spec of specs(quick).filter((s) => names.includes(s.name))) {
    const base = join(out, 'data', quick ? `${spec.name}-quick` : spec.name);
    const stamp = join(base, 'ready.json');
    if (existsSync(stamp)) {
      const info = JSON.parse(readFileSync(stamp, 'utf8'));
      if (info.recipe === spec.recipe && existsSync(info.root)) {
        result.push({ ...info, base });
        continue;
      }
    }
    log(`preparing ${spec.name}: ${spec.what} (once; cached in ${base})`);
    rmSync(base, { recursive: true, force: true });
    const tree = join(base, 'tree');
    mkdirSync(tree, { recursive: true });
    const { root, source } = await spec.build(tree, downloads);
    const stored = await store(spec, base, root, build);
    const info = {
      name: spec.name, what: spec.what, recipe: spec.recipe, source, root, ...stored,
      negDirs: spec.negDirs ?? firstDirs(root, NEG_DIRS),
      ...(spec.bigFile ? { bigFile: spec.bigFile } : {}), // relative to the root, as every peer sees it
      ...(spec.python ? { python: spec.python } : {}),
    };
    writeFileSync(stamp, `${JSON.stringify(info, null, 1)}\n`);
    log(`${spec.name}: ${info.files} files, ${(info.bytes / 2 ** 20).toFixed(0)} MiB; medo add ${(info.addMs / 1000).toFixed(1)} s`);
    result.push({ ...info, base });
  }
  return result;
}
