// Every version of the .treeptrs below a path (a medo directory, or one .treeptr) that the git repository
// around it remembers: in every commit reachable from a ref or a reflog entry (what `git gc` itself keeps),
// and in the index. `medo reachable --history` makes them GC roots, so a checkout of an old commit still
// finds its trees.
//
// Real git does the reading, in a fixed number of processes whatever the history's length:
//   rev-parse             where the path sits in the repository
//   rev-list --all --reflog   every commit
//   cat-file --batch-check    `<commit>:<path>` for each: the path's tree (or blob) in that commit
//   cat-file --batch          the distinct trees, one level of depth per call, then the .treeptr blobs
//   ls-files -s               staged versions
// Versions shared by many commits are read once: trees and blobs are deduplicated by id.
import { execFileSync } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { MedoError, isMedoError } from '../errors.js';
import { OID_BYTES } from '../oid.js';
import { TREEPTR_EXT, parseTreeptr, type Treeptr } from './treeptr.js';

export interface HistoricTreeptr {
  /** `<commit>:<path in the repository>` (the first commit found holding it) or `index:<path>`. */
  label: string;
  blob: string;
  treeptr: Treeptr;
}

export interface TreeptrHistory {
  treeptrs: HistoricTreeptr[];
  /** Versions that are not valid treeptrs: their objects cannot be known, so they protect nothing. */
  problems: string[];
  commits: number;
}

interface GitObjectOut {
  type: string;
  content: Buffer;
}

function git(cwd: string, args: readonly string[], input?: string): Buffer {
  try {
    return execFileSync('git', ['-C', cwd, ...args], { input, maxBuffer: 2 ** 31 - 1, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new MedoError('ERR_STORE_NOT_FOUND', '--history needs git, which is not installed', {}, { cause: e });
    const said = err.stderr?.toString('utf8').trim().split('\n')[0] ?? err.message;
    const notRepo = args[0] === 'rev-parse';
    throw new MedoError(notRepo ? 'ERR_STORE_NOT_FOUND' : 'ERR_OBJECT_CORRUPT',
      notRepo ? `--history: ${cwd} is not inside a git work tree (${said})` : `git ${args[0]} in ${cwd} failed: ${said}`,
      { path: cwd }, { cause: e });
  }
}

/** Parses `git cat-file --batch` output for `asked`, in order; missing objects are left out. */
export function catFile(cwd: string, asked: readonly string[]): Map<string, GitObjectOut> {
  const out = new Map<string, GitObjectOut>();
  if (asked.length === 0) return out;
  const buf = git(cwd, ['cat-file', '--batch'], asked.map((a) => `${a}\n`).join(''));
  let at = 0;
  for (const a of asked) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) throw new MedoError('ERR_OBJECT_CORRUPT', `git cat-file --batch in ${cwd} stopped early`, { path: cwd });
    const header = buf.toString('latin1', at, nl);
    at = nl + 1;
    if (header.endsWith(' missing')) continue;
    const [oid, type, size] = header.split(' ');
    const end = at + Number(size);
    if (oid !== a || !(end < buf.length)) throw new MedoError('ERR_OBJECT_CORRUPT', `git cat-file --batch in ${cwd} answered ${JSON.stringify(header)} for ${a}`);
    out.set(a, { type: type!, content: buf.subarray(at, end) });
    at = end + 1;
  }
  return out;
}

/** A tree's entries, read leniently: git's own trees, where only the modes and names matter here. */
function* treeEntries(buf: Buffer): Generator<{ mode: string; name: string; oid: string }> {
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 1 + OID_BYTES > buf.length) return;
    yield { mode: buf.toString('latin1', i, sp), name: buf.toString('utf8', sp + 1, nul), oid: buf.toString('hex', nul + 1, nul + 1 + OID_BYTES) };
    i = nul + 1 + OID_BYTES;
  }
}

// Only regular files are treeptrs (MedoDir.treeptrs() sees no symlinks either); dot names are skipped there too.
const isTreeptrFile = (mode: string, name: string): boolean => (mode === '100644' || mode === '100755') && name.endsWith(TREEPTR_EXT);

