// `medo diff A B`: what changed between two wedges, without mounting or expanding either.
import { quotePath } from '../../lib/git/quote.js';
import { diffTrees, type Change, type SideEntry, type TreeDiff } from '../../lib/medo/tree-diff.js';
import { openWedge, type Wedge } from '../../lib/medo/tree-arg.js';
import { formatMode, formatMtime } from '../../lib/medo/verify-dir.js';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEMS, parse, usage } from '../run.js';

const shownPath = (p: string): string => (p === '' ? '.' : quotePath(p));

function describe(e: SideEntry): string {
  const parts = [e.kind, formatMode(e.perm)];
  if (e.size !== undefined) parts.push(`${e.size} bytes`);
  if (e.target !== undefined) parts.push(`-> ${JSON.stringify(e.target)}`);
  return parts.join(', ');
}

function formatChange(c: Change): string {
  if (c.status === 'added') return `added   ${shownPath(c.path)} (${describe(c.new!)})`;
  if (c.status === 'removed') return `removed ${shownPath(c.path)} (${describe(c.old!)})`;
  const o = c.old!;
  const n = c.new!;
  const what = c.fields.map((f) => {
    switch (f) {
      case 'type':
        return `type ${o.kind} -> ${n.kind}`;
      case 'content':
        return o.kind === 'symlink' ? `target ${JSON.stringify(o.target)} -> ${JSON.stringify(n.target)}` : `content ${o.size} -> ${n.size} bytes`;
      case 'mode':
        return `mode ${formatMode(o.perm)} -> ${formatMode(n.perm)}`;
      case 'mtime':
        return `mtime ${formatMtime(o.mtime!)} -> ${formatMtime(n.mtime!)}`;
    }
  });
  return `changed ${shownPath(c.path)}: ${what.join(', ')}`;
}

/** Like `git diff --stat`, in bytes: each path with its size change, then the totals. */
function formatStat(d: TreeDiff): string {
  const rows = d.changes.map((c) => {
    const delta = (c.new?.size ?? 0) - (c.old?.size ?? 0);
    const bytes = `${delta >= 0 ? '+' : ''}${delta} bytes`;
    const text = c.status !== 'changed' ? `${c.status} ${bytes}`
      : [...(c.fields.includes('content') || c.fields.includes('type') ? [bytes] : []), ...c.fields.filter((f) => f === 'mode' || f === 'mtime')].join(', ');
    return { path: shownPath(c.path), text };
  });
  const width = Math.min(60, Math.max(0, ...rows.map((r) => r.path.length)));
  const lines = rows.map((r) => ` ${r.path.padEnd(width)} | ${r.text}`);
  const count = (s: Change['status']): number => d.changes.filter((c) => c.status === s).length;
  let grew = 0;
  let shrank = 0;
  for (const c of d.changes) {
    const delta = (c.new?.size ?? 0) - (c.old?.size ?? 0);
    if (delta > 0) grew += delta;
    else shrank -= delta;
  }
  lines.push(` ${d.changes.length} path${d.changes.length === 1 ? '' : 's'}: ${count('added')} added, ${count('removed')} removed, ` +
    `${count('changed')} changed; +${grew} -${shrank} bytes`);
  return `${lines.join('\n')}\n`;
}

export const diffCommand: Command = {
  name: 'diff',
  help: `usage: medo diff [--stat | --name-only | --json] [--store SILO|REPO] A B

Lists what changed from A to B, without mounting or expanding either. A and B are each:
  a .treeptr file          its objects are in the silos of the medo directory around it
  REV:path/x.treeptr       the .treeptr as git revision REV holds it (read with git in the working
                           directory's repository; 'REV:./x.treeptr' is relative to the working directory)
  a tree, commit or blob id  looked up in --store, else in the silos of the medo directory around the
                           working directory
  a directory on disk      hashed as 'medo add' would, with its modes and mtimes
One line per path, sorted as git sorts paths ('.' is the root):
  added   PATH (kind, mode, size)
  removed PATH (kind, mode, size)
  changed PATH: content OLD -> NEW bytes, mode OLD -> NEW, mtime OLD -> NEW, type OLD -> NEW
Files and symlinks are listed one by one, also inside an added or removed directory; a directory itself
appears only when it is empty, or when its mode or mtime changed. Modes and mtimes come from the
metadata sidecars; without a sidecar on both sides only the executable bit is compared. Subtrees with the
same id on both sides are not read, so the cost grows with the change, not with the trees.

--stat        each path with its change in bytes (or which of mode, mtime changed), then the
              totals: paths added, removed, changed; bytes gained and lost
--name-only   the paths only, one per line
--json        {same, changes: [{path, status, fields, old, new}], trees_read}
--store P     the silo or git repository that holds objects named by id

Exit 0 when A and B are the same, 1 when they differ, 2 on bad usage, 3 on failure.
`,
  async run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true,
      options: { stat: { type: 'boolean' }, 'name-only': { type: 'boolean' }, json: { type: 'boolean' }, store: { type: 'string' } },
    });
    if (positionals.length !== 2) usage('diff takes two wedges, A and B');
    if ([values.stat, values['name-only'], values.json].filter(Boolean).length > 1) usage('--stat, --name-only and --json go one at a time');
    const opened: Wedge[] = [];
    try {
      for (const p of positionals) opened.push(await openWedge(p, { store: values.store, directories: true }));
      const d = diffTrees(opened[0]!, opened[1]!);
      let out: string;
      if (values.json) out = `${JSON.stringify({ same: d.changes.length === 0, changes: d.changes, trees_read: d.treesRead }, null, 2)}\n`;
      else if (values['name-only']) out = [...new Set(d.changes.map((c) => `${shownPath(c.path)}\n`))].join(''); // a type change is two changes
      else if (values.stat) out = d.changes.length === 0 ? '' : formatStat(d);
      else out = d.changes.map((c) => `${formatChange(c)}\n`).join('');
      process.stdout.write(out);
      return d.changes.length === 0 ? EXIT_OK : EXIT_PROBLEMS;
    } finally {
      for (const w of opened) w.close();
    }
  },
};
