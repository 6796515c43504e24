// `silo publish`: make a silo servable as-is by a static web server (docs/remote.md).
import { writePackList, PACK_LIST } from '../../lib/silo/pack-list.js';
import { Silo } from '../../lib/silo/silo.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

export const publishCommand: Command = {
  name: 'publish',
  help: `usage: silo publish SILO

Static web servers do not list directories, so readers of a remote silo learn its packs from
SILO/${PACK_LIST}. 'medo add', 'silo gc' and 'silo repack' keep it current; run this after copying
packs in by other means (rsync, rclone), and as the last step of publishing (docs/remote.md).
`,
  run(args) {
    const { positionals } = parse({ args, allowPositionals: true, options: {} });
    if (positionals.length !== 1) usage('publish takes one silo');
    const silo = Silo.open(positionals[0]!);
    silo.close();
    const entries = writePackList(positionals[0]!);
    process.stdout.write(`${positionals[0]}/${PACK_LIST}: ${entries.length} pack(s)\n`);
    return EXIT_OK;
  },
};
