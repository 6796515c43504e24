import { Silo } from '../../lib/silo/silo.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

export const initCommand: Command = {
  name: 'init',
  help: `usage: silo init DIR

Creates the silo layout in DIR (made if needed): the marker medo-silo.json, objects/, pack/ and
derived/. Running it on an existing silo changes nothing.
`,
  run(args) {
    const { positionals } = parse({ args, allowPositionals: true, options: {} });
    if (positionals.length !== 1) usage('init takes one directory');
    Silo.init(positionals[0]!).close();
    process.stdout.write(`initialized silo ${positionals[0]}\n`);
    return EXIT_OK;
  },
};
