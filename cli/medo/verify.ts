// `medo verify`: compare a directory with .treeptr targets; one line per difference, exit 1 if any.
import { quotePath } from '../../lib/git/quote.js';
import { MATERIALIZE_OPTIONS, setUpMaterialize } from './materialize-setup.js';
import { REMOTE_HELP } from './remote-options.js';
import { verifyTargets, type Difference, type VerifyReport } from '../../lib/medo/verify-dir.js';
import type { Command } from '../command.js';
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
      options: { json: { type: 'boolean' }, ...MATERIALIZE_OPTIONS },
    });
    if (positionals.length !== 2) usage('verify takes a .treeptr or medo directory, and the directory to check');
    const { targets, store, progress, jobs, threads } = await setUpMaterialize('verify', positionals[0]!, values);
    try {
      const report = await verifyTargets(targets, store, positionals[1]!, {
        unpack: values.raw !== true, concurrency: jobs, onFile: (bytes) => progress.tick(bytes), threads,
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
