// `medo reachable`: the GC roots of medo directories, one object id per line, for `silo gc --keep`.
import { ReachableWalk, sortedIds, type Root } from '../../lib/medo/reachable.js';
import { treeptrHistory } from '../../lib/medo/treeptr-history.js';
import { readTreeptr } from '../../lib/medo/treeptr.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';
import { collectGroups, shown } from '../treeptr-args.js';

export const reachableCommand: Command = {
  name: 'reachable',
  help: `usage: medo reachable [--history] PATH...

PATH is a medo directory (or a directory inside one) or a .treeptr. Prints, sorted and once each, the id
of every object the .treeptrs below PATH need: the root tree or blob, every subtree and blob, and the
metadata sidecar. Objects are looked up in the local silos SILO.json lists; an object that none of them
holds is an error (exit 3) naming it and the .treeptr. Feed the list to 'silo gc SILO --keep FILE|-'.

--history  also take as roots every version of those .treeptrs that the git repository around PATH
           holds: in every commit reachable from a ref or a reflog entry, and in the index. An old
           version whose objects are no longer in any local silo (collected earlier) is reported on
           stderr and skipped, as is one that is not a valid .treeptr; neither is an error.
`,
  run(args) {
    const { values, positionals } = parse({ args, allowPositionals: true, options: { history: { type: 'boolean' } } });
    if (positionals.length === 0) usage('reachable takes at least one medo directory or .treeptr');
    const walks: ReachableWalk[] = [];
    const warn = (s: string): void => {
      process.stderr.write(`medo: warning: ${s}\n`);
    };
    for (const g of collectGroups(positionals).values()) {
      const store = g.md.openStore();
      try {
        const walk = new ReachableWalk(store, shown(g.md.root));
        // Current treeptrs first: they are required, and a tree is walked only once.
        for (const abs of [...g.treeptrs].sort()) walk.add({ label: shown(abs), treeptr: readTreeptr(abs), required: true });
        if (values.history) {
          for (const arg of g.args) {
            const h = treeptrHistory(arg);
            for (const p of h.problems) warn(`${p} (in the history of ${arg}; skipped)`);
            for (const t of h.treeptrs) walk.add({ label: t.label, treeptr: t.treeptr, required: false } satisfies Root);
          }
          for (const m of walk.missing) {
            const at = m.path === '' ? '' : ` at ${JSON.stringify(m.path)}`;
            warn(`${m.root}: ${m.kind} ${m.oid}${at} is in no local silo of ${shown(g.md.root)} (collected?); not listed`);
          }
        }
        walks.push(walk);
      } finally {
        store.close();
      }
    }
    const ids = sortedIds(walks);
    process.stdout.write(ids.length === 0 ? '' : `${ids.join('\n')}\n`);
    return EXIT_OK;
  },
};
