// The history of one .treeptr: each git commit that changed it, newest first, with the version it named.
// Real git does the reading, in two processes whatever the history's length: `git log --raw` for the
// commits and the blob ids, `git cat-file --batch` for the .treeptr texts.
import { execFileSync } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import { MedoError, isMedoError } from '../errors.js';
import { catFile } from './treeptr-history.js';
import { parseTreeptr, type Treeptr } from './treeptr.js';

export interface LogEntry {
  commit: string;
  /** Committer date, ISO 8601 as git gives it. */
  date: string;
  author: string;
  subject: string;
  /** What the commit did to the file. */
  change: 'added' | 'modified' | 'deleted';
  /** The .treeptr's blob after the commit; absent when deleted. */
  blob?: string;
  treeptr?: Treeptr;
  /** Why the .treeptr this commit wrote could not be read. */
  problem?: string;
}

function git(cwd: string, args: string[]): Buffer {
  try {
    return execFileSync('git', ['-C', cwd, ...args], { maxBuffer: 2 ** 31 - 1, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new MedoError('ERR_STORE_NOT_FOUND', 'medo log needs git, which is not installed', {}, { cause: e });
    const said = err.stderr?.toString('utf8').trim().split('\n')[0] ?? err.message;
    throw new MedoError('ERR_STORE_NOT_FOUND', `git ${args[0]} in ${cwd}: ${said}`, { path: cwd }, { cause: e });
  }
}

const ZERO = '0'.repeat(40);

/** Every commit reachable from `rev` (default HEAD) that changed the .treeptr at `path`, newest first. */
export function treeptrLog(path: string, rev = 'HEAD'): LogEntry[] {
  const abs = resolve(path);
  const cwd = dirname(abs);
  // A record per commit: NUL-separated header fields, then git's --raw lines for the one path.
  const out = git(cwd, ['log', '-z', '--no-abbrev', '--raw', '--no-renames', '--format=%x01%H%x00%cI%x00%an%x00%s', rev, '--', basename(abs)])
    .toString('utf8');
  const entries: LogEntry[] = [];
  for (const record of out.split('\x01').slice(1)) {
    const [commit, date, author, subject, ...rest] = record.split('\0');
    const raw = rest.join('\0');
    const m = /:\d+ \d+ ([0-9a-f]{40}) ([0-9a-f]{40}) ([AMDT])/.exec(raw);
    if (commit === undefined || m === null) continue;
    const change = m[3] === 'A' ? 'added' : m[3] === 'D' ? 'deleted' : 'modified';
    const e: LogEntry = { commit, date: date!, author: author!, subject: subject!, change };
    if (m[2] !== ZERO) e.blob = m[2]!;
    entries.push(e);
  }
  const texts = catFile(cwd, [...new Set(entries.flatMap((e) => (e.blob === undefined ? [] : [e.blob])))]);
  for (const e of entries) {
    if (e.blob === undefined) continue;
    const text = texts.get(e.blob)?.content.toString('utf8');
    if (text === undefined) {
      e.problem = `blob ${e.blob} is missing from the git repository`;
      continue;
    }
    try {
      e.treeptr = parseTreeptr(text, `${e.commit.slice(0, 12)}:${basename(abs)}`);
    } catch (err) {
      if (!isMedoError(err)) throw err;
      e.problem = err.message;
    }
  }
  return entries;
}
