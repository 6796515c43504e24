// Real trees for the proof tests (test/proof/): a Python install with its .pyc caches and a large tree of
// tens of thousands of files, found on this machine. They are chosen and counted when the test file loads,
// so the counts can go into the test titles, and copied with `cp -a` before use, so that the tests own
// what they add to, tamper with and hand to git, and the originals are never touched.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setMtimeNs } from './medo-fixture.js';

export interface TreeChoice {
  /** What the tree is, for titles and messages. */
  label: string;
  src: string;
  /** The top-level names copied (sorted); the rest of `src` is left out. */
  include: string[];
  /** Left out, with the reason. */
  excluded: string[];
  /** Regular files, symlinks and directories (the root not counted) below the included names. */
  files: number;
  symlinks: number;
  dirs: number;
  bytes: number;
  pycacheDirs: number;
}

interface Count {
  files: number;
  symlinks: number;
  dirs: number;
  bytes: number;
  pycacheDirs: number;
  /** Why `medo add` would refuse this subtree (a special file, a name that is not UTF-8), if it would. */
  unstorable?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function countTree(abs: string): Count {
  const c: Count = { files: 0, symlinks: 0, dirs: 0, bytes: 0, pycacheDirs: 0 };
  const visit = (p: string, name: string): void => {
    const st = lstatSync(p);
    if (st.isFile()) {
      c.files++;
      c.bytes += st.size;
    } else if (st.isSymbolicLink()) {
      c.symlinks++;
    } else if (st.isDirectory()) {
      c.dirs++;
      if (name === '__pycache__') c.pycacheDirs++;
      for (const raw of readdirSync(p, { encoding: 'buffer' })) {
        let child: string;
        try {
          child = utf8.decode(raw);
        } catch {
          c.unstorable ??= `a file name that is not UTF-8 in ${p}`;
          continue;
        }
        visit(join(p, child), child);
      }
    } else {
      c.unstorable ??= `${p} is a device, fifo or socket`;
    }
  };
  visit(abs, '');
  return c;
}

const entriesOf = (c: Count): number => c.files + c.symlinks + c.dirs;

/**
 * `src` with the top-level names in sorted order, leaving out `exclude` and any subtree `medo add` would
 * refuse, and skipping a name whose subtree would take the total past `cap` entries.
 */
export function chooseTree(label: string, src: string, options: { cap: number; exclude?: readonly string[] }): TreeChoice {
  const choice: TreeChoice = { label, src, include: [], excluded: [], files: 0, symlinks: 0, dirs: 0, bytes: 0, pycacheDirs: 0 };
  const names: string[] = [];
  for (const raw of readdirSync(src, { encoding: 'buffer' })) {
    try {
      names.push(utf8.decode(raw));
    } catch {
      choice.excluded.push(`${JSON.stringify(raw.toString('latin1'))} (a name that is not UTF-8)`);
    }
  }
  for (const name of names.sort()) {
    if (options.exclude?.includes(name)) {
      choice.excluded.push(`${name} (not part of this tree)`);
      continue;
    }
    const c = countTree(join(src, name));
    if (c.unstorable !== undefined) {
      choice.excluded.push(`${name} (${c.unstorable})`);
      continue;
    }
    if (entriesOf(choice) + entriesOf(c) > options.cap) {
      choice.excluded.push(`${name} (over the cap of ${options.cap} entries)`);
      continue;
    }
    choice.include.push(name);
    choice.files += c.files;
    choice.symlinks += c.symlinks;
    choice.dirs += c.dirs;
    choice.bytes += c.bytes;
    choice.pycacheDirs += c.pycacheDirs;
  }
  return choice;
}

/**
 * The Python standard library: pyenv's 3.11.7 when it is installed, else the stdlib of the `python3` on
 * PATH. site-packages and dist-packages hold third-party packages, not the install (pyenv's has 50,000
 * files of them), so they are left out.
 */
export function pythonTree(cap = 20_000): TreeChoice | undefined {
  let src = '/root/.pyenv/versions/3.11.7/lib/python3.11';
  if (!existsSync(src)) {
    try {
      src = execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])']).toString().trim();
    } catch {
      return undefined;
    }
  }
  if (!existsSync(src)) return undefined;
  return chooseTree(`the Python standard library in ${src}`, src, { cap, exclude: ['site-packages', 'dist-packages'] });
}