export function treeptrHistory(path: string): TreeptrHistory {
  const abs = resolve(path);
  let isFile = false;
  try {
    isFile = statSync(abs).isFile();
  } catch (e) {
    throw new MedoError('ERR_STORE_NOT_FOUND', `${path} does not exist`, { path }, { cause: e });
  }
  const cwd = isFile ? dirname(abs) : abs;
  const [top, prefixLine] = git(cwd, ['rev-parse', '--show-toplevel', '--show-prefix']).toString('utf8').split('\n');
  const dirPrefix = (prefixLine ?? '').replace(/\/$/, '');
  const rel = isFile ? (dirPrefix === '' ? basename(abs) : `${dirPrefix}/${basename(abs)}`) : dirPrefix;
  if (rel.includes('\n')) throw new MedoError('ERR_USAGE', `--history: ${path} has a newline in its name`, { path });
  const shortLabel = (commit: string, p: string): string => `${commit.slice(0, 12)}:${p}`;

  const commits = git(top!, ['rev-list', '--all', '--reflog']).toString('latin1').split('\n').filter((l) => l !== '');
  const blobs = new Map<string, string>(); // .treeptr blob id -> label of its first sighting
  const trees = new Map<string, string>(); // tree id -> its path label
  const check = commits.length === 0 ? '' : git(top!, ['cat-file', '--batch-check'],
    commits.map((c) => (rel === '' ? `${c}^{tree}\n` : `${c}:${rel}\n`)).join('')).toString('utf8');
  check.split('\n').forEach((line, k) => {
    const m = /^([0-9a-f]{40}) (\w+) \d+$/.exec(line);
    if (!m || k >= commits.length) return;
    const label = shortLabel(commits[k]!, rel);
    if (isFile && m[2] === 'blob' && !blobs.has(m[1]!)) blobs.set(m[1]!, label);
    if (!isFile && m[2] === 'tree' && !trees.has(m[1]!)) trees.set(m[1]!, label);
  });

  let level = [...trees.keys()];
  while (level.length > 0) {
    const read = catFile(top!, level);
    const next: string[] = [];
    for (const oid of level) {
      const o = read.get(oid);
      if (o === undefined || o.type !== 'tree') continue;
      const at = trees.get(oid)!;
      for (const e of treeEntries(o.content)) {
        if (e.name.startsWith('.')) continue;
        const label = at.endsWith(':') ? `${at}${e.name}` : `${at}/${e.name}`;
        if (e.mode === '40000') {
          if (!trees.has(e.oid)) {
            trees.set(e.oid, label);
            next.push(e.oid);
          }
        } else if (isTreeptrFile(e.mode, e.name) && !blobs.has(e.oid)) {
          blobs.set(e.oid, label);
        }
      }
    }
    level = next;
  }

  for (const entry of git(cwd, ['ls-files', '-s', '-z', '--', isFile ? basename(abs) : '.']).toString('utf8').split('\0')) {
    const m = /^(\d+) ([0-9a-f]{40}) \d\t(.*)$/s.exec(entry);
    if (!m) continue;
    const p = m[3]!;
    if (p.split('/').some((part) => part.startsWith('.')) || !isTreeptrFile(m[1]!, p)) continue;
    if (!blobs.has(m[2]!)) blobs.set(m[2]!, `index:${dirPrefix === '' ? p : `${dirPrefix}/${p}`}`);
  }

  const problems: string[] = [];
  const treeptrs: HistoricTreeptr[] = [];
  const contents = catFile(top!, [...blobs.keys()]);
  for (const [blob, label] of blobs) {
    const o = contents.get(blob);
    if (o === undefined) {
      problems.push(`${label}: blob ${blob} is missing from the git repository`);
      continue;
    }
    try {
      treeptrs.push({ label, blob, treeptr: parseTreeptr(o.content.toString('utf8'), label) });
    } catch (e) {
      if (!isMedoError(e)) throw e;
      problems.push(e.message);
    }
  }
  treeptrs.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return { treeptrs, problems, commits: commits.length };
}
