// `medo verify`: compare a directory with .treeptr targets; one line per difference, exit 1 if any.
import { quotePath } from '../../lib/git/quote.js';
import { defaultThreads } from '../../lib/medo/materialize/file-pool.js';
import { resolveTargets } from '../../lib/medo/resolve-target.js';
import { rootOid } from '../../lib/medo/treeptr.js';
import { warmCache } from './prefetch.js';
import { REMOTE_HELP, REMOTE_OPTIONS } from './remote-options.js';
import { verifyTargets, type Difference, type VerifyReport } from '../../lib/medo/verify-dir.js';
import type { Command } from '../command.js';
import { Progress } from '../progress.js';
import { EXIT_OK, EXIT_PROBLEMS, parse, usage } from '../run.js';

function formatDifference(d: Difference): string {
  const path = d.path === '' ? '.' : quotePath(d.path);
  const q = (s: string): string => (d.kind === 'target' ? JSON.stringify(s) : s);
  switch (d.kind) {
    case 'missing':
      return `missing ${path} (${d.expected})`;
    case 'extra':
      return `extra   ${path} (${d.actual})`;
    default:
      return `${d.kind.padEnd(7)} ${path}: ${q(d.actual!)}, expected ${q(d.expected!)}`;
  }
}

export function formatVerifyReport(r: VerifyReport): string {
  const lines = r.differences.map(formatDifference);
  const checked = `${r.files} file${r.files === 1 ? '' : 's'} checked`;
  const n = r.differences.length;
  lines.push(r.ok ? `${r.dir}: ${checked}: OK` : `${r.dir}: ${checked}: ${n} difference${n === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check that a directory holds exactly what a .treeptr or medo directory names; exit 1 listing differences',
  help: `usage: medo verify [--json] [--raw] [--jobs N] [--threads N] TREEPTR|MEDO_DIR DIR

Compares DIR with what 'medo expand TREEPTR|MEDO_DIR DIR' would make of it (the same layout rules):
every file is hashed as a git blob, and modes, mtimes and symlink targets are compared. Prints one line
per difference, sorted by path, then a summary:
  missing PATH (kind)                the tree has it, DIR does not
  extra   PATH (kind)                DIR has it, the tree does not (a directory is listed once, ending in /)
  type    PATH: found, expected      e.g. a directory where the tree has a file
  content PATH: found-id, expected-id
  mode    PATH: found, expected      octal permission bits; without a sidecar only 'executable' counts
  mtime   PATH: found, expected      to the microsecond; not compared without a sidecar
  target  PATH: found, expected      a symlink's target
PATH is relative to DIR ('.' is DIR itself), quoted as git quotes paths.

--json        print {dir, ok, differences: [{kind, path, expected, actual}], files, bytes}
--raw         compare a tarball blob as one file instead of as its unpacked entries
--jobs N      directory reads and symlink checks in flight (default 32)
--threads N   worker threads that hash files (default: CPUs + 2, fewer for a small tree; 0: this thread)
With remote (http/https) silos in SILO.json, what the local silos lack is first fetched into the host's
cache, as 'medo prefetch' does:
${REMOTE_HELP}

Exit 0 when DIR matches exactly, 1 when there is a difference, 3 on failure: an object the tree needs
that no silo holds is an error naming it, even when DIR holds the right file.
`,
  async run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true,
      options: { json: { type: 'boolean' }, raw: { type: 'boolean' }, jobs: { type: 'string' }, threads: { type: 'string' }, ...REMOTE_OPTIONS },
    });
    if (positionals.length !== 2) usage('verify takes a .treeptr or medo directory, and the directory to check');
    const jobs = values.jobs === undefined ? 32 : Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) usage(`--jobs wants a whole number from 1 to 1024, got ${JSON.stringify(values.jobs)}`);
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0 && threads <= 64)) {
      usage(`--threads wants a whole number from 0 to 64, got ${JSON.stringify(values.threads)}`);
    }
    const resolved = resolveTargets(positionals[0]!);
    const roots = resolved.targets.flatMap((t) => [rootOid(t.treeptr), ...(t.treeptr.meta === undefined ? [] : [t.treeptr.meta])]);
    const { cacheDir } = await warmCache(resolved.medoDir, roots, values, 'verify');
    const store = resolved.medoDir.openStore({ cacheDir });
    const progress = new Progress('verify');
    // A tarball blob counts as one file in its .treeptr but unpacks to many: no percentage then.
    if (resolved.targets.every((t) => t.treeptr.tree !== undefined)) progress.counts.totalFiles = resolved.targets.reduce((n, t) => n + t.treeptr.files, 0);
    try {
      const report = await verifyTargets(resolved.targets, store, positionals[1]!, {
        unpack: values.raw !== true, concurrency: jobs, onFile: (bytes) => progress.tick(bytes),
        threads: threads ?? defaultThreads(progress.counts.totalFiles, resolved.targets.reduce((n, t) => n + t.treeptr.size, 0)),
      });
      progress.done();
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatVerifyReport(report));
      return report.ok ? EXIT_OK : EXIT_PROBLEMS;
    } finally {
      progress.done();
      store.close();
    }
  },
};