/** This repository's node_modules when it is large, else /usr/share, else /usr/lib: the first with `min` files. */
export function largeTree(root: string, options: { min: number; cap: number }): TreeChoice | undefined {
  let best: TreeChoice | undefined;
  for (const src of [join(root, 'node_modules'), '/usr/share', '/usr/lib']) {
    if (!existsSync(src)) continue;
    const c = chooseTree(src, src, { cap: options.cap });
    if (c.files + c.symlinks >= options.min) return c;
    if (best === undefined || c.files > best.files) best = c;
  }
  return best;
}

/** Copies the chosen part of the tree to `dest` (created with the source root's permission bits) with `cp -a`. */
export function copyTree(choice: TreeChoice, dest: string): void {
  mkdirSync(dest, { recursive: true });
  chmodSync(dest, statSync(choice.src).mode & 0o7777);
  if (choice.include.length === 0) return;
  execFileSync('cp', ['-a', '--', ...choice.include.map((n) => join(choice.src, n)), dest], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Number of `__pycache__` directories below `dir`. */
export function countPycache(dir: string): number {
  return countTree(dir).pycacheDirs;
}

export const EXTRAS_DIR = 'medo-proof-extras';

/**
 * What real trees rarely have but a round trip must keep, added under `root/medo-proof-extras`: empty
 * directories (nested, 0700, 0555), symlinks (relative, absolute, dangling, to a directory), modes
 * beyond the executable bit, and mtimes with nanoseconds, set deepest first so that later writes do not
 * move them. `linkTo` is a name in `root` that the relative symlink points at.
 */
export function addExtras(root: string, linkTo: string): void {
  const x = join(root, EXTRAS_DIR);
  mkdirSync(join(x, 'empty'), { recursive: true });
  mkdirSync(join(x, 'nested-empty/inner/innermost'), { recursive: true });
  mkdirSync(join(x, 'private-empty'));
  mkdirSync(join(x, 'sealed-empty'));
  writeFileSync(join(x, 'owner-only'), 'secret\n');
  chmodSync(join(x, 'owner-only'), 0o600);
  writeFileSync(join(x, 'read-only'), 'ro\n');
  chmodSync(join(x, 'read-only'), 0o444);
  writeFileSync(join(x, 'private-tool'), '#!/bin/sh\n');
  chmodSync(join(x, 'private-tool'), 0o700);
  symlinkSync(`../${linkTo}`, join(x, 'relative-link'));
  symlinkSync('/etc/hostname', join(x, 'absolute-link'));
  symlinkSync('does/not/exist', join(x, 'dangling-link'));
  const times: [string, number, number][] = [
    ['nested-empty/inner/innermost', 1_500_000_000, 1],
    ['nested-empty/inner', 1_500_000_001, 999_999_999],
    ['nested-empty', 1_500_000_002, 500_000_000],
    ['empty', 1_600_000_000, 123_456_789],
    ['owner-only', 1_600_000_001, 987_654_321],
    ['read-only', 1_600_000_002, 0],
    ['private-tool', 1_600_000_003, 42],
    ['relative-link', 1_600_000_004, 111_111_111],
    ['dangling-link', 1_600_000_005, 0],
  ];
  for (const [rel, sec, nsec] of times) setMtimeNs(join(x, rel), sec, nsec);
  chmodSync(join(x, 'private-empty'), 0o700);
  chmodSync(join(x, 'sealed-empty'), 0o555);
  setMtimeNs(x, 1_700_000_000, 314_159_265);
}
