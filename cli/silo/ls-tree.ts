// `silo ls-tree`: git's ls-tree over a store. A commit or tag id is peeled to its tree, as git does.
import { MedoError } from '../../lib/errors.js';
import { MODE_TREE, formatTreeEntry, parseTree, type TreeEntry } from '../../lib/git/tree.js';
import { quotePath } from '../../lib/git/quote.js';
import { peel } from '../../lib/git/tree-walk.js';
import { isOid } from '../../lib/oid.js';
import { openStore } from '../../lib/open-store.js';
import type { ObjectStore } from '../../lib/store.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';
import { mustRead } from './cat-file.js';

export function peelToTree(store: ObjectStore, oid: string): string {
  if (!isOid(oid)) throw new MedoError('ERR_USAGE', `not an object id (40 hex digits): ${oid}`);
  const p = peel(store, oid);
  if (p.type !== 'tree') throw new MedoError('ERR_USAGE', `${p.oid} is a blob, not a tree-ish`, { oid: p.oid });
  return p.oid;
}

export interface LsTreeOptions {
  recursive: boolean;
  /** With recursive: also show the trees themselves (git's -t). */
  showTrees: boolean;
}

export function* lsTree(store: ObjectStore, treeish: string, options: LsTreeOptions, prefix = ''): Generator<string> {
  const tree = peelToTree(store, treeish);
  const entries: TreeEntry[] = parseTree(mustRead(store, tree).content, tree);
  for (const e of entries) {
    const path = prefix + e.name;
    const line = `${formatTreeEntry({ ...e, name: path }, quotePath)}\n`;
    if (options.recursive && e.mode === MODE_TREE) {
      if (options.showTrees) yield line;
      yield* lsTree(store, e.oid, options, `${path}/`);
    } else {
      yield line;
    }
  }
}

export const lsTreeCommand: Command = {
  name: 'ls-tree',
  help: `usage: silo ls-tree [-r] [-t] STORE ID

Lists the tree ID (or the tree of commit or tag ID) in STORE, a silo or a git repository, in the format
and with the path quoting of 'git ls-tree'. -r recurses into subtrees; -t with -r also shows the trees.
`,
  run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: { r: { type: 'boolean', short: 'r' }, t: { type: 'boolean', short: 't' } },
    });
    if (positionals.length !== 2) usage('ls-tree takes STORE ID');
    const store = openStore(positionals[0]!);
    try {
      let chunk = '';
      for (const line of lsTree(store, positionals[1]!, { recursive: values.r ?? false, showTrees: values.t ?? false })) {
        chunk += line;
        if (chunk.length > 1 << 16) {
          process.stdout.write(chunk);
          chunk = '';
        }
      }
      process.stdout.write(chunk);
    } finally {
      store.close();
    }
    return EXIT_OK;
  },
};
