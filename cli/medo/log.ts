// `medo log X.treeptr`: each git commit that changed a .treeptr, and the version it named.
import { formatBytes } from '../progress.js';
import { treeptrLog, type LogEntry } from '../../lib/medo/treeptr-log.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

function provenance(e: LogEntry): string | undefined {
  const t = e.treeptr;
  if (t?.source?.url !== undefined) return `from ${t.source.url}${t.source.sha256 !== undefined ? ` (sha256 ${t.source.sha256.slice(0, 16)}...)` : ''}`;
  if (t?.built_from?.command !== undefined) return `built by ${JSON.stringify(t.built_from.command)}${t.built_from.base !== undefined ? ` in ${t.built_from.base}` : ''}`;
  return undefined;
}

function formatEntry(e: LogEntry): string {
  const head = `${e.commit.slice(0, 12)} ${e.date} ${e.change === 'deleted' ? 'deleted' : ''}`.trimEnd();
  const lines = [head];
  const t = e.treeptr;
  if (t !== undefined) {
    const id = t.tree !== undefined ? `tree ${t.tree}` : `blob ${t.blob!}`;
    const size = t.size < 1024 ? `${t.size} bytes` : `${formatBytes(t.size)} (${t.size} bytes)`;
    lines.push(`    ${id}  ${size}, ${t.files} file${t.files === 1 ? '' : 's'}`);
    const p = provenance(e);
    if (p !== undefined) lines.push(`    ${p}`);
  } else if (e.problem !== undefined) {
    lines.push(`    unreadable: ${e.problem}`);
  }
  lines.push(`    ${e.author}: ${e.subject}`);
  return lines.join('\n');
}

export const logCommand: Command = {
  name: 'log',
  help: `usage: medo log [--json] [--rev REV | --all] X.treeptr

Lists each git commit reachable from REV (default HEAD) that changed X.treeptr, newest first: the commit,
its date, the tree (or blob) id the .treeptr named after it, size and file count, provenance (source URL
and sha256, or the build command), and the commit's author and subject. Read with git from the
repository around X.treeptr, without the silo.

--json     one JSON array of {commit, date, author, subject, change, blob, treeptr, problem}
--rev REV  start from REV instead of HEAD (e.g. --rev origin/main)
--all      start from every ref
`,
  run(args) {
    const { values, positionals } = parse({ args, allowPositionals: true, options: { json: { type: 'boolean' }, rev: { type: 'string' }, all: { type: 'boolean' } } });
    if (positionals.length !== 1) usage('log takes one .treeptr');
    if (!positionals[0]!.endsWith('.treeptr')) usage(`${positionals[0]} is not a .treeptr`);
    if (values.all && values.rev !== undefined) usage('--rev and --all go one at a time');
    if (values.rev?.startsWith('-')) usage(`--rev wants a revision, got ${JSON.stringify(values.rev)}`);
    const entries = treeptrLog(positionals[0]!, values.all ? '--all' : values.rev);
    process.stdout.write(values.json ? `${JSON.stringify(entries, null, 2)}\n` : entries.map((e) => `${formatEntry(e)}\n`).join('\n'));
    return EXIT_OK;
  },
};
