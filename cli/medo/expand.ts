// `medo expand` / `medo sync`: materialize .treeptr targets into a directory, with a summary of what
// was written, left alone, removed and found extra.
import { quotePath } from '../../lib/git/quote.js';
import { expandTargets, type ExpandReport } from '../../lib/medo/expand.js';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEMS, parse, usage } from '../run.js';
import { MATERIALIZE_OPTIONS, setUpMaterialize } from './materialize-setup.js';
import { REMOTE_HELP } from './remote-options.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatExpandReport(r: ExpandReport, deleting: boolean): string {
  const lines: string[] = [];
  for (const p of r.extra) lines.push(`extra ${quotePath(p)}`);
  for (const p of r.removed) lines.push(`removed ${quotePath(p)}`);
  for (const p of r.conflicts) lines.push(`conflict ${quotePath(p)}: a non-empty directory where the tree has a file (--delete replaces it)`);
  const parts = [`${plural(r.written, 'file')} written`, `${r.replaced} replaced`, `${r.updated} metadata fixed`, `${r.unchanged} left alone`,
    `${plural(r.dirsCreated, 'directory')} created`.replace('directorys', 'directories')];
  if (r.removed.length > 0 || deleting) parts.push(`${r.removed.length} removed`);
  if (r.extra.length > 0) parts.push(`${r.extra.length} extra (kept; --delete removes them)`);
  if (r.conflicts.length > 0) parts.push(plural(r.conflicts.length, 'conflict'));
  lines.push(`${r.dest}: ${parts.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export const expandCommand: Command = {
  name: 'expand',
  help: `usage: medo expand [--delete] [--raw] [--jobs N] [--threads N] TREEPTR|MEDO_DIR DEST
       medo sync ...   (the same command)

Makes DEST hold what the .treeptr names (DEST is created if need be):
  - a tree .treeptr: its tree becomes DEST itself;
  - a blob .treeptr: the file DEST/<name without .treeptr>; a blob that is a tarball (plain, gzip, xz
    or zstd, recognized by its magic bytes) is unpacked into DEST instead, unless --raw;
  - a medo directory, or a folder inside one: each .treeptr below it goes to DEST/<its path below it,
    without .treeptr>, nested folders kept (a tarball blob is unpacked into that directory).
Modes and mtimes come from the metadata sidecar (directories too, and empty directories are created;
a file never gets setuid or setgid, whatever the sidecar or a tarball says);
without a sidecar files get 0644 or 0755 from the git mode and mtimes are left as they fall. A new
file's mtime is restored to the nanosecond, the rest to the microsecond.

Running it again is cheap and safe: a file whose content (hashed as a git blob) and metadata match is
left alone; one whose content differs is replaced atomically (temp file, fsync, rename); only a wrong
mode or mtime is fixed in place. A DEST that does not exist (or is an empty directory) is built under a
temp name beside it and renamed into place when complete; in an existing DEST a new file is written
unnamed and linked to its name once complete, so no half-written file ever has a final name. Names the
tree does not have are
listed as 'extra' and kept; --delete removes them. A non-empty directory where the tree has a file is a 'conflict' (exit 1) unless --delete.
Nothing is ever written outside DEST: a symlink in DEST where the tree has a directory is replaced by a
directory, never followed; a tarball entry with '..', an absolute name, or a path through an earlier
symlink is refused.

--delete      remove what the tree does not name
--raw         write tarball blobs as files instead of unpacking them
--jobs N      other filesystem operations in flight (default 32)
--threads N   worker threads that inflate, write and hash files (default: CPUs + 2, fewer for a
              small tree; 0: all on this thread)
With remote (http/https) silos in SILO.json, what the local silos lack is first fetched into the host's
cache, in parallel and checked against its ids, as 'medo prefetch' does; then the expand reads the cache.
A DEST that is not empty (an older version, expanded before) is scanned first, every file hashed once: what
it holds is not fetched (a file it holds at another path is copied from there), its tree is recognized
by its id as the FROM of a static delta, and its files serve as that delta's bases. Upgrading a wedge in
place so moves and writes only what changed.
${REMOTE_HELP}

Prints 'extra PATH', 'removed PATH' and 'conflict PATH' lines, then a summary. Exit 0 when DEST
matches, 1 on a conflict, 3 on failure (a missing or corrupt object is named).
`,
  async run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true,
      options: { delete: { type: 'boolean' }, ...MATERIALIZE_OPTIONS },
    });
    if (positionals.length !== 2) usage('expand takes a .treeptr or medo directory, and a destination directory');
    const { targets, medoDir, store, progress, jobs, threads, warm, seen } = await setUpMaterialize('expand', positionals[0]!, values, positionals[1]!);
    try {
      const report = await expandTargets(targets, store, positionals[1]!, {
        delete: values.delete === true, unpack: values.raw !== true, concurrency: jobs, medoRoot: medoDir.root, threads, cacheDir: warm.cacheDir,
        ...(seen === undefined ? {} : { seen }), onFile: (bytes) => progress.tick(bytes),
      });
      progress.done();
      process.stdout.write(formatExpandReport(report, values.delete === true));
      return report.conflicts.length > 0 ? EXIT_PROBLEMS : EXIT_OK;
    } finally {
      progress.done();
      store.close();
    }
  },
};
