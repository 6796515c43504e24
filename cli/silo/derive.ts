// `silo derive FORM TREEPTR`: a tarball or file-system image of a tree, under the silo's derived/forms/.
import { resolveTargets } from '../../lib/medo/resolve-target.js';
import { FORMS, derive, type Form } from '../../lib/silo/derive.js';
import type { Command } from '../command.js';
import { formatBytes } from '../progress.js';
import { EXIT_OK, parse, usage } from '../run.js';

const ALIASES: Record<string, Form> = { tar: 'tar.gz', tgz: 'tar.gz', 'tar.gz': 'tar.gz', 'tar.zst': 'tar.zst', squashfs: 'squashfs', erofs: 'erofs' };

export const deriveCommand: Command = {
  name: 'derive',
  help: `usage: silo derive [--silo DIR] [--json] FORM TREEPTR

Makes a derived form of TREEPTR's tree for those who do not run medo, and publishes it in the silo:
  tar | tar.gz   derived/forms/TREE.tar.gz    GNU tar (posix format, sorted, owner root) through gzip -n
  tar.zst        derived/forms/TREE.tar.zst   the same through zstd -19
  squashfs       derived/forms/TREE.sqfs      mksquashfs (squashfs-tools), zstd, all files owned by root
  erofs          derived/forms/TREE.erofs     mkfs.erofs (erofs-utils), lz4hc, all files owned by root
The tree is expanded into a scratch directory inside the silo, the form made from it, unpacked again with
the matching tool (tar -x, unsquashfs, fsck.erofs --extract) and checked against the tree as 'medo verify'
checks (every blob id, mode and mtime): a form that does not give the tree back is not published. Then
the file is renamed into place and its record written beside it, derived/forms/TREE.EXT.json:
{format, version, tree, meta, form, file, bytes, sha256, tool}. 'medo url-for' lists the forms a
silo holds. Making the same form again replaces it.

--silo DIR  the silo to write (default: the first writable local silo of the .treeptr's medo directory)
--json      print the record
`,
  async run(args) {
    const { values, positionals } = parse({ args, allowPositionals: true, options: { silo: { type: 'string' }, json: { type: 'boolean' } } });
    if (positionals.length !== 2) usage('derive takes a FORM and a TREEPTR');
    const form = ALIASES[positionals[0]!];
    if (form === undefined) usage(`unknown form ${JSON.stringify(positionals[0])}: one of tar, ${FORMS.join(', ')}`);
    const { medoDir, targets } = resolveTargets(positionals[1]!);
    if (targets.length !== 1 || !targets[0]!.single) usage(`${positionals[1]} is not one .treeptr`);
    const silo = medoDir.writableSilo(values.silo);
    const siloRoot = silo.path;
    silo.close();
    const store = medoDir.openStore();
    try {
      const record = await derive({ siloRoot, target: targets[0]!, store, form });
      process.stdout.write(values.json ? `${JSON.stringify(record, null, 2)}\n` : `${record.file}: ${formatBytes(record.bytes)}, sha256 ${record.sha256}\n`);
      return EXIT_OK;
    } finally {
      store.close();
    }
  },
};
